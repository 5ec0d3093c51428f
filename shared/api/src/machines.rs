//! State machines, versions, aliases, activities, tags and definition validation.

use crate::error::{ApiError, ApiResult};
use crate::req::{check_name, page, ts, uuid, Arn, Req};
use crate::Service;
use serde_json::{json, Value};
use stepwise_asl::model::Definition;
use stepwise_ports::api::{ApiStore, Resource, ResourceKind};
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

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn i(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn default_logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

fn default_tracing() -> Value {
    json!({"enabled": false})
}

/// Checks a definition as CreateStateMachine does.
/// An alias name, as AWS constrains it: at most 80 characters of `[a-zA-Z0-9_.-]`, not all digits.
fn check_alias_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 80 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"
        )));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let named = |c: char| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || !name.chars().all(allowed) || !name.chars().any(named) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
        )));
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

fn check_role(role: &str) -> ApiResult<()> {
    let f: Vec<&str> = role.split(':').collect();
    if f.len() < 6 || f[0] != "arn" || f[2] != "iam" {
        return Err(ApiError::invalid_arn(role));
    }
    Ok(())
}

fn tags_from(list: &[Value]) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for t in list {
        let key = t.get("key").and_then(Value::as_str);
        let value = t.get("value").and_then(Value::as_str).unwrap_or_default();
        let Some(key) = key else {
            return Err(ApiError::validation(
                "1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null",
            ));
        };
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

impl<S: ApiStore + 'static> Service<S> {
    pub(crate) async fn sm(&self, arn: &str) -> ApiResult<Value> {
        self.store
            .get_resource(ResourceKind::StateMachine, arn)
            .await?
            .map(|r| r.body)
            .ok_or_else(|| sm_missing(arn))
    }

    pub(crate) async fn revision(&self, sm: &str, revision: u64) -> ApiResult<Value> {
        self.store
            .get_resource(ResourceKind::Revision, &revision_arn(sm, revision))
            .await?
            .map(|r| r.body)
            .ok_or_else(|| sm_missing(sm))
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
        let mut body = json!({"definition": definition, "roleArn": role, "type": kind,
            "updateDate": wall_clock_ms()});
        if let Some(rid) = &revision_id {
            body["revisionId"] = json!(rid);
        }
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Revision,
                    arn: revision_arn(sm_arn, n),
                    parent: Some(sm_arn.to_string()),
                    body,
                },
                false,
            )
            .await?;
        Ok((n, revision_id))
    }

    async fn set_tags(&self, arn: &str, tags: Vec<(String, String)>) -> ApiResult<()> {
        let mut current = self.tags_of(arn).await?;
        for (k, v) in tags {
            current.retain(|(ck, _)| ck != &k);
            current.push((k, v));
        }
        if current.len() > 50 {
            return Err(ApiError::new(
                "TooManyTags",
                format!("Too many tags on resource '{arn}'"),
            ));
        }
        let body: Vec<Value> = current
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Tags,
                    arn: arn.to_string(),
                    parent: None,
                    body: Value::Array(body),
                },
                false,
            )
            .await?;
        Ok(())
    }

    async fn tags_of(&self, arn: &str) -> ApiResult<Vec<(String, String)>> {
        let r = self.store.get_resource(ResourceKind::Tags, arn).await?;
        Ok(r.and_then(|r| r.body.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|t| (s(t, "key"), s(t, "value")))
            .collect())
    }

    pub(crate) async fn create_state_machine(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        let definition = r.str("definition")?;
        let role = r.str("roleArn")?;
        let kind = r.opt_str("type")?.unwrap_or_else(|| "STANDARD".into());
        if kind != "STANDARD" && kind != "EXPRESS" {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
            )));
        }
        check_name(&name, "state machine")?;
        check_role(&role)?;
        check_definition(&definition)?;
        if kind == "EXPRESS" {
            check_express(&definition)?;
        }
        check_version_description(&r)?;
        let tags = tags_from(&r.opt_list("tags")?.unwrap_or_default())?;
        let logging = r
            .opt_obj("loggingConfiguration")?
            .map(Value::Object)
            .unwrap_or_else(default_logging);
        let tracing = r
            .opt_obj("tracingConfiguration")?
            .map(Value::Object)
            .unwrap_or_else(default_tracing);
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
        if let Some(existing) = self
            .store
            .get_resource(ResourceKind::StateMachine, &arn)
            .await?
        {
            let b = existing.body;
            if s(&b, "definition") == definition
                && s(&b, "roleArn") == role
                && s(&b, "type") == kind
            {
                return Ok(
                    json!({"stateMachineArn": arn, "creationDate": ts(i(&b, "creationDate"))}),
                );
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        let (revision, revision_id) = self.put_revision(&arn, &definition, &role, &kind).await?;
        let now = wall_clock_ms();
        let mut body = json!({
            "name": name, "arn": arn, "type": kind, "roleArn": role, "creationDate": now,
            "updateDate": now, "revision": revision,
            "definition": definition, "loggingConfiguration": logging,
            "tracingConfiguration": tracing, "nextVersion": 1,
        });
        if let Some(rid) = revision_id {
            body["revisionId"] = json!(rid);
        }
        match self
            .store
            .put_resource(
                &Resource {
                    kind: ResourceKind::StateMachine,
                    arn: arn.clone(),
                    parent: None,
                    body,
                },
                true,
            )
            .await
        {
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::new(
                    "StateMachineAlreadyExists",
                    format!("State Machine Already Exists: '{arn}'"),
                ))
            }
            other => other?,
        }
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
        let role = r.opt_str("roleArn")?;
        let logging = r.opt_obj("loggingConfiguration")?;
        let tracing = r.opt_obj("tracingConfiguration")?;
        if definition.is_none() && role.is_none() && logging.is_none() && tracing.is_none() {
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
        if let (Some(d), "EXPRESS") = (&definition, s(&b, "type").as_str()) {
            check_express(d)?;
        }
        let now = wall_clock_ms();
        let changed_def = definition
            .as_ref()
            .is_some_and(|d| *d != s(&b, "definition"))
            || role.as_ref().is_some_and(|x| *x != s(&b, "roleArn"));
        if changed_def {
            let d = definition.unwrap_or_else(|| s(&b, "definition"));
            let ro = role.unwrap_or_else(|| s(&b, "roleArn"));
            let (rev, rid) = self.put_revision(&arn, &d, &ro, &s(&b, "type")).await?;
            b["definition"] = json!(d);
            b["roleArn"] = json!(ro);
            b["revision"] = json!(rev);
            if let Some(rid) = rid {
                b["revisionId"] = json!(rid);
            }
        }
        if let Some(l) = logging {
            b["loggingConfiguration"] = Value::Object(l);
        }
        if let Some(t) = tracing {
            b["tracingConfiguration"] = Value::Object(t);
        }
        b["updateDate"] = json!(now);
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::StateMachine,
                    arn: arn.clone(),
                    parent: None,
                    body: b.clone(),
                },
                false,
            )
            .await?;
        let mut out = json!({ "updateDate": ts(now) });
        // An update that changed nothing makes no revision: it answers with the current one, if
        // any (a machine never really updated has none).
        if let Some(rid) = b.get("revisionId").and_then(Value::as_str) {
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
                Ok(describe_body(&arn, &b, &b))
            }
            2 if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => {
                let v = self
                    .store
                    .get_resource(ResourceKind::Version, &arn)
                    .await?
                    .ok_or_else(|| sm_missing(&arn))?
                    .body;
                let sm = self.sm(&base).await.unwrap_or_else(|_| v.clone());
                let rev = self.revision(&base, u(&v, "revision")).await?;
                let mut out = describe_body(&arn, &sm, &rev);
                out["creationDate"] = ts(i(&v, "creationDate"));
                if let Some(d) = v.get("description").and_then(Value::as_str) {
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
        for kind in [ResourceKind::Version, ResourceKind::Alias] {
            for res in self.store.list_resources(kind, Some(&arn)).await? {
                self.store.delete_resource(kind, &res.arn).await?;
                self.store
                    .delete_resource(ResourceKind::Tags, &res.arn)
                    .await?;
            }
        }
        self.store
            .delete_resource(ResourceKind::StateMachine, &arn)
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        Ok(json!({}))
    }

    pub(crate) async fn list_state_machines(&self, r: Req) -> ApiResult<Value> {
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let mut all = self
            .store
            .list_resources(ResourceKind::StateMachine, None)
            .await?;
        // AWS lists state machines in the string order of their names.
        all.sort_by_key(|a| s(&a.body, "name"));
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|x| {
                json!({"stateMachineArn": x.arn, "name": s(&x.body, "name"), "type": s(&x.body, "type"),
                       "creationDate": ts(i(&x.body, "creationDate"))})
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
        if let Some(t) = r.opt_str("type")? {
            if t != "STANDARD" && t != "EXPRESS" {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{t}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
                )));
            }
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

    // ----- versions -----

    async fn publish(
        &self,
        sm_arn: &str,
        description: Option<String>,
        revision_id: Option<String>,
    ) -> ApiResult<Value> {
        let mut b = self.sm(sm_arn).await?;
        if let Some(rid) = &revision_id {
            if *rid != s(&b, "revisionId") {
                return Err(ApiError::new(
                    "ConflictException",
                    format!("Failed to publish the State Machine version for revision {rid}. The current State Machine revision is {}.", s(&b, "revisionId")),
                ));
            }
        }
        let revision = u(&b, "revision");
        let versions = self
            .store
            .list_resources(ResourceKind::Version, Some(sm_arn))
            .await?;
        if let Some(last) = versions
            .iter()
            .max_by_key(|v| u(&v.body, "version"))
            .filter(|v| u(&v.body, "revision") == revision)
        {
            return Ok(
                json!({"stateMachineVersionArn": last.arn, "creationDate": ts(i(&last.body, "creationDate"))}),
            );
        }
        if versions.len() >= 1000 {
            return Err(ApiError::new(
                "ServiceQuotaExceededException",
                "The maximum number of versions has been reached",
            ));
        }
        let n = u(&b, "nextVersion").max(1);
        let arn = format!("{sm_arn}:{n}");
        let now = wall_clock_ms();
        let mut body = json!({"arn": arn, "smArn": sm_arn, "version": n, "revision": revision,
            "creationDate": now});
        if let Some(rid) = b.get("revisionId").and_then(Value::as_str) {
            body["revisionId"] = json!(rid);
        }
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Version,
                    arn: arn.clone(),
                    parent: Some(sm_arn.to_string()),
                    body,
                },
                false,
            )
            .await?;
        b["nextVersion"] = json!(n + 1);
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::StateMachine,
                    arn: sm_arn.to_string(),
                    parent: None,
                    body: b,
                },
                false,
            )
            .await?;
        Ok(json!({"stateMachineVersionArn": arn, "creationDate": ts(now)}))
    }

    pub(crate) async fn publish_version(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() != 1 {
            return Err(ApiError::invalid_arn(&arn));
        }
        self.publish(&arn, r.opt_str("description")?, r.opt_str("revisionId")?)
            .await
    }

    pub(crate) async fn list_versions(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() != 1 {
            return Err(ApiError::invalid_arn(&arn));
        }
        self.sm(&arn).await?;
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let mut all = self
            .store
            .list_resources(ResourceKind::Version, Some(&arn))
            .await?;
        all.sort_by_key(|v| std::cmp::Reverse(u(&v.body, "version")));
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": ts(i(&v.body, "creationDate"))}))
            .collect();
        let mut out = json!({"stateMachineVersions": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn delete_version_arn(&self, arn: &str) -> ApiResult<Value> {
        let Some(v) = self.store.get_resource(ResourceKind::Version, arn).await? else {
            return Ok(json!({}));
        };
        let sm = v.parent.clone().unwrap_or_default();
        for alias in self
            .store
            .list_resources(ResourceKind::Alias, Some(&sm))
            .await?
        {
            let routes = alias.body["routingConfiguration"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if routes
                .iter()
                .any(|x| x["stateMachineVersionArn"].as_str() == Some(arn))
            {
                return Err(ApiError::new(
                    "ConflictException",
                    format!(
                        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                        alias.arn
                    ),
                ));
            }
        }
        self.store
            .delete_resource(ResourceKind::Version, arn)
            .await?;
        Ok(json!({}))
    }

    pub(crate) async fn delete_version(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineVersionArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() != 2 || !a.parts[1].bytes().all(|c| c.is_ascii_digit()) {
            return Err(ApiError::invalid_arn(&arn));
        }
        self.delete_version_arn(&arn).await
    }

    // ----- aliases -----

    async fn check_routing(&self, sm_arn: Option<&str>, routing: &[Value]) -> ApiResult<String> {
        if routing.is_empty() || routing.len() > 2 {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length between 1 and 2",
            ));
        }
        let mut total = 0;
        let mut sm: Option<String> = sm_arn.map(str::to_string);
        let mut seen = Vec::new();
        let not_versions = || {
            let received: Vec<&str> = routing
                .iter()
                .filter_map(|rt| rt["stateMachineVersionArn"].as_str())
                .collect();
            ApiError::validation(format!(
                "Routing configuration must contain state machine version ARNs. Received: [{}]",
                received.join(", ")
            ))
        };
        for rt in routing {
            let Some(v) = rt["stateMachineVersionArn"].as_str() else {
                return Err(ApiError::validation(
                    "1 validation error detected: Value null at 'routingConfiguration.member.stateMachineVersionArn' failed to satisfy constraint: Member must not be null",
                ));
            };
            let Some(w) = rt["weight"].as_u64().filter(|w| *w <= 100) else {
                return Err(ApiError::validation(
                    "1 validation error detected: Value at 'routingConfiguration.member.weight' failed to satisfy constraint: Member must have value between 0 and 100",
                ));
            };
            total += w;
            let a = Arn::parse(v, &["stateMachine"]).map_err(|_| not_versions())?;
            if a.parts.len() != 2 || !a.parts[1].bytes().all(|c| c.is_ascii_digit()) {
                return Err(not_versions());
            }
            if seen.contains(&v) {
                return Err(ApiError::validation(
                    "Routing configuration must contain distinct state machine version ARNs",
                ));
            }
            seen.push(v);
            let base = a.state_machine();
            match &sm {
                Some(s) if *s != base => {
                    return Err(ApiError::validation(
                        "Routing configuration must contain state machine version ARNs of the same state machine",
                    ))
                }
                _ => sm = Some(base),
            }
            if self
                .store
                .get_resource(ResourceKind::Version, v)
                .await?
                .is_none()
            {
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{v}'"),
                ));
            }
        }
        if total != 100 {
            return Err(ApiError::validation(
                "Sum of routing configuration weights must equal 100",
            ));
        }
        Ok(sm.unwrap_or_default())
    }

    pub(crate) async fn create_alias(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        let routing = r
            .opt_list("routingConfiguration")?
            .ok_or_else(|| ApiError::validation("1 validation error detected: Value null at 'routingConfiguration' failed to satisfy constraint: Member must not be null"))?;
        check_alias_name(&name)?;
        let sm = self.check_routing(None, &routing).await?;
        self.sm(&sm).await?;
        let arn = format!("{sm}:{name}");
        let description = r.opt_str("description")?;
        if let Some(existing) = self.store.get_resource(ResourceKind::Alias, &arn).await? {
            if existing.body["routingConfiguration"] == Value::Array(routing.clone())
                && existing.body.get("description").and_then(Value::as_str)
                    == description.as_deref()
            {
                return Ok(
                    json!({"stateMachineAliasArn": arn, "creationDate": ts(i(&existing.body, "creationDate"))}),
                );
            }
            return Err(ApiError::new(
                "ConflictException",
                format!("Alias already exists: '{arn}'"),
            ));
        }
        let now = wall_clock_ms();
        let mut body = json!({"arn": arn, "name": name, "smArn": sm, "routingConfiguration": routing,
            "creationDate": now, "updateDate": now});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Alias,
                    arn: arn.clone(),
                    parent: Some(sm),
                    body,
                },
                false,
            )
            .await?;
        Ok(json!({"stateMachineAliasArn": arn, "creationDate": ts(now)}))
    }

    pub(crate) async fn alias(&self, arn: &str) -> ApiResult<Resource> {
        self.store
            .get_resource(ResourceKind::Alias, arn)
            .await?
            .ok_or_else(|| {
                ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
            })
    }

    fn alias_arn_check(arn: &str) -> ApiResult<()> {
        let a = Arn::parse(arn, &["stateMachine"])?;
        if a.parts.len() != 2 || a.parts[1].bytes().all(|c| c.is_ascii_digit()) {
            return Err(ApiError::invalid_arn(arn));
        }
        Ok(())
    }

    pub(crate) async fn describe_alias(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineAliasArn")?;
        Self::alias_arn_check(&arn)?;
        let a = self.alias(&arn).await?.body;
        let mut out = json!({"stateMachineAliasArn": arn, "name": s(&a, "name"),
            "routingConfiguration": a["routingConfiguration"], "creationDate": ts(i(&a, "creationDate")),
            "updateDate": ts(i(&a, "updateDate"))});
        if let Some(d) = a.get("description") {
            out["description"] = d.clone();
        }
        Ok(out)
    }

    pub(crate) async fn update_alias(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineAliasArn")?;
        Self::alias_arn_check(&arn)?;
        let description = r.opt_str("description")?;
        let routing = r.opt_list("routingConfiguration")?;
        if description.is_none() && routing.is_none() {
            return Err(ApiError::validation(
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let mut res = self.alias(&arn).await?;
        let sm = res.parent.clone().unwrap_or_default();
        if let Some(rt) = routing {
            self.check_routing(Some(&sm), &rt).await?;
            res.body["routingConfiguration"] = Value::Array(rt);
        }
        if let Some(d) = description {
            res.body["description"] = json!(d);
        }
        let now = wall_clock_ms();
        res.body["updateDate"] = json!(now);
        self.store.put_resource(&res, false).await?;
        Ok(json!({"updateDate": ts(now)}))
    }

    pub(crate) async fn delete_alias(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineAliasArn")?;
        Self::alias_arn_check(&arn)?;
        // Deleting an alias that is not there (any more) succeeds, as on AWS.
        self.store
            .delete_resource(ResourceKind::Alias, &arn)
            .await?;
        Ok(json!({}))
    }

    pub(crate) async fn list_aliases(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("stateMachineArn")?;
        let a = Arn::parse(&arn, &["stateMachine"])?;
        if a.parts.len() > 2 {
            return Err(ApiError::invalid_arn(&arn));
        }
        let base = a.state_machine();
        if a.parts.len() == 2 {
            // A version ARN: the aliases that route to it.
            if self
                .store
                .get_resource(ResourceKind::Version, &arn)
                .await?
                .is_none()
            {
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{arn}'"),
                ));
            }
        } else {
            self.sm(&base).await?;
        }
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let all: Vec<Resource> = self
            .store
            .list_resources(ResourceKind::Alias, Some(&base))
            .await?
            .into_iter()
            .filter(|x| {
                a.parts.len() == 1
                    || x.body["routingConfiguration"].as_array().is_some_and(|l| {
                        l.iter().any(|e| e["stateMachineVersionArn"] == json!(arn))
                    })
            })
            .collect();
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|x| json!({"stateMachineAliasArn": x.arn, "creationDate": ts(i(&x.body, "creationDate"))}))
            .collect();
        let mut out = json!({"stateMachineAliases": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    // ----- activities -----

    pub(crate) async fn create_activity(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        check_name(&name, "activity")?;
        let tags = tags_from(&r.opt_list("tags")?.unwrap_or_default())?;
        let arn = format!("{}:activity:{name}", self.prefix());
        if let Some(existing) = self
            .store
            .get_resource(ResourceKind::Activity, &arn)
            .await?
        {
            if !tags.is_empty() {
                let current = self.tags_of(&arn).await?;
                if tags.iter().any(|t| !current.contains(t)) {
                    return Err(ApiError::new(
                        "ActivityAlreadyExists",
                        format!("Activity already exists: '{arn}'"),
                    ));
                }
            }
            return Ok(
                json!({"activityArn": arn, "creationDate": ts(i(&existing.body, "creationDate"))}),
            );
        }
        let now = wall_clock_ms();
        self.store
            .put_resource(
                &Resource {
                    kind: ResourceKind::Activity,
                    arn: arn.clone(),
                    parent: None,
                    body: json!({"arn": arn, "name": name, "creationDate": now}),
                },
                false,
            )
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        if !tags.is_empty() {
            self.set_tags(&arn, tags).await?;
        }
        Ok(json!({"activityArn": arn, "creationDate": ts(now)}))
    }

    pub(crate) async fn activity(&self, arn: &str) -> ApiResult<Value> {
        Arn::parse(arn, &["activity"])?;
        self.store
            .get_resource(ResourceKind::Activity, arn)
            .await?
            .map(|r| r.body)
            .ok_or_else(|| {
                ApiError::new(
                    "ActivityDoesNotExist",
                    format!("Activity Does Not Exist: '{arn}'"),
                )
            })
    }

    pub(crate) async fn describe_activity(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("activityArn")?;
        let b = self.activity(&arn).await?;
        Ok(
            json!({"activityArn": arn, "name": s(&b, "name"), "creationDate": ts(i(&b, "creationDate"))}),
        )
    }

    pub(crate) async fn delete_activity(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("activityArn")?;
        Arn::parse(&arn, &["activity"])?;
        self.store
            .delete_resource(ResourceKind::Activity, &arn)
            .await?;
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        Ok(json!({}))
    }

    pub(crate) async fn list_activities(&self, r: Req) -> ApiResult<Value> {
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let all = self
            .store
            .list_resources(ResourceKind::Activity, None)
            .await?;
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|x| json!({"activityArn": x.arn, "name": s(&x.body, "name"), "creationDate": ts(i(&x.body, "creationDate"))}))
            .collect();
        let mut out = json!({"activities": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    // ----- tags -----

    async fn taggable(&self, arn: &str) -> ApiResult<()> {
        let a = Arn::parse(arn, &["stateMachine", "activity"])?;
        let kind = match (a.resource_type.as_str(), a.parts.len()) {
            ("activity", 1) => ResourceKind::Activity,
            ("stateMachine", 1) => ResourceKind::StateMachine,
            // A version carries no tags of its own: AWS does not find it as a resource to tag.
            ("stateMachine", 2) if a.parts[1].bytes().all(|c| c.is_ascii_digit()) => {
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{arn}'"),
                ));
            }
            ("stateMachine", 2) => ResourceKind::Alias,
            _ => return Err(ApiError::invalid_arn(arn)),
        };
        if self.store.get_resource(kind, arn).await?.is_none() {
            return Err(ApiError::new(
                "ResourceNotFound",
                format!("Resource not found: '{arn}'"),
            ));
        }
        Ok(())
    }

    pub(crate) async fn tag_resource(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        let tags = r.opt_list("tags")?.ok_or_else(|| {
            ApiError::validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
        })?;
        let tags = tags_from(&tags)?;
        self.taggable(&arn).await?;
        self.set_tags(&arn, tags).await?;
        Ok(json!({}))
    }

    pub(crate) async fn untag_resource(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        let keys = r.opt_list("tagKeys")?.ok_or_else(|| {
            ApiError::validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
        })?;
        self.taggable(&arn).await?;
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        let mut current = self.tags_of(&arn).await?;
        current.retain(|(k, _)| !keys.contains(&k.as_str()));
        self.store.delete_resource(ResourceKind::Tags, &arn).await?;
        self.set_tags(&arn, current).await?;
        Ok(json!({}))
    }

    pub(crate) async fn list_tags(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("resourceArn")?;
        self.taggable(&arn).await?;
        let tags: Vec<Value> = self
            .tags_of(&arn)
            .await?
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        Ok(json!({"tags": tags}))
    }
}

/// DescribeStateMachine's body from the state machine record and the revision it shows.
pub(crate) fn describe_body(arn: &str, sm: &Value, rev: &Value) -> Value {
    let mut out = json!({
        "stateMachineArn": arn,
        "name": s(sm, "name"),
        "status": "ACTIVE",
        "definition": s(rev, "definition"),
        "roleArn": s(rev, "roleArn"),
        "type": s(sm, "type"),
        "creationDate": ts(i(sm, "creationDate")),
        "loggingConfiguration": sm.get("loggingConfiguration").cloned().unwrap_or_else(default_logging),
        "tracingConfiguration": sm.get("tracingConfiguration").cloned().unwrap_or_else(default_tracing),
    });
    if let Some(rid) = rev.get("revisionId").and_then(Value::as_str) {
        out["revisionId"] = json!(rid);
    }
    out
}

#[cfg(test)]
mod alias_name_tests {
    use super::check_alias_name;

    #[test]
    fn alias_names_follow_aws_constraints() {
        for (name, ok) in [
            ("PROD", true),
            ("v1.2-beta_x", true),
            ("123", false),
            ("!INVALID", false),
            ("ALIAS@", false),
            ("INVALID ALIAS", false),
            ("", false),
        ] {
            assert_eq!(check_alias_name(name).is_ok(), ok, "{name}");
        }
        let long = "a".repeat(81);
        let e = check_alias_name(&long).expect_err("too long");
        assert!(e.to_string().contains("less than or equal to 80"), "{e}");
    }
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
