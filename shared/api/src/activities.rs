//! Activities (create, describe, delete, list) and the tags of state machines, aliases and
//! activities.

use crate::error::{ApiError, ApiResult};
use crate::records::{ActivityRecord, Record, Tag, TagsRecord};
use crate::req::{check_name, page, ts, Arn, Req};
use crate::Service;
use serde_json::{json, Value};
use stepwise_ports::api::{ApiStore, ResourceKind};
use stepwise_runtime::local::wall_clock_ms;

/// The cause of a Task on an activity that does not exist (the engine puts AWS's "An error
/// occurred while executing the state …" before it).
pub(crate) fn activity_missing(arn: &str) -> String {
    format!("The activity {arn} does not exist.")
}

/// The tags of a request (`tags`), each with a key.
pub(crate) fn tags_from(list: &[Value]) -> ApiResult<Vec<Tag>> {
    let mut out = Vec::new();
    for t in list {
        let key = t.get("key").and_then(Value::as_str);
        let value = t.get("value").and_then(Value::as_str).unwrap_or_default();
        let Some(key) = key else {
            return Err(ApiError::missing("tags.member.key"));
        };
        out.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

impl<S: ApiStore + 'static> Service<S> {
    /// Adds `tags` to a resource's (a tag with a key it has replaces it, at the end).
    pub(crate) async fn set_tags(&self, arn: &str, tags: Vec<Tag>) -> ApiResult<()> {
        let mut current = self.tags_of(arn).await?;
        for t in tags {
            current.retain(|c| c.key != t.key);
            current.push(t);
        }
        if current.len() > 50 {
            return Err(ApiError::new(
                "TooManyTags",
                format!("Too many tags on resource '{arn}'"),
            ));
        }
        let record = TagsRecord(current);
        self.store
            .put_resource(&record.to_resource(arn, None)?, false)
            .await?;
        Ok(())
    }

    async fn tags_of(&self, arn: &str) -> ApiResult<Vec<Tag>> {
        match self.store.get_resource(ResourceKind::Tags, arn).await? {
            Some(r) => Ok(TagsRecord::from_body(arn, r.body)?.0),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) async fn create_activity(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        check_name(&name, "activity")?;
        let tags = tags_from(&r.opt_list("tags")?.unwrap_or_default())?;
        let encryption = r.opt_obj("encryptionConfiguration")?;
        if let Some(e) = &encryption {
            crate::machines::check_encryption(e)?;
        }
        let arn = format!("{}:activity:{name}", self.prefix());
        if let Some(existing) = self
            .store
            .get_resource(ResourceKind::Activity, &arn)
            .await?
        {
            let existing = ActivityRecord::from_body(&arn, existing.body)?;
            if !tags.is_empty() {
                let current = self.tags_of(&arn).await?;
                if tags.iter().any(|t| !current.contains(t)) {
                    return Err(ApiError::new(
                        "ActivityAlreadyExists",
                        format!("Activity already exists: '{arn}'"),
                    ));
                }
            }
            return Ok(json!({"activityArn": arn, "creationDate": ts(existing.creation_date)}));
        }
        let now = wall_clock_ms();
        let record = ActivityRecord {
            arn: arn.clone(),
            name,
            creation_date: now,
            encryption_configuration: encryption.map(Value::Object),
        };
        self.store
            .put_resource(&record.to_resource(&arn, None)?, false)
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        if !tags.is_empty() {
            self.set_tags(&arn, tags).await?;
        }
        Ok(json!({"activityArn": arn, "creationDate": ts(now)}))
    }

    /// An activity's record, or `ActivityDoesNotExist`.
    pub(crate) async fn activity(&self, arn: &str) -> ApiResult<ActivityRecord> {
        Arn::parse(arn, &["activity"])?;
        match self.store.get_resource(ResourceKind::Activity, arn).await? {
            Some(r) => ActivityRecord::from_body(arn, r.body),
            None => Err(ApiError::new(
                "ActivityDoesNotExist",
                format!("Activity Does Not Exist: '{arn}'"),
            )),
        }
    }

    pub(crate) async fn describe_activity(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("activityArn")?;
        let b = self.activity(&arn).await?;
        let encryption = b
            .encryption_configuration
            .unwrap_or_else(crate::records::default_encryption);
        Ok(
            json!({"activityArn": arn, "name": b.name, "creationDate": ts(b.creation_date),
                  "encryptionConfiguration": encryption}),
        )
    }

    pub(crate) async fn delete_activity(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("activityArn")?;
        Arn::parse(&arn, &["activity"])?;
        self.store
            .delete_resource(ResourceKind::Activity, &arn)
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        // The executions whose task no worker took yet fail, as a Task on a missing activity
        // does (States.Runtime; a task a worker holds can still be answered).
        while let Some(task) = self.store.take_activity_task(&arn).await? {
            self.store.activity_task_delivered(&arn, &task).await?;
            if let Some(tok) = self.store.token(&task.token).await? {
                let event = stepwise_engine::Event::TaskFailed {
                    task: tok.task,
                    error: stepwise_asl::errors::RUNTIME.into(),
                    cause: activity_missing(&arn),
                };
                self.driver.apply(&tok.execution_arn, event).await?;
            }
        }
        Ok(json!({}))
    }

    pub(crate) async fn list_activities(&self, r: Req) -> ApiResult<Value> {
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let mut all = Vec::new();
        for res in self
            .store
            .list_resources(ResourceKind::Activity, None)
            .await?
        {
            let record = ActivityRecord::from_body(&res.arn, res.body)?;
            all.push((res.arn, record));
        }
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|(arn, x)| {
                json!({"activityArn": arn, "name": x.name, "creationDate": ts(x.creation_date)})
            })
            .collect();
        let mut out = json!({"activities": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn taggable(&self, arn: &str) -> ApiResult<()> {
        let a = Arn::parse(arn, &["stateMachine", "activity"])?;
        let kind = match (a.resource_type.as_str(), a.parts.len()) {
            ("activity", 1) => ResourceKind::Activity,
            ("stateMachine", 1) => ResourceKind::StateMachine,
            // A version carries no tags of its own: AWS does not find it as a resource to tag.
            ("stateMachine", 2) if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => {
                return Err(not_found(arn));
            }
            ("stateMachine", 2) => ResourceKind::Alias,
            _ => return Err(ApiError::invalid_arn(arn)),
        };
        if self.store.get_resource(kind, arn).await?.is_none() {
            return Err(not_found(arn));
        }
        Ok(())
    }

    pub(crate) async fn tag_resource(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        let tags = r
            .opt_list("tags")?
            .ok_or_else(|| ApiError::missing("tags"))?;
        let tags = tags_from(&tags)?;
        self.taggable(&arn).await?;
        self.set_tags(&arn, tags).await?;
        Ok(json!({}))
    }

    pub(crate) async fn untag_resource(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        let keys = r
            .opt_list("tagKeys")?
            .ok_or_else(|| ApiError::missing("tagKeys"))?;
        self.taggable(&arn).await?;
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        let mut current = self.tags_of(&arn).await?;
        current.retain(|t| !keys.contains(&t.key.as_str()));
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        self.set_tags(&arn, current).await?;
        Ok(json!({}))
    }

    pub(crate) async fn list_tags(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        self.taggable(&arn).await?;
        let tags = self.tags_of(&arn).await?;
        Ok(json!({ "tags": tags }))
    }
}
