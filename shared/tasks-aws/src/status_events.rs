//! Execution status change events sent to an EventBridge bus with `events:PutEvents` through
//! the generic [`AwsCaller`]: the [`StatusEventSink`] both homes use when a bus is configured
//! (`STEPWISE_EVENT_BUS` for the functions, `stepwise serve --event-bus`).

use serde_json::{json, Value};
use stepwise_aws_api::{ApiCall, AwsCaller, AwsSettings};
use stepwise_ports::execution::StoreError;
use stepwise_ports::status_events::{StatusChange, StatusEventSink, DETAIL_TYPE, SOURCE};
use stepwise_ports::BoxFuture;

/// PutEvents takes at most 10 entries a call.
const MAX_ENTRIES: usize = 10;

/// Sends status change events to one bus.
#[derive(Clone)]
pub struct EventBridgeStatusEvents {
    caller: AwsCaller,
    bus: String,
    source: String,
}

impl EventBridgeStatusEvents {
    /// Events to `bus` (a name or ARN) with `source` (default [`SOURCE`]), sent where the SDK
    /// configuration says (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`), or to
    /// `endpoint_url` when given.
    pub async fn new(bus: String, source: Option<String>, endpoint_url: Option<String>) -> Self {
        let caller = AwsCaller::from_env(AwsSettings {
            region: None,
            endpoint_url,
        })
        .await;
        Self::with_caller(caller, bus, source)
    }

    /// Events to `bus` with `source` through `caller` (its endpoint and credentials).
    pub fn with_caller(caller: AwsCaller, bus: String, source: Option<String>) -> Self {
        EventBridgeStatusEvents {
            caller,
            bus,
            source: source.unwrap_or_else(|| SOURCE.to_string()),
        }
    }

    /// From `STEPWISE_EVENT_BUS` (and `STEPWISE_EVENT_SOURCE`), or `None` when no bus is set.
    pub async fn from_env() -> Option<Self> {
        let bus = std::env::var("STEPWISE_EVENT_BUS")
            .ok()
            .filter(|b| !b.is_empty())?;
        let source = std::env::var("STEPWISE_EVENT_SOURCE")
            .ok()
            .filter(|s| !s.is_empty());
        Some(Self::new(bus, source, None).await)
    }

    /// The PutEvents entry of one change.
    fn entry(&self, c: &StatusChange) -> Value {
        json!({
            "Source": self.source,
            "DetailType": DETAIL_TYPE,
            "Detail": c.detail.to_string(),
            "Resources": [c.execution_arn],
            "Time": c.at_ms as f64 / 1000.0,
            "EventBusName": self.bus,
        })
    }

    async fn put(&self, changes: &[StatusChange]) -> Result<(), StoreError> {
        for chunk in changes.chunks(MAX_ENTRIES) {
            let entries: Vec<Value> = chunk.iter().map(|c| self.entry(c)).collect();
            let input = json!({ "Entries": entries });
            let out = self
                .caller
                .call(ApiCall {
                    service: "events",
                    operation: "PutEvents",
                    input: &input,
                    region: None,
                })
                .await
                .map_err(|e| StoreError::Other(format!("EventBridge PutEvents failed: {e}")))?;
            let failed = out.output["FailedEntryCount"].as_u64().unwrap_or(0);
            if failed > 0 {
                return Err(StoreError::Other(format!(
                    "EventBridge PutEvents refused {failed} status change event(s): {}",
                    out.output["Entries"]
                )));
            }
        }
        Ok(())
    }
}

impl StatusEventSink for EventBridgeStatusEvents {
    fn publish<'a>(&'a self, changes: &'a [StatusChange]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.put(changes))
    }
}
