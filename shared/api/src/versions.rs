//! State machine versions (publish, list, delete) and aliases (create, describe, update, delete,
//! list, and the routing they carry).

use crate::error::{ApiError, ApiResult, Shown};
use crate::records::{AliasRecord, Record, Route, VersionRecord};
use crate::req::{page, ts, Arn, Req};
use crate::Service;
use serde_json::{json, Value};
use stepwise_ports::api::{ApiStore, ResourceKind};
use stepwise_runtime::local::wall_clock_ms;

/// An alias name, as AWS constrains it: at most 80 characters of `[a-zA-Z0-9_.-]`, not all digits.
fn check_alias_name(name: &str) -> ApiResult<()> {
    if name.chars().count() > 80 {
        return Err(ApiError::constraint(
            Shown::Text(name),
            "name",
            "Member must have length less than or equal to 80",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let named = |c: char| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || !name.chars().all(allowed) || !name.chars().any(named) {
        return Err(ApiError::constraint(
            Shown::Text(name),
            "name",
            "Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$",
        ));
    }
    Ok(())
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

impl<S: ApiStore + 'static> Service<S> {
    /// The versions of a state machine, in creation order.
    async fn versions_of(&self, sm_arn: &str) -> ApiResult<Vec<VersionRecord>> {
        let mut out = Vec::new();
        for r in self
            .store
            .list_resources(ResourceKind::Version, Some(sm_arn))
            .await?
        {
            out.push(VersionRecord::from_body(&r.arn, r.body)?);
        }
        Ok(out)
    }

    /// The aliases of a state machine, in creation order.
    async fn aliases_of(&self, sm_arn: &str) -> ApiResult<Vec<AliasRecord>> {
        let mut out = Vec::new();
        for r in self
            .store
            .list_resources(ResourceKind::Alias, Some(sm_arn))
            .await?
        {
            out.push(AliasRecord::from_body(&r.arn, r.body)?);
        }
        Ok(out)
    }

    pub(crate) async fn publish(
        &self,
        sm_arn: &str,
        description: Option<String>,
        revision_id: Option<String>,
    ) -> ApiResult<Value> {
        let mut b = self.sm(sm_arn).await?;
        let current_id = b.revision_id.clone().unwrap_or_default();
        if let Some(rid) = &revision_id {
            if *rid != current_id {
                return Err(ApiError::new(
                    "ConflictException",
                    format!("Failed to publish the State Machine version for revision {rid}. The current State Machine revision is {current_id}."),
                ));
            }
        }
        let revision = b.revision;
        let versions = self.versions_of(sm_arn).await?;
        if let Some(last) = versions
            .iter()
            .max_by_key(|v| v.version)
            .filter(|v| v.revision == revision)
        {
            return Ok(
                json!({"stateMachineVersionArn": last.arn, "creationDate": ts(last.creation_date)}),
            );
        }
        if versions.len() >= 1000 {
            return Err(ApiError::new(
                "ServiceQuotaExceededException",
                "The maximum number of versions has been reached",
            ));
        }
        let n = b.next_version.max(1);
        let arn = format!("{sm_arn}:{n}");
        let now = wall_clock_ms();
        let version = VersionRecord {
            arn: arn.clone(),
            sm_arn: sm_arn.to_string(),
            version: n,
            revision,
            creation_date: now,
            revision_id: b.revision_id.clone(),
            description,
        };
        self.store
            .put_resource(&version.to_resource(&arn, Some(sm_arn))?, false)
            .await?;
        b.next_version = n + 1;
        self.put_sm(&b, false).await?;
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
        let mut all = self.versions_of(&arn).await?;
        all.sort_by_key(|v| std::cmp::Reverse(v.version));
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": ts(v.creation_date)}))
            .collect();
        let mut out = json!({"stateMachineVersions": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    pub(crate) async fn delete_version_arn(&self, arn: &str) -> ApiResult<Value> {
        let Some(v) = self.store.get_resource(ResourceKind::Version, arn).await? else {
            return Ok(json!({}));
        };
        let sm = v.parent.clone().unwrap_or_default();
        // AWS lists every alias that routes to it, by name.
        let referencing: Vec<String> = self
            .aliases_of(&sm)
            .await?
            .into_iter()
            .filter(|a| {
                a.routing_configuration
                    .iter()
                    .any(|x| x.state_machine_version_arn == arn)
            })
            .map(|a| a.name)
            .collect();
        if !referencing.is_empty() {
            return Err(ApiError::new(
                "ConflictException",
                format!(
                    "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                    referencing.join(", ")
                ),
            ));
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

    /// Checks a `routingConfiguration` as AWS does; returns its state machine and its routes.
    async fn check_routing(
        &self,
        sm_arn: Option<&str>,
        routing: &[Value],
    ) -> ApiResult<(String, Vec<Route>)> {
        if routing.is_empty() || routing.len() > 2 {
            return Err(ApiError::constraint(
                Shown::Withheld,
                "routingConfiguration",
                "Member must have length between 1 and 2",
            ));
        }
        let mut total = 0;
        let mut sm: Option<String> = sm_arn.map(str::to_string);
        let mut routes: Vec<Route> = Vec::new();
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
                return Err(ApiError::missing(
                    "routingConfiguration.member.stateMachineVersionArn",
                ));
            };
            let Some(w) = rt["weight"].as_u64().filter(|w| *w <= 100) else {
                return Err(ApiError::constraint(
                    Shown::Withheld,
                    "routingConfiguration.member.weight",
                    "Member must have value between 0 and 100",
                ));
            };
            total += w;
            let a = Arn::parse(v, &["stateMachine"]).map_err(|_| not_versions())?;
            if a.parts.len() != 2 || !a.parts[1].bytes().all(|c| c.is_ascii_digit()) {
                return Err(not_versions());
            }
            if routes.iter().any(|r| r.state_machine_version_arn == v) {
                return Err(ApiError::validation(
                    "Routing configuration must contain distinct state machine version ARNs",
                ));
            }
            routes.push(Route {
                state_machine_version_arn: v.to_string(),
                weight: w,
            });
            let base = a.state_machine();
            match &sm {
                Some(s) if *s != base => {
                    return Err(ApiError::validation(
                        "Routing configuration must contain state machine version ARNs of the same state machine",
                    ))
                }
                _ => sm = Some(base),
            }
            if self.find_version(v).await?.is_none() {
                return Err(not_found(v));
            }
        }
        if total != 100 {
            return Err(ApiError::validation(
                "Sum of routing configuration weights must equal 100",
            ));
        }
        Ok((sm.unwrap_or_default(), routes))
    }

    pub(crate) async fn create_alias(&self, r: Req) -> ApiResult<Value> {
        let name = r.str("name")?;
        let routing = r
            .opt_list("routingConfiguration")?
            .ok_or_else(|| ApiError::missing("routingConfiguration"))?;
        check_alias_name(&name)?;
        let (sm, routes) = self.check_routing(None, &routing).await?;
        self.sm(&sm).await?;
        let arn = format!("{sm}:{name}");
        let description = r.opt_str("description")?;
        if let Some(existing) = self.store.get_resource(ResourceKind::Alias, &arn).await? {
            let existing = AliasRecord::from_body(&arn, existing.body)?;
            if existing.routing_configuration == routes && existing.description == description {
                return Ok(
                    json!({"stateMachineAliasArn": arn, "creationDate": ts(existing.creation_date)}),
                );
            }
            return Err(ApiError::new(
                "ConflictException",
                "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
            ));
        }
        let now = wall_clock_ms();
        let alias = AliasRecord {
            arn: arn.clone(),
            name,
            sm_arn: sm.clone(),
            routing_configuration: routes,
            creation_date: now,
            update_date: now,
            description,
        };
        self.store
            .put_resource(&alias.to_resource(&arn, Some(&sm))?, false)
            .await?;
        Ok(json!({"stateMachineAliasArn": arn, "creationDate": ts(now)}))
    }

    /// An alias and its state machine's ARN, or `ResourceNotFound`.
    pub(crate) async fn alias(&self, arn: &str) -> ApiResult<(AliasRecord, String)> {
        let r = self
            .store
            .get_resource(ResourceKind::Alias, arn)
            .await?
            .ok_or_else(|| not_found(arn))?;
        let parent = r.parent.clone().unwrap_or_default();
        Ok((AliasRecord::from_body(arn, r.body)?, parent))
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
        let (a, _) = self.alias(&arn).await?;
        let mut out = json!({"stateMachineAliasArn": arn, "name": a.name,
            "routingConfiguration": a.routing_configuration, "creationDate": ts(a.creation_date),
            "updateDate": ts(a.update_date)});
        if let Some(d) = &a.description {
            out["description"] = json!(d);
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
        let (mut alias, sm) = self.alias(&arn).await?;
        if let Some(rt) = routing {
            alias.routing_configuration = self.check_routing(Some(&sm), &rt).await?.1;
        }
        if let Some(d) = description {
            alias.description = Some(d);
        }
        let now = wall_clock_ms();
        alias.update_date = now;
        self.store
            .put_resource(&alias.to_resource(&arn, Some(&sm))?, false)
            .await?;
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
            if self.find_version(&arn).await?.is_none() {
                return Err(not_found(&arn));
            }
        } else {
            self.sm(&base).await?;
        }
        let limit = r.max_results(100)?;
        let offset = r.offset()?;
        let all: Vec<AliasRecord> = self
            .aliases_of(&base)
            .await?
            .into_iter()
            .filter(|x| {
                a.parts.len() == 1
                    || x.routing_configuration
                        .iter()
                        .any(|e| e.state_machine_version_arn == arn)
            })
            .collect();
        let (items, next) = page(&all, offset, limit);
        let list: Vec<Value> = items
            .iter()
            .map(|x| json!({"stateMachineAliasArn": x.arn, "creationDate": ts(x.creation_date)}))
            .collect();
        let mut out = json!({"stateMachineAliases": list});
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }
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
