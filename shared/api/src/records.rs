//! The control-plane records the API keeps, as typed serde structs: state machines, their
//! definition revisions, versions, aliases, activities and tags.
//!
//! The stores keep a record as JSON (`Resource::body`); each struct (de)serializes to exactly the
//! JSON the API wrote before it was typed (same keys, same order, optional keys left out when
//! absent), so stored data reads as before. Reading is lenient as the field helpers it replaces
//! were: a missing field takes its default.

use crate::error::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stepwise_ports::api::{Resource, ResourceKind};

/// The logging configuration a state machine gets when none is given.
pub(crate) fn default_logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

/// The tracing configuration a state machine gets when none is given.
pub(crate) fn default_tracing() -> Value {
    json!({"enabled": false})
}

fn default_type() -> String {
    "STANDARD".into()
}

fn one() -> u64 {
    1
}

/// A record of one kind, kept in the store under that kind.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The kind it is stored as.
    const KIND: ResourceKind;

    /// The record from a stored resource's body.
    fn from_body(arn: &str, body: Value) -> ApiResult<Self> {
        stepwise_engine::deep::from_value(body).map_err(|e| {
            ApiError::new(
                "InternalFailure",
                format!("the stored record of {arn} does not read: {e}"),
            )
        })
    }

    /// The resource to store for it.
    fn to_resource(&self, arn: &str, parent: Option<&str>) -> ApiResult<Resource> {
        let body = stepwise_engine::deep::to_value(self).map_err(|e| {
            ApiError::new(
                "InternalFailure",
                format!("the record of {arn} does not serialize: {e}"),
            )
        })?;
        Ok(Resource {
            kind: Self::KIND,
            arn: arn.to_string(),
            parent: parent.map(str::to_string),
            body,
        })
    }
}

/// A state machine's current configuration (the revision it runs is kept apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateMachineRecord {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its ARN.
    #[serde(default)]
    pub arn: String,
    /// `STANDARD` or `EXPRESS`.
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// The role executions run as.
    #[serde(default)]
    pub role_arn: String,
    /// Creation time, milliseconds since the epoch.
    #[serde(default)]
    pub creation_date: i64,
    /// Last update, milliseconds since the epoch.
    #[serde(default)]
    pub update_date: i64,
    /// The current definition revision.
    #[serde(default = "one")]
    pub revision: u64,
    /// The current definition text.
    #[serde(default)]
    pub definition: String,
    /// `loggingConfiguration` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<Value>,
    /// `tracingConfiguration` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing_configuration: Option<Value>,
    /// The number the next published version gets.
    #[serde(default)]
    pub next_version: u64,
    /// The current revision's id (none before the first real update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// `encryptionConfiguration` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<Value>,
    /// `DELETING` once DeleteStateMachine was called while executions still ran (the record
    /// goes when the last of them ends); absent: `ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Record for StateMachineRecord {
    const KIND: ResourceKind = ResourceKind::StateMachine;
}

impl StateMachineRecord {
    /// `loggingConfiguration`, or the default.
    pub fn logging(&self) -> Value {
        self.logging_configuration
            .clone()
            .unwrap_or_else(default_logging)
    }

    /// `tracingConfiguration`, or the default.
    pub fn tracing(&self) -> Value {
        self.tracing_configuration
            .clone()
            .unwrap_or_else(default_tracing)
    }

    /// `encryptionConfiguration`, or AWS's default (its own key).
    pub fn encryption(&self) -> Value {
        self.encryption_configuration
            .clone()
            .unwrap_or_else(default_encryption)
    }

    /// Whether DeleteStateMachine was called and executions still run.
    pub fn deleting(&self) -> bool {
        self.status.as_deref() == Some(DELETING)
    }
}

/// What StartExecution reads of a state machine's record, read in place
/// ([`stepwise_ports::api::ApiStore::read_resource_with`]): everything but its definition,
/// which copying and parsing twice per start was a twentieth of `serve`'s time.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateMachineHead {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// The current definition revision.
    #[serde(default = "one")]
    pub revision: u64,
    /// As in [`StateMachineRecord`].
    #[serde(default)]
    pub status: Option<String>,
}

impl StateMachineHead {
    /// The head of a record's body, or why it does not read.
    pub fn from_body(arn: &str, body: &Value) -> ApiResult<Self> {
        Self::deserialize(body).map_err(|e| {
            ApiError::new(
                "InternalFailure",
                format!("the stored record of {arn} does not read: {e}"),
            )
        })
    }

    /// Whether DeleteStateMachine was called and executions still run.
    pub fn deleting(&self) -> bool {
        self.status.as_deref() == Some(DELETING)
    }
}

/// What StartExecution reads of a revision's record (its role), read in place.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevisionRole {
    /// The role executions of this revision run as.
    #[serde(default)]
    pub role_arn: String,
}

/// A state machine's status while its deletion waits for its executions to end.
pub(crate) const DELETING: &str = "DELETING";

/// The encryption configuration a state machine gets when none is given.
pub(crate) fn default_encryption() -> Value {
    json!({"type": "AWS_OWNED_KEY"})
}

/// One revision of a state machine's definition, kept while executions may run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevisionRecord {
    /// The definition text.
    #[serde(default)]
    pub definition: String,
    /// The role executions of this revision run as.
    #[serde(default)]
    pub role_arn: String,
    /// `STANDARD` or `EXPRESS`.
    #[serde(rename = "type", default = "default_type")]
    pub kind: String,
    /// When it was made, milliseconds since the epoch.
    #[serde(default)]
    pub update_date: i64,
    /// Its id (none for the revision a state machine was created with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
}

