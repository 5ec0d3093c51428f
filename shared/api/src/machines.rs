//! State machines: create, update, describe, delete, list, and definition validation. Versions
//! and aliases are in [`crate::versions`], activities and tags in [`crate::activities`].

use crate::error::{ApiError, ApiResult, Shown};
use crate::records::{Record, RevisionRecord, RevisionRole, StateMachineRecord, VersionRecord};
use crate::req::{check_name, page, ts, uuid, Arn, Req};
use crate::Service;
use serde::Deserialize;
use serde_json::{json, Value};
use stepwise_asl::model::Definition;
use stepwise_ports::api::{ApiStore, ExecutionFilter, ResourceKind};
use stepwise_ports::execution::StoreError;
use stepwise_runtime::local::wall_clock_ms;

/// The ARN under which a state machine's definition revision is kept.
pub(crate) fn revision_arn(sm: &str, revision: u64) -> String {
    format!("{sm}#{revision}")
}

pub(crate) fn sm_missing(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

/// `type` must be one of the two kinds.
fn check_type(kind: &str) -> ApiResult<()> {
    if kind != "STANDARD" && kind != "EXPRESS" {
        return Err(ApiError::constraint(
            Shown::Text(kind),
            "type",
            "Member must satisfy enum value set: [STANDARD, EXPRESS]",
        ));
    }
    Ok(())
}

/// An EXPRESS state machine may not wait for callbacks, `.sync` jobs or activities.
fn check_express(text: &str) -> ApiResult<()> {
    let diags = stepwise_asl::validate::validate_express(text);
    if diags.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        "InvalidDefinition",
        stepwise_asl::validate::invalid_definition_message(&diags),
    ))
}

