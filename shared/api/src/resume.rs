//! Stepwise's own actions beyond the Step Functions API, in the same awsJson protocol:
//!
//! - `ResumeExecution` (`executionArn`, `stateName`, optional `input`, `mapIterationIndex`,
//!   `includeSucceeded`): runs a FAILED, TIMED_OUT or ABORTED execution (SUCCEEDED with
//!   `includeSucceeded`) again from any state, with the input that state had in the recorded
//!   history or a new one, and the variables it had (see `stepwise_engine::resume`). Answers
//!   like RedriveExecution (`redriveDate`); the history gets an `ExecutionRedriven` event that
//!   names the state and whether the input was replaced.
//! - `StartExecutionFromState` (StartExecution's fields, plus `stateName` and an optional
//!   `sourceExecutionArn`): a new execution that starts at a top-level state. Without an
//!   `input` and with a source execution, the state's input is the one it had there. Its
//!   `ExecutionStarted` event records the state and the source.
//!
//! Errors are AWS's: `ExecutionDoesNotExist`, `ExecutionNotRedrivable` (running, succeeded,
//! express), `ValidationException` naming the state (unknown, never entered without an input,
//! nested too deep, a Map iteration missing), `InvalidExecutionInput`.

use crate::error::{ApiError, ApiResult, Shown};
use crate::req::{ts, Req};
use crate::{Service, MAX_PAYLOAD};
use serde_json::{json, Map, Value};
use stepwise_asl::model::Definition;
use stepwise_engine::resume::{plan, InnerPoint, ResumeError, ResumeRequest};
use stepwise_engine::{Event, HistoryEvent};
use stepwise_ports::api::ApiStore;
use stepwise_ports::execution::{Advanced, StoredExecution};

/// Where a new execution starts (beyond AWS).
pub(crate) struct StartPoint {
    /// A top-level state.
    pub state: String,
    /// The execution it came from, if any.
    pub source_execution_arn: Option<String>,
    /// The variables the state had there.
    pub variables: Option<Map<String, Value>>,
    /// Inside `state` (a Parallel or Map): the way down to the chosen state, planned from the
    /// source execution.
    pub inner: Option<InnerPoint>,
}

/// How many history events one read takes.
const HISTORY_PAGE: usize = 1000;

fn not_resumable(arn: &str, why: &str) -> ApiError {
    ApiError::new(
        "ExecutionNotRedrivable",
        format!("Execution with arn {arn} {why} and cannot be resumed"),
    )
}

/// `mapIterationIndex` (one enclosing Map) or `mapIterationIndexes` (one per enclosing Map,
/// outermost first), not both.
fn iteration_indexes(r: &Req) -> ApiResult<Vec<usize>> {
    let index = |field: &str, v: i64| {
        if v < 0 {
            Err(ApiError::constraint(
                Shown::Text(&v.to_string()),
                field,
                "Member must have value greater than or equal to 0",
            ))
        } else {
            Ok(v as usize)
        }
    };
    match (
        r.opt_i64("mapIterationIndex")?,
        r.opt_list("mapIterationIndexes")?,
    ) {
        (Some(_), Some(_)) => Err(ApiError::validation(
            "Give either mapIterationIndex or mapIterationIndexes, not both",
        )),
        (Some(i), None) => Ok(vec![index("mapIterationIndex", i)?]),
        (None, Some(list)) => list
            .iter()
            .map(|v| match v.as_i64() {
                Some(i) => index("mapIterationIndexes", i),
                None => Err(ApiError::validation(format!(
                    "mapIterationIndexes must hold integers, not {v}"
                ))),
            })
            .collect(),
        (None, None) => Ok(Vec::new()),
    }
}

fn resume_error(arn: &str, e: ResumeError) -> ApiError {
    match e {
        ResumeError::NotResumable(status) => not_resumable(arn, &format!("is {status}")),
        other => ApiError::validation(other.to_string()),
    }
}

/// A new execution may start at a top-level state of the definition only.
pub(crate) fn check_start_state(definition: &str, state: &str) -> ApiResult<()> {
    let def = parse_definition(definition)?;
    if def.root().states.iter().any(|s| *s.name == *state) {
        return Ok(());
    }
    let nested = def
        .machines
        .iter()
        .any(|m| m.states.iter().any(|s| *s.name == *state));
    Err(ApiError::validation(if nested {
        format!("State '{state}' is inside a Parallel or a Map: a new execution starts at a top-level state, or inside one from a source execution (sourceExecutionArn)")
    } else {
        format!("State '{state}' does not exist in the state machine")
    }))
}

fn parse_definition(text: &str) -> ApiResult<Definition> {
    Definition::from_json(text).map_err(|e| {
        ApiError::new(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", e.message),
        )
    })
}