impl Record for RevisionRecord {
    const KIND: ResourceKind = ResourceKind::Revision;
}

/// A published state machine version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionRecord {
    /// Its ARN (`<state machine>:<n>`).
    #[serde(default)]
    pub arn: String,
    /// Its state machine's ARN.
    #[serde(default)]
    pub sm_arn: String,
    /// Its number.
    #[serde(default)]
    pub version: u64,
    /// The definition revision it runs.
    #[serde(default)]
    pub revision: u64,
    /// When it was published, milliseconds since the epoch.
    #[serde(default)]
    pub creation_date: i64,
    /// The revision id it was published from, if the revision had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Record for VersionRecord {
    const KIND: ResourceKind = ResourceKind::Version;
}

/// One route of an alias: a version and the share of executions it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Route {
    /// The version's ARN.
    pub state_machine_version_arn: String,
    /// Its weight, 0 to 100.
    pub weight: u64,
}

/// A state machine alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AliasRecord {
    /// Its ARN (`<state machine>:<name>`).
    #[serde(default)]
    pub arn: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its state machine's ARN.
    #[serde(default)]
    pub sm_arn: String,
    /// Where its executions go.
    #[serde(default)]
    pub routing_configuration: Vec<Route>,
    /// Creation time, milliseconds since the epoch.
    #[serde(default)]
    pub creation_date: i64,
    /// Last update, milliseconds since the epoch.
    #[serde(default)]
    pub update_date: i64,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Record for AliasRecord {
    const KIND: ResourceKind = ResourceKind::Alias;
}

/// An activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityRecord {
    /// Its ARN.
    #[serde(default)]
    pub arn: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Creation time, milliseconds since the epoch.
    #[serde(default)]
    pub creation_date: i64,
    /// `encryptionConfiguration` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<Value>,
}

impl Record for ActivityRecord {
    const KIND: ResourceKind = ResourceKind::Activity;
}

/// One tag of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tag {
    /// Its key.
    #[serde(default)]
    pub key: String,
    /// Its value.
    #[serde(default)]
    pub value: String,
}

/// The tags of a resource, in the order they were set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct TagsRecord(pub Vec<Tag>);

impl Record for TagsRecord {
    const KIND: ResourceKind = ResourceKind::Tags;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record reads the JSON the untyped API wrote and writes it back unchanged.
    fn round_trips<R: Record + std::fmt::Debug>(text: &str) {
        let before: Value = serde_json::from_str(text).expect("json");
        let record = R::from_body("arn", before.clone()).expect("reads");
        let after = record.to_resource("arn", None).expect("writes").body;
        assert_eq!(
            serde_json::to_string(&after).expect("text"),
            serde_json::to_string(&before).expect("text"),
            "{record:?}"
        );
    }

    #[test]
    fn records_keep_the_json_the_api_wrote() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        round_trips::<StateMachineRecord>(&format!(
            r#"{{"name":"m","arn":"{sm}","type":"STANDARD","roleArn":"arn:aws:iam::1:role/r",
            "creationDate":1,"updateDate":2,"revision":1,"definition":"{{}}",
            "loggingConfiguration":{{"level":"OFF","includeExecutionData":false}},
            "tracingConfiguration":{{"enabled":false}},"nextVersion":1}}"#
        ));
        round_trips::<StateMachineRecord>(&format!(
            r#"{{"name":"m","arn":"{sm}","type":"EXPRESS","roleArn":"r","creationDate":1,
            "updateDate":2,"revision":2,"definition":"{{}}","loggingConfiguration":{{"level":"ALL"}},
            "tracingConfiguration":{{"enabled":true}},"nextVersion":3,"revisionId":"x"}}"#
        ));
        round_trips::<RevisionRecord>(
            r#"{"definition":"{}","roleArn":"r","type":"STANDARD","updateDate":5}"#,
        );
        round_trips::<RevisionRecord>(
            r#"{"definition":"{}","roleArn":"r","type":"STANDARD","updateDate":5,"revisionId":"u"}"#,
        );
        round_trips::<VersionRecord>(&format!(
            r#"{{"arn":"{sm}:1","smArn":"{sm}","version":1,"revision":2,"creationDate":3,
            "revisionId":"u","description":"d"}}"#
        ));
        round_trips::<VersionRecord>(&format!(
            r#"{{"arn":"{sm}:1","smArn":"{sm}","version":1,"revision":1,"creationDate":3}}"#
        ));
        round_trips::<AliasRecord>(&format!(
            r#"{{"arn":"{sm}:a","name":"a","smArn":"{sm}","routingConfiguration":
            [{{"stateMachineVersionArn":"{sm}:1","weight":100}}],"creationDate":1,"updateDate":2,
            "description":"d"}}"#
        ));
        round_trips::<ActivityRecord>(r#"{"arn":"a","name":"n","creationDate":1}"#);
        round_trips::<TagsRecord>(r#"[{"key":"k","value":"v"},{"key":"a","value":""}]"#);
    }

    #[test]
    fn missing_fields_read_as_defaults() {
        let sm = StateMachineRecord::from_body("arn", json!({"name": "m"})).expect("reads");
        assert_eq!((sm.kind.as_str(), sm.revision), ("STANDARD", 1));
        assert_eq!(sm.logging(), default_logging());
        assert_eq!(sm.tracing(), default_tracing());
    }
}