/// A version description describes the version a request publishes, so it needs `publish`.
fn check_version_description(r: &Req) -> ApiResult<()> {
    if r.opt_str("versionDescription")?.is_some() && !r.opt_bool("publish")?.unwrap_or(false) {
        return Err(ApiError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    Ok(())
}

/// The longest definition AWS's model takes (`Definition`: length 1 to 1,048,576).
const MAX_DEFINITION: usize = 1_048_576;

/// A definition within the model's length, as CreateStateMachine, UpdateStateMachine and
/// ValidateStateMachineDefinition check it before anything else (the value is sensitive, so
/// withheld from the message).
fn check_definition_length(text: &str) -> ApiResult<()> {
    if text.len() > MAX_DEFINITION && text.chars().count() > MAX_DEFINITION {
        return Err(ApiError::constraint(
            Shown::Withheld,
            "definition",
            &format!("Member must have length less than or equal to {MAX_DEFINITION}"),
        ));
    }
    Ok(())
}

/// Checks a definition as CreateStateMachine does.
pub(crate) fn check_definition(text: &str) -> ApiResult<Definition> {
    let diags = stepwise_asl::validate::validate(text);
    if diags.iter().any(|d| d.is_error()) {
        return Err(ApiError::new(
            "InvalidDefinition",
            stepwise_asl::validate::invalid_definition_message(&diags),
        ));
    }
    Definition::from_json(text).map_err(|e| {
        ApiError::new(
            "InvalidDefinition",
            format!(
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {} at {}'",
                e.message,
                if e.location.is_empty() {
                    "null"
                } else {
                    &e.location
                }
            ),
        )
    })
}

/// `encryptionConfiguration`: its `type` is one of AWS's two, the reuse period in AWS's range.
pub(crate) fn check_encryption(e: &serde_json::Map<String, Value>) -> ApiResult<()> {
    let kind = e.get("type").and_then(Value::as_str);
    match kind {
        Some("AWS_OWNED_KEY" | "CUSTOMER_MANAGED_KMS_KEY") => {}
        other => {
            let shown = other.map(Shown::Text).unwrap_or(Shown::Null);
            let why = if other.is_some() {
                "Member must satisfy enum value set: [CUSTOMER_MANAGED_KMS_KEY, AWS_OWNED_KEY]"
            } else {
                "Member must not be null"
            };
            return Err(ApiError::constraint(
                shown,
                "encryptionConfiguration.type",
                why,
            ));
        }
    }
    if let Some(p) = e.get("kmsDataKeyReusePeriodSeconds") {
        let n = p.as_i64().unwrap_or(0);
        if !(60..=900).contains(&n) {
            let why = if n < 60 {
                "Member must have value greater than or equal to 60"
            } else {
                "Member must have value less than or equal to 900"
            };
            return Err(ApiError::constraint(
                Shown::Text(&p.to_string()),
                "encryptionConfiguration.kmsDataKeyReusePeriodSeconds",
                why,
            ));
        }
    }
    if let Some(k) = e.get("kmsKeyId").and_then(Value::as_str) {
        if k.is_empty() || k.len() > 2048 {
            return Err(ApiError::constraint(
                Shown::Text(k),
                "encryptionConfiguration.kmsKeyId",
                "Member must have length less than or equal to 2048",
            ));
        }
    }
    Ok(())
}

/// A `loggingConfiguration` as AWS keeps it: `level` (default `OFF`) and
/// `includeExecutionData` (default false) always, `destinations` as given; a level other than
/// `OFF` needs exactly one destination, and no level takes more than one.
fn logging_config(mut o: serde_json::Map<String, Value>) -> ApiResult<Value> {
    let level = match o.get("level") {
        None | Some(Value::Null) => "OFF".to_string(),
        Some(Value::String(l)) if ["ALL", "ERROR", "FATAL", "OFF"].contains(&l.as_str()) => {
            l.clone()
        }
        Some(other) => {
            let text = other
                .as_str()
                .map(str::to_string)
                .unwrap_or(other.to_string());
            return Err(ApiError::constraint(
                Shown::Text(&text),
                "loggingConfiguration.level",
                "Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]",
            ));
        }
    };
    let destinations = o
        .get("destinations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if destinations > 1 || level != "OFF" && destinations != 1 {
        return Err(ApiError::new(
            "InvalidLoggingConfiguration",
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    let include = o
        .get("includeExecutionData")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    o.insert("level".into(), json!(level));
    o.insert("includeExecutionData".into(), json!(include));
    Ok(Value::Object(o))
}

/// The state machine is on its way out: AWS refuses to start, update or re-create it.
pub(crate) fn deleting(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDeleting",
        format!("State Machine is being deleted: '{arn}'"),
    )
}

fn check_role(role: &str) -> ApiResult<()> {
    let f: Vec<&str> = role.split(':').collect();
    if f.len() < 6 || f[0] != "arn" || f[2] != "iam" {
        return Err(ApiError::invalid_arn(role));
    }
    Ok(())
}

impl<S: ApiStore + 'static> Service<S> {
    /// A state machine's record, or `StateMachineDoesNotExist`.
    pub(crate) async fn sm(&self, arn: &str) -> ApiResult<StateMachineRecord> {
        self.find_sm(arn).await?.ok_or_else(|| sm_missing(arn))
    }

    /// A state machine's record, if there is one.
    pub(crate) async fn find_sm(&self, arn: &str) -> ApiResult<Option<StateMachineRecord>> {
        match self
            .store
            .get_resource(ResourceKind::StateMachine, arn)
            .await?
        {
            Some(r) => {
                let sm = StateMachineRecord::from_body(arn, r.body)?;
                // A deletion that waited for executions completes once the last has ended.
                if sm.deleting() && !self.runs_executions(arn).await? {
                    self.store
                        .delete_resource(ResourceKind::StateMachine, arn)
                        .await?;
                    self.store.delete_resource(ResourceKind::Tags, arn).await?;
                    return Ok(None);
                }
                Ok(Some(sm))
            }
            None => Ok(None),
        }
    }

    /// A revision of a state machine's definition, or `StateMachineDoesNotExist`.
    pub(crate) async fn revision(&self, sm: &str, revision: u64) -> ApiResult<RevisionRecord> {
        let arn = revision_arn(sm, revision);
        match self
            .store
            .get_resource(ResourceKind::Revision, &arn)
            .await?
        {
            Some(r) => RevisionRecord::from_body(&arn, r.body),
            None => Err(sm_missing(sm)),
        }
    }

    /// The role a revision's executions run as (its record read in place), or
    /// `StateMachineDoesNotExist`.
    pub(crate) async fn revision_role(&self, sm: &str, revision: u64) -> ApiResult<String> {
        let arn = revision_arn(sm, revision);
        let role = self
            .store
            .read_resource_with(ResourceKind::Revision, &arn, |r| {
                RevisionRole::deserialize(&r.body).map_err(|e| {
                    ApiError::new(
                        "InternalFailure",
                        format!("the stored record of {arn} does not read: {e}"),
                    )
                })
            })
            .await?;
        match role {
            Some(r) => Ok(r?.role_arn),
            None => Err(sm_missing(sm)),
        }
    }

    /// A published version, if there is one.
    pub(crate) async fn find_version(&self, arn: &str) -> ApiResult<Option<VersionRecord>> {
        match self.store.get_resource(ResourceKind::Version, arn).await? {
            Some(r) => Ok(Some(VersionRecord::from_body(arn, r.body)?)),
            None => Ok(None),
        }
    }

    /// Stores a state machine's record.
    pub(crate) async fn put_sm(
        &self,
        sm: &StateMachineRecord,
        create_only: bool,
    ) -> Result<(), ApiError> {
        let resource = sm.to_resource(&sm.arn, None)?;
        match self.store.put_resource(&resource, create_only).await {
            Err(StoreError::Conflict(_)) if create_only => Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{}'", sm.arn),
            )),
            other => Ok(other?),
        }
    }

    async fn put_revision(
        &self,
        sm_arn: &str,
        definition: &str,
        role: &str,
        kind: &str,
    ) -> ApiResult<(u64, Option<String>)> {
        let n = self
            .store
            .list_resources(ResourceKind::Revision, Some(sm_arn))
            .await?
            .len() as u64
            + 1;
        // AWS names a revision only from the first update on: the created one has no revisionId.
        let revision_id = (n > 1).then(uuid);
        let record = RevisionRecord {
            definition: definition.to_string(),
            role_arn: role.to_string(),
            kind: kind.to_string(),
            update_date: wall_clock_ms(),
            revision_id: revision_id.clone(),
        };
        let arn = revision_arn(sm_arn, n);
        self.store
            .put_resource(&record.to_resource(&arn, Some(sm_arn))?, false)
            .await?;
        Ok((n, revision_id))
    }

    /// Step Functions refuses a role it cannot assume (one that does not exist, or whose trust
    /// policy does not let it): so does the serverless home, which calls as that role.
    async fn check_assumable(&self, role: &str) -> ApiResult<()> {
        let Some(roles) = &self.roles else {
            return Ok(());
        };
        match roles.check(role).await {
            Ok(()) => Ok(()),
            Err(why) => {
                eprintln!("roleArn {role} refused: {why}");
                Err(ApiError::new(
                    "AccessDeniedException",
                    "Neither the global service principal states.amazonaws.com, nor the \
                     regional one is authorized to assume the provided role.",
                ))
            }
        }
    }

    pub(crate) async fn create_state_machine(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        let definition = r.str("definition")?;
        check_definition_length(&definition)?;
        let role = r.str("roleArn")?;
        let kind = r.opt_str("type")?.unwrap_or_else(|| "STANDARD".into());
        check_type(&kind)?;
        check_name(&name, "state machine")?;
        check_role(&role)?;
        check_definition(&definition)?;
        if kind == "EXPRESS" {
            check_express(&definition)?;
        }
        check_version_description(&r)?;
        self.check_assumable(&role).await?;
        let tags = crate::activities::tags_from(&r.opt_list("tags")?.unwrap_or_default())?;
        let logging = match r.opt_obj("loggingConfiguration")? {
            Some(o) => logging_config(o)?,
            None => crate::records::default_logging(),
        };
        let tracing = r
            .opt_obj("tracingConfiguration")?
            .map(Value::Object)
            .unwrap_or_else(crate::records::default_tracing);
        let encryption = r.opt_obj("encryptionConfiguration")?;
        if let Some(e) = &encryption {
            check_encryption(e)?;
        }
        let encryption = encryption.map(Value::Object);
        let publish = r.opt_bool("publish")?.unwrap_or(false);
        // AWS puts the caller's account in the ARN; the execution role lives in that account.
        let account = role
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()))
            .unwrap_or(&self.config.account);
        let arn = format!(
            "arn:aws:states:{}:{account}:stateMachine:{name}",
            self.config.region
        );
        if let Some(b) = self.find_sm(&arn).await? {
            if b.deleting() {
                return Err(deleting(&arn));
            }
            if b.definition == definition && b.role_arn == role && b.kind == kind {
                return Ok(json!({"stateMachineArn": arn, "creationDate": ts(b.creation_date)}));
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let (revision, revision_id) = self.put_revision(&arn, &definition, &role, &kind).await?;
        let now = wall_clock_ms();
        let record = StateMachineRecord {
            name,
            arn: arn.clone(),
            kind,
            role_arn: role,
            creation_date: now,
            update_date: now,
            revision,
            definition,
            logging_configuration: Some(logging),
            tracing_configuration: Some(tracing),
            next_version: 1,
            revision_id,
            encryption_configuration: encryption,
            status: None,
        };
        self.put_sm(&record, true).await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        if !tags.is_empty() {
            self.set_tags(&arn, tags).await?;
        }
        let mut out = json!({"stateMachineArn": arn, "creationDate": ts(now)});
        if publish {
            let v = self
                .publish(&arn, r.opt_str("versionDescription")?, None)
                .await?;
            out["stateMachineVersionArn"] = v["stateMachineVersionArn"].clone();
        }
        Ok(out)
    }

    pub(crate) async fn update_state_machine(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() == 2 && a.parts[1].bytes().all(|c| c.is_ascii_digit()) {
            // A version cannot be updated: AWS finds no state machine by that ARN.
            return Err(sm_missing(&arn));
        }
        if a.parts.len() != 1 {
            return Err(ApiError::invalid_arn(&arn));
        }
        let definition = r.opt_str("definition")?;
        if let Some(d) = &definition {
            check_definition_length(d)?;
        }
        let role = r.opt_str("roleArn")?;
        let logging = r
            .opt_obj("loggingConfiguration")?
            .map(logging_config)
            .transpose()?;
        let tracing = r.opt_obj("tracingConfiguration")?;
        let encryption = r.opt_obj("encryptionConfiguration")?;
        if let Some(e) = &encryption {
            check_encryption(e)?;
        }
        if definition.is_none()
            && role.is_none()
            && logging.is_none()
            && tracing.is_none()
            && encryption.is_none()
        {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        check_version_description(&r)?;
        if let Some(d) = &definition {
            check_definition(d)?;
        }
        if let Some(role) = &role {
            check_role(role)?;
        }
        let mut b = self.sm(&arn).await?;
        if b.deleting() {
            return Err(deleting(&arn));
        }
        if let (Some(d), "EXPRESS") = (&definition, b.kind.as_str()) {
            check_express(d)?;
        }
        if let Some(role) = role.as_ref().filter(|r| **r != b.role_arn) {
            self.check_assumable(role).await?;
        }
        let now = wall_clock_ms();
        // A new logging configuration is a new revision too, as AWS numbers them.
        let changed_def = definition.as_ref().is_some_and(|d| *d != b.definition)
            || role.as_ref().is_some_and(|x| *x != b.role_arn)
            || logging.as_ref().is_some_and(|l| *l != b.logging());
        if changed_def {
            let d = definition.unwrap_or_else(|| b.definition.clone());
            let ro = role.unwrap_or_else(|| b.role_arn.clone());
            let (rev, rid) = self.put_revision(&arn, &d, &ro, &b.kind).await?;
            b.definition = d;
            b.role_arn = ro;
            b.revision = rev;
            if let Some(rid) = rid {
                b.revision_id = Some(rid);
            }
        }
        if let Some(l) = logging {
            b.logging_configuration = Some(l);
        }
        if let Some(t) = tracing {
            b.tracing_configuration = Some(Value::Object(t));
        }
        if let Some(e) = encryption {
            b.encryption_configuration = Some(Value::Object(e));
        }
        b.update_date = now;
        self.put_sm(&b, false).await?;
        let mut out = json!({ "updateDate": ts(now) });
        // An update that changed nothing makes no revision: it answers with the current one, if
        // any (a machine never really updated has none).
        if let Some(rid) = &b.revision_id {
            out["revisionId"] = json!(rid);
        }
        if r.opt_bool("publish")?.unwrap_or(false) {
            let v = self
                .publish(&arn, r.opt_str("versionDescription")?, None)
                .await?;
            out["stateMachineVersionArn"] = v["stateMachineVersionArn"].clone();
        }
        Ok(out)
    }

    pub(crate) async fn describe_state_machine(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        let base = a.state_machine();
        match a.parts.len() {
            1 => {
                let b = self.sm(&arn).await?;
                Ok(describe_body(
                    &arn,
                    &b,
                    &b.definition,
                    &b.role_arn,
                    b.revision_id.as_deref(),
                ))
            }
            2 if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => {
                let v = self
                    .find_version(&arn)
                    .await?
                    .ok_or_else(|| sm_missing(&arn))?;
                // A version outlives nothing, but if its machine were gone it would still
                // describe itself: with no name or type.
                let sm = self.find_sm(&base).await?.unwrap_or_else(|| orphan(&v));
                let rev = self.revision(&base, v.revision).await?;
                let mut out = describe_body(
                    &arn,
                    &sm,
                    &rev.definition,
                    &rev.role_arn,
                    rev.revision_id.as_deref(),
                );
                out["creationDate"] = ts(v.creation_date);
                if let Some(d) = &v.description {
                    out["description"] = json!(d);
                }
                Ok(out)
            }
            _ => Err(ApiError::invalid_arn(&arn)),
        }
    }

    pub(crate) async fn delete_state_machine(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() == 2 {
            return self.delete_version_arn(&arn).await;
        }
        if a.parts.len() != 1 {
            return Err(ApiError::invalid_arn(&arn));
        }
        // With executions still running, the machine stays, DELETING, until the last one
        // ends (its versions and aliases go now), as AWS deletes it.
        if let Some(mut b) = self.find_sm(&arn).await? {
            if self.runs_executions(&arn).await? {
                self.delete_versions_and_aliases(&arn).await?;
                if !b.deleting() {
                    b.status = Some(crate::records::DELETING.into());
                    self.put_sm(&b, false).await?;
                }
                return Ok(json!({}));
            }
        }
        self.delete_versions_and_aliases(&arn).await?;
        self.store
            .delete_resource(ResourceKind::StateMachine, &arn)
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        Ok(json!({}))
    }

    /// Whether any execution of the state machine is still running.
    async fn runs_executions(&self, arn: &str) -> ApiResult<bool> {
        let filter = ExecutionFilter {
            state_machine_arn: Some(arn.to_string()),
            status: Some("RUNNING".into()),
            ..Default::default()
        };
        Ok(!self.store.list_executions(&filter, 0, 1).await?.is_empty())
    }

    async fn delete_versions_and_aliases(&self, arn: &str) -> ApiResult<()> {
        for kind in [ResourceKind::Version, ResourceKind::Alias] {
            for res in self.store.list_resources(kind, Some(arn)).await? {
                self.store.delete_resource(kind, &res.arn).await?;
                self.store
                    .delete_resource(ResourceKind::Tags, &res.arn)
                    .await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn list_state_machines(&self, r: Req) -> ApiResult<Value> {
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let mut all = Vec::new();
        for res in self
            .store
            .list_resources(ResourceKind::StateMachine, None)
            .await?
        {
            let sm = StateMachineRecord::from_body(&res.arn, res.body)?;
            // A deletion whose executions have all ended completes here (find_sm does it).
            let sm = match sm.deleting() {
                true => self.find_sm(&res.arn).await?,
                false => Some(sm),
            };
            all.extend(sm);
        }
        // AWS lists state machines in the string order of their names.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|x| {
                json!({"stateMachineArn": x.arn, "name": x.name, "type": x.kind,
                       "creationDate": ts(x.creation_date)})
            })
            .collect();
        let mut out = json!({"stateMachines": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    pub(crate) async fn validate_definition(&self, r: Req) -> ApiResult<Value> {
        let definition = r.str("definition")?;
        check_definition_length(&definition)?;
        if let Some(t) = r.opt_str("type")? {
            check_type(&t)?;
        }
        let max = r.max_results(100)?;
        let mut diags = stepwise_asl::validate::validate(&definition);
        if diags.is_empty() {
            if let Err(e) = Definition::from_json(&definition) {
                diags.push(stepwise_asl::validate::Diagnostic::error(
                    stepwise_asl::validate::SCHEMA_VALIDATION_FAILED,
                    e.message,
                    e.location,
                ));
            }
        }
        if diags.is_empty() && r.opt_str("type")?.as_deref() == Some("EXPRESS") {
            diags = stepwise_asl::validate::validate_express(&definition);
        }
        let severity = r.opt_str("severity")?.unwrap_or_else(|| "ERROR".into());
        if severity == "ERROR" {
            diags.retain(|d| d.is_error());
        }
        let fail = diags.iter().any(|d| d.is_error());
        let truncated = diags.len() > max;
        diags.truncate(max);
        let list: Vec<Value> = diags
            .iter()
            .map(|d| {
                let mut o = json!({"severity": d.severity, "code": d.code, "message": d.message});
                if !d.location.is_empty() {
                    o["location"] = json!(d.location);
                }
                o
            })
            .collect();
        Ok(
            json!({"result": if fail {"FAIL"} else {"OK"}, "diagnostics": list, "truncated": truncated}),
        )
    }
}

/// What a version whose state machine is gone describes itself as (no name, no type), as the
/// untyped record read it.
fn orphan(v: &VersionRecord) -> StateMachineRecord {
    StateMachineRecord {
        name: String::new(),
        arn: v.arn.clone(),
        kind: String::new(),
        role_arn: String::new(),
        creation_date: v.creation_date,
        update_date: 0,
        revision: v.revision,
        definition: String::new(),
        logging_configuration: None,
        tracing_configuration: None,
        next_version: 0,
        revision_id: v.revision_id.clone(),
        encryption_configuration: None,
        status: None,
    }
}

/// DescribeStateMachine's body from the state machine record and the definition, role and
/// revision id it shows (its own, or a version's revision's).
pub(crate) fn describe_body(
    arn: &str,
    sm: &StateMachineRecord,
    definition: &str,
    role_arn: &str,
    revision_id: Option<&str>,
) -> Value {
    let mut out = json!({
        "stateMachineArn": arn,
        "name": sm.name,
        "status": sm.status.as_deref().unwrap_or("ACTIVE"),
        "definition": definition,
        "roleArn": role_arn,
        "type": sm.kind,
        "creationDate": ts(sm.creation_date),
        "loggingConfiguration": sm.logging(),
        "tracingConfiguration": sm.tracing(),
        "encryptionConfiguration": sm.encryption(),
    });
    if let Some(rid) = revision_id {
        out["revisionId"] = json!(rid);
    }
    if let Some(refs) = crate::var_refs::variable_references(definition) {
        out["variableReferences"] = refs;
    }
    out
}

#[cfg(test)]
mod express_tests {
    use super::check_express;

    fn task(resource: &str) -> String {
        format!(
            r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#
        )
    }

    #[test]
    fn express_refusals_are_worded_as_aws_words_them() {
        let pre = "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support";
        for (resource, want) in [
            ("arn:aws:states:::lambda:invoke", None),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                Some(format!(
                    "{pre} '.waitForTaskToken' service integration  at /States/T/Resource'"
                )),
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                Some(format!(
                    "{pre} '.sync' service integration at /States/T/Resource'"
                )),
            ),
            (
                "arn:aws:states:us-east-1:123456789012:activity:a",
                Some(format!("{pre} Activity ARN at /States/T/Resource'")),
            ),
        ] {
            let got = check_express(&task(resource)).err().map(|e| e.message);
            assert_eq!(got, want, "{resource}");
        }
    }
}