/// A JSON input as StartExecution checks it.
fn parse_input(text: &str) -> ApiResult<Value> {
    if text.len() > MAX_PAYLOAD {
        return Err(ApiError::constraint(
            Shown::Withheld,
            "input",
            &format!("Member must have length less than or equal to {MAX_PAYLOAD}"),
        ));
    }
    stepwise_engine::deep::from_str(text).map_err(|e| {
        ApiError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{e}'"),
        )
    })
}

impl<S: ApiStore + 'static> Service<S> {
    /// The whole recorded history of an execution, in order.
    async fn full_history(&self, arn: &str) -> ApiResult<Vec<HistoryEvent>> {
        let mut all: Vec<HistoryEvent> = Vec::new();
        loop {
            let after = all.last().map(|e| e.id).unwrap_or(0);
            let page = self.store.history(arn, after, false, HISTORY_PAGE).await?;
            let n = page.len();
            all.extend(page);
            if n < HISTORY_PAGE {
                return Ok(all);
            }
        }
    }

    async fn definition_of(&self, ex: &StoredExecution) -> ApiResult<Definition> {
        let rev = self.revision(&ex.state_machine_arn, ex.revision).await?;
        parse_definition(&rev.definition)
    }

    pub(crate) async fn resume_execution(&self, r: Req) -> ApiResult<Value> {
        let arn = r.str("executionArn")?;
        let state = r.str("stateName")?;
        let input = r.opt_str("input")?.map(|t| parse_input(&t)).transpose()?;
        let indexes = iteration_indexes(&r)?;
        let include_succeeded = r.opt_bool("includeSucceeded")?.unwrap_or(false);
        let (row, ex) = self.execution(&arn).await?;
        if row.meta.kind == "EXPRESS" {
            return Err(not_resumable(&arn, "is an EXPRESS execution"));
        }
        let def = self.definition_of(&ex).await?;
        let history = self.full_history(&arn).await?;
        let req = ResumeRequest {
            state,
            input,
            map_iteration_indexes: indexes,
            include_succeeded,
        };
        let point = plan(&def, &ex.state, &history, &req).map_err(|e| resume_error(&arn, e))?;
        let now = self.driver.now_ms(&arn);
        let event = Event::Redrive {
            from_state: None,
            input: None,
            resume: Some(Box::new(point)),
        };
        match self.driver.apply(&arn, event).await? {
            Advanced::Committed { .. } => {
                let (_, ex) = self.execution(&arn).await?;
                Ok(json!({
                    "redriveDate": ts(ex.state.redrive_ms.unwrap_or(now)),
                    "redriveCount": ex.state.info.redrive_count,
                }))
            }
            _ => Err(not_resumable(&arn, "changed while resuming")),
        }
    }

    pub(crate) async fn start_execution_from_state(&self, r: Req) -> ApiResult<Value> {
        let sm = r.str("stateMachineArn")?;
        let state = r.str("stateName")?;
        let source = r.opt_str("sourceExecutionArn")?;
        let mut input = r.opt_str("input")?;
        let indexes = iteration_indexes(&r)?;
        let mut variables = None;
        let mut top_state = state.clone();
        let mut inner = None;
        if let Some(src) = &source {
            let (_, ex) = self.execution(src).await?;
            // The state's input (unless given) and variables in the source execution, as a
            // resume would take them; inside a Parallel or Map, the way down to it too.
            let def = self.definition_of(&ex).await?;
            if def
                .machines
                .iter()
                .any(|m| m.states.iter().any(|s| *s.name == *state))
            {
                let history = self.full_history(src).await?;
                let req = ResumeRequest {
                    state: state.clone(),
                    input: match &input {
                        Some(t) => Some(parse_input(t)?),
                        None => None,
                    },
                    map_iteration_indexes: indexes,
                    include_succeeded: true,
                };
                let mut recorded = ex.state.clone();
                recorded.status = stepwise_engine::Status::Failed;
                let point = plan(&def, &recorded, &history, &req).map_err(|e| match e {
                    ResumeError::NeedsInput(s) => ApiError::validation(format!(
                        "State '{s}' was never entered in execution {src}: give an input"
                    )),
                    other => resume_error(src, other),
                })?;
                // Inside: the execution's input is the enclosing top-level state's (the given
                // input is the chosen state's, in the plan).
                if input.is_none() || point.inner.is_some() {
                    input =
                        Some(stepwise_engine::deep::to_string(&point.input).unwrap_or_default());
                }
                variables = Some(point.variables);
                top_state = point.state;
                inner = point.inner;
            }
        }
        let at = StartPoint {
            state: top_state,
            source_execution_arn: source,
            variables,
            inner,
        };
        let (arn, start) = self
            .start_from(
                &sm,
                r.opt_str("name")?,
                input,
                r.opt_str("traceHeader")?,
                false,
                Some(at),
            )
            .await?;
        Ok(json!({"executionArn": arn, "startDate": ts(start)}))
    }
}
