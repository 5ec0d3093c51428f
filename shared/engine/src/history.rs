//! History events, shaped as GetExecutionHistory returns them.

use once_cell::race::OnceBox;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;
use stepwise_asl::errors;

mod packed;
pub use packed::{read_packed, PackMemo, PackedError};

/// One history event.
///
/// Its details are the `...EventDetails` object ([`HistoryEvent::details`]); its key in the API
/// response is derived from the event type (see [`HistoryEvent::details_key`]). An event the
/// engine records keeps its typed details and builds the JSON object only when it is first read
/// or stored: most of the cost of a state transition was building objects nobody read before
/// the store wrote them as text. Stored and API forms are unchanged.
///
/// 64 bytes: a long step's history is a Vec of these, copied as it grows and written once per
/// transition; at 120 bytes (the type's name and a 40-byte inline variant) those copies and
/// writes were a tenth of a Choice loop's time.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// 1-based, in order of the execution.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    details: Details,
}

/// An event's details: typed as the engine recorded them (their JSON object built once, when
/// first read, and kept), or as JSON (read back, or given). The type's name
/// ([`HistoryEvent::event_type`]) comes from the details.
#[derive(Debug, Clone)]
enum Details {
    /// A state's entry or plain exit, most of any history, inline: an allocation per event
    /// fewer than boxing every kind (whose largest variants are 200 bytes).
    State {
        /// The index in [`STATE_TYPES`].
        state_type: u8,
        exited: bool,
        name: Arc<str>,
        /// The input (entry) or output (exit) as JSON text.
        text: Arc<String>,
        json: OnceBox<Option<Value>>,
    },
    /// A state's start, success, failure or abort (Map, Parallel, Task, Wait): no details.
    Mark {
        /// The index in [`STATE_TYPES`].
        state_type: u8,
        /// The index in [`STATE_EVENT_SUFFIXES`] (2 to 5).
        event: u8,
    },
    /// A Map iteration's start, success, failure or abort ([`ITERATION_EVENTS`]' order): two
    /// of an inline Map's four events per item, inline too.
    Iteration {
        event: u8,
        name: Arc<str>,
        index: usize,
        json: OnceBox<Option<Value>>,
    },
    Other(Box<Other>),
    Json(Box<JsonDetails>),
}

/// A Map iteration's event, in the order of [`ITERATION_EVENTS`].
#[derive(Clone, Copy)]
pub(crate) enum IterationEvent {
    Started,
    Succeeded,
}

/// The events of a Map iteration, in the order of [`Details::Iteration`]'s `event`.
const ITERATION_EVENTS: [&str; 4] = [
    "MapIterationStarted",
    "MapIterationSucceeded",
    "MapIterationFailed",
    "MapIterationAborted",
];

/// Any other event the engine records.
#[derive(Debug, Clone)]
struct Other {
    kind: EventKind,
    event_type: Cow<'static, str>,
    json: OnceBox<Option<Value>>,
}

#[derive(Debug, Clone)]
struct JsonDetails {
    event_type: String,
    details: Option<Value>,
}

impl Details {
    fn of(kind: EventKind) -> Self {
        let (exited, state_type, name, text) = match kind {
            EventKind::StateEntered {
                state_type,
                name,
                input,
            } => (false, state_type, name, input),
            EventKind::StateExited {
                state_type,
                name,
                output,
                assigned: None,
            } => (true, state_type, name, output),
            EventKind::StateStarted { state_type } => {
                return Details::mark(state_type, StateEvent::Started)
            }
            EventKind::StateSucceeded { state_type } => {
                return Details::mark(state_type, StateEvent::Succeeded)
            }
            EventKind::StateFailed { state_type } => {
                return Details::mark(state_type, StateEvent::Failed)
            }
            EventKind::StateAborted { state_type } => {
                return Details::mark(state_type, StateEvent::Aborted)
            }
            EventKind::MapIterationStarted { name, index } => {
                return Details::iteration(0, name, index)
            }
            EventKind::MapIterationSucceeded { name, index } => {
                return Details::iteration(1, name, index)
            }
            EventKind::MapIterationFailed { name, index } => {
                return Details::iteration(2, name, index)
            }
            EventKind::MapIterationAborted { name, index } => {
                return Details::iteration(3, name, index)
            }
            other => return Details::other(other),
        };
        match state_type_index(state_type) {
            Some(i) => Details::state(i as u8, exited, name, Arc::new(text)),
            // Not one of the eight (tests make such events): kept as it came.
            None if exited => Details::other(EventKind::StateExited {
                state_type,
                name,
                output: text,
                assigned: None,
            }),
            None => Details::other(EventKind::StateEntered {
                state_type,
                name,
                input: text,
            }),
        }
    }

    #[inline]
    fn state(state_type: u8, exited: bool, name: Arc<str>, text: Arc<String>) -> Self {
        Details::State {
            state_type,
            exited,
            name,
            text,
            json: OnceBox::new(),
        }
    }

    /// A detail-less state event; kept whole ([`Details::other`]) for a type not among the eight.
    fn mark(state_type: &'static str, event: StateEvent) -> Self {
        match state_type_index(state_type) {
            Some(i) => Details::Mark {
                state_type: i as u8,
                event: event as u8,
            },
            None => Details::other(match event {
                StateEvent::Started => EventKind::StateStarted { state_type },
                StateEvent::Succeeded => EventKind::StateSucceeded { state_type },
                StateEvent::Failed => EventKind::StateFailed { state_type },
                _ => EventKind::StateAborted { state_type },
            }),
        }
    }

    fn iteration(event: u8, name: Arc<str>, index: usize) -> Self {
        Details::Iteration {
            event,
            name,
            index,
            json: OnceBox::new(),
        }
    }

    fn other(kind: EventKind) -> Self {
        Details::Other(Box::new(Other {
            event_type: kind.event_type(),
            kind,
            json: OnceBox::new(),
        }))
    }

    /// The engine's typed form (a state event's texts copied).
    fn to_kind(&self) -> Option<EventKind> {
        match self {
            Details::State {
                state_type,
                exited,
                name,
                text,
                ..
            } => {
                let state_type = STATE_TYPES[usize::from(*state_type)];
                let name = name.clone();
                let text = text.as_ref().clone();
                Some(if *exited {
                    EventKind::StateExited {
                        state_type,
                        name,
                        output: text,
                        assigned: None,
                    }
                } else {
                    EventKind::StateEntered {
                        state_type,
                        name,
                        input: text,
                    }
                })
            }
            Details::Mark { state_type, event } => {
                let state_type = STATE_TYPES[usize::from(*state_type)];
                Some(match event {
                    2 => EventKind::StateStarted { state_type },
                    3 => EventKind::StateSucceeded { state_type },
                    4 => EventKind::StateFailed { state_type },
                    _ => EventKind::StateAborted { state_type },
                })
            }
            Details::Iteration {
                event, name, index, ..
            } => {
                let (name, index) = (name.clone(), *index);
                Some(match event {
                    0 => EventKind::MapIterationStarted { name, index },
                    1 => EventKind::MapIterationSucceeded { name, index },
                    2 => EventKind::MapIterationFailed { name, index },
                    _ => EventKind::MapIterationAborted { name, index },
                })
            }
            Details::Other(o) => Some(o.kind.clone()),
            Details::Json(_) => None,
        }
    }
}

/// The stored form: `{"id", "previous_event_id", "timestamp_ms", "type", "details"}`.
#[derive(Serialize, Deserialize)]
struct Stored<T, D> {
    id: u64,
    previous_event_id: u64,
    timestamp_ms: i64,
    #[serde(rename = "type")]
    event_type: T,
    details: D,
}

impl Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The events of most transitions are written straight from their typed details, the
        // same text as their JSON object but without building it: building it was half of what
        // a serve commit cost.
        if let Some(direct) = Direct::of(&self.details) {
            return Stored {
                id: self.id,
                previous_event_id: self.previous_event_id,
                timestamp_ms: self.timestamp_ms,
                event_type: self.event_type(),
                details: direct,
            }
            .serialize(s);
        }
        if let Details::Iteration {
            name, index, json, ..
        } = &self.details
        {
            if json.get().is_none() {
                return Stored {
                    id: self.id,
                    previous_event_id: self.previous_event_id,
                    timestamp_ms: self.timestamp_ms,
                    event_type: self.event_type(),
                    details: IterationDetails {
                        name,
                        index: *index,
                    },
                }
                .serialize(s);
            }
        }
        Stored {
            id: self.id,
            previous_event_id: self.previous_event_id,
            timestamp_ms: self.timestamp_ms,
            event_type: self.event_type(),
            details: self.details(),
        }
        .serialize(s)
    }
}

/// The details of the commonest recorded events, a state's entry (`{"name", "input",
/// "inputDetails"}`) and its exit without assigned variables (`{"name", "output",
/// "outputDetails"}`), written in the order and shape [`EventKind::into_parts`] builds them
/// (a unit test holds the two the same) while their JSON object has not been built.
struct Direct<'a> {
    /// The index in [`STATE_TYPES`].
    state_type: u8,
    exited: bool,
    name: &'a Arc<str>,
    key: &'static str,
    text: &'a Arc<String>,
    details_key: &'static str,
}

impl<'a> Direct<'a> {
    fn of(details: &'a Details) -> Option<Self> {
        let Details::State {
            state_type,
            exited,
            name,
            text,
            json,
        } = details
        else {
            return None;
        };
        if json.get().is_some() {
            return None;
        }
        let (key, details_key) = if *exited {
            ("output", "outputDetails")
        } else {
            ("input", "inputDetails")
        };
        Some(Direct {
            state_type: *state_type,
            exited: *exited,
            name,
            key,
            text,
            details_key,
        })
    }
}

impl Serialize for Direct<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct NotTruncated;
        impl Serialize for NotTruncated {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("truncated", &false)?;
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("name", &**self.name)?;
        m.serialize_entry(self.key, self.text.as_str())?;
        m.serialize_entry(self.details_key, &NotTruncated)?;
        m.end()
    }
}

/// A Map iteration event's details, `{"name", "index"}`, written as [`EventKind::into_parts`]
/// builds them (a unit test holds the two the same).
struct IterationDetails<'a> {
    name: &'a str,
    index: usize,
}

impl Serialize for IterationDetails<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", self.name)?;
        m.serialize_entry("index", &self.index)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let st = Stored::<String, Option<Value>>::deserialize(d)?;
        Ok(HistoryEvent::new(
            st.id,
            st.previous_event_id,
            st.timestamp_ms,
            st.event_type,
            st.details,
        ))
    }
}

impl PartialEq for HistoryEvent {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.previous_event_id == other.previous_event_id
            && self.timestamp_ms == other.timestamp_ms
            && self.event_type() == other.event_type()
            && self.details() == other.details()
    }
}

impl HistoryEvent {
    /// An event with its details as JSON.
    pub fn new(
        id: u64,
        previous_event_id: u64,
        timestamp_ms: i64,
        event_type: String,
        details: Option<Value>,
    ) -> Self {
        HistoryEvent {
            id,
            previous_event_id,
            timestamp_ms,
            details: Details::Json(Box::new(JsonDetails {
                event_type,
                details,
            })),
        }
    }

    /// An event the engine records: its details are built when first read.
    pub(crate) fn recorded(
        id: u64,
        previous_event_id: u64,
        timestamp_ms: i64,
        kind: EventKind,
    ) -> Self {
        HistoryEvent {
            id,
            previous_event_id,
            timestamp_ms,
            details: Details::of(kind),
        }
    }

    /// A state's entry or plain exit (no assigned variables), the events of most transitions,
    /// built straight from its parts: through [`EventKind`] (200 bytes) it was moved twice more.
    /// `state_type` is the state's index in [`STATE_TYPES`] ([`stepwise_asl::State::type_index`]):
    /// finding it from the name was a twentieth of a Choice loop.
    #[inline]
    pub(crate) fn state_event(
        id: u64,
        previous_event_id: u64,
        timestamp_ms: i64,
        exited: bool,
        state_type: u8,
        name: Arc<str>,
        text: Arc<String>,
    ) -> Self {
        let details = if usize::from(state_type) < STATE_TYPES.len() {
            Details::state(state_type, exited, name, text)
        } else {
            // Not a state type: an event of no type rather than a panic.
            let text = Arc::unwrap_or_clone(text);
            Details::other(if exited {
                EventKind::StateExited {
                    state_type: "",
                    name,
                    output: text,
                    assigned: None,
                }
            } else {
                EventKind::StateEntered {
                    state_type: "",
                    name,
                    input: text,
                }
            })
        };
        HistoryEvent {
            id,
            previous_event_id,
            timestamp_ms,
            details,
        }
    }

    /// A Map iteration's event ([`ITERATION_EVENTS`]' index), two per item of an inline Map:
    /// built straight from its parts, as [`HistoryEvent::state_event`].
    #[inline]
    pub(crate) fn iteration_event(
        id: u64,
        previous_event_id: u64,
        timestamp_ms: i64,
        event: IterationEvent,
        name: Arc<str>,
        index: usize,
    ) -> Self {
        HistoryEvent {
            id,
            previous_event_id,
            timestamp_ms,
            details: Details::iteration(event as u8, name, index),
        }
    }

    /// AWS's event type, e.g. `PassStateEntered`.
    pub fn event_type(&self) -> &str {
        match &self.details {
            Details::State {
                state_type, exited, ..
            } => STATE_EVENT_NAMES[usize::from(*state_type)][usize::from(*exited)],
            Details::Mark { state_type, event } => {
                STATE_EVENT_NAMES[usize::from(*state_type)][usize::from(*event)]
            }
            Details::Iteration { event, .. } => ITERATION_EVENTS[usize::from(*event)],
            Details::Other(o) => &o.event_type,
            Details::Json(j) => &j.event_type,
        }
    }

    /// The text of a state's entry or exit recorded by the engine.
    #[cfg(test)]
    pub(crate) fn state_text(&self) -> Option<&Arc<String>> {
        match &self.details {
            Details::State { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The input text of a state's entry recorded by the engine.
    pub(crate) fn entered_text(&self) -> Option<&Arc<String>> {
        match &self.details {
            Details::State {
                exited: false,
                text,
                ..
            } => Some(text),
            _ => None,
        }
    }

    /// The details object, if the type has one.
    pub fn details(&self) -> Option<&Value> {
        let built = |d: &Details| Box::new(d.to_kind().and_then(|k| k.into_parts().1));
        match &self.details {
            Details::State { json, .. } | Details::Iteration { json, .. } => {
                json.get_or_init(|| built(&self.details)).as_ref()
            }
            Details::Other(o) => o.json.get_or_init(|| built(&self.details)).as_ref(),
            Details::Mark { .. } => None,
            Details::Json(j) => j.details.as_ref(),
        }
    }

    /// Replaces the details object.
    pub fn set_details(&mut self, details: Option<Value>) {
        self.details = Details::Json(Box::new(JsonDetails {
            event_type: self.event_type().to_string(),
            details,
        }));
    }

    /// The key AWS puts the details under: `PassStateEntered` -> `stateEnteredEventDetails`,
    /// `TaskScheduled` -> `taskScheduledEventDetails`, `MapIterationStarted` ->
    /// `mapIterationStartedEventDetails`.
    pub fn details_key(&self) -> String {
        let t = self.event_type();
        for suffix in ["StateEntered", "StateExited"] {
            if let Some(prefix) = t.strip_suffix(suffix) {
                if is_state_type(prefix) {
                    return format!("state{}EventDetails", &suffix[5..]);
                }
            }
        }
        let mut chars = t.chars();
        match chars.next() {
            Some(c) => format!("{}{}EventDetails", c.to_ascii_lowercase(), chars.as_str()),
            None => "eventDetails".into(),
        }
    }

    /// The event as the API returns it (timestamp in epoch seconds, details under their key).
    pub fn to_api_json(&self, include_data: bool) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            serde_json::json!(self.timestamp_ms as f64 / 1000.0),
        );
        m.insert("type".into(), Value::String(self.event_type().to_string()));
        m.insert("id".into(), Value::from(self.id));
        m.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let Some(d) = self.details() {
            let mut d = d.clone();
            if !include_data {
                if let Value::Object(o) = &mut d {
                    for k in ["input", "output", "parameters", "result"] {
                        if o.remove(k).is_some() {
                            o.remove(&format!("{k}Details"));
                        }
                    }
                }
            }
            m.insert(self.details_key(), d);
        }
        Value::Object(m)
    }
}

/// What the engine records, with typed details: each variant becomes one [`HistoryEvent`] whose
/// type and details are exactly AWS's (the stored and API forms stay those of `HistoryEvent`).
///
/// Payload texts (`input`, `output`, `parameters`) are carried as the JSON text already
/// measured against the payload quota, so a payload is serialized once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventKind {
    /// `started_at`: a new execution started at a state (beyond AWS): the state and the
    /// execution it came from; recorded as extra details only then. AWS's details have no
    /// `stateMachineArn`, so neither do these.
    ExecutionStarted {
        input: String,
        role_arn: String,
        started_at: Option<(String, Option<String>)>,
    },
    /// `resumed`: a resume (beyond AWS); a plain redrive has AWS's details only.
    ExecutionRedriven {
        redrive_count: u32,
        resumed: Option<Resumed>,
    },
    ExecutionSucceeded {
        output: String,
    },
    /// Each part only when present.
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    /// Each part only when present.
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut,
    /// `{state_type}StateEntered`.
    StateEntered {
        state_type: &'static str,
        name: Arc<str>,
        input: String,
    },
    /// `{state_type}StateExited`; `assigned` holds each assigned variable's JSON text.
    StateExited {
        state_type: &'static str,
        name: Arc<str>,
        output: String,
        assigned: Option<Map<String, Value>>,
    },
    /// `{state_type}StateStarted` (Parallel; Map has [`EventKind::MapStateStarted`]).
    StateStarted {
        state_type: &'static str,
    },
    /// `{state_type}StateSucceeded` (Map, Parallel).
    StateSucceeded {
        state_type: &'static str,
    },
    /// `{state_type}StateFailed` (Map, Parallel).
    StateFailed {
        state_type: &'static str,
    },
    /// `{state_type}StateAborted` (Task, Wait, Map, Parallel): the state was left unfinished
    /// because the branch or iteration it runs in was stopped.
    StateAborted {
        state_type: &'static str,
    },
    MapStateStarted {
        length: usize,
    },
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    /// The map run stopped with its parent (StopExecution); AWS gives it no details.
    MapRunAborted,
    /// A failed map run runs again with its parent's redrive (its failed and pending children).
    MapRunRedriven {
        map_run_arn: String,
        redrive_count: u32,
    },
    MapRunFailed {
        error: String,
        cause: String,
    },
    MapIterationStarted {
        name: Arc<str>,
        index: usize,
    },
    MapIterationSucceeded {
        name: Arc<str>,
        index: usize,
    },
    MapIterationFailed {
        name: Arc<str>,
        index: usize,
    },
    /// A sibling iteration failed and the Map stopped this one.
    MapIterationAborted {
        name: Arc<str>,
        index: usize,
    },
    EvaluationFailed {
        error: String,
        cause: String,
        state: String,
        location: Option<String>,
    },
    TaskScheduled {
        resource: ServiceResource,
        region: String,
        parameters: String,
        timeout_s: Option<u64>,
        heartbeat_s: Option<u64>,
        role_arn: Option<Value>,
    },
    TaskStarted {
        resource: ServiceResource,
    },
    TaskSubmitted {
        resource: ServiceResource,
        output: String,
    },
    TaskSucceeded {
        resource: ServiceResource,
        output: String,
    },
    TaskFailed {
        resource: ServiceResource,
        error: String,
        cause: String,
    },
    TaskTimedOut {
        resource: ServiceResource,
        error: String,
    },
    LambdaFunctionScheduled {
        resource: String,
        input: String,
        timeout_s: Option<u64>,
        role_arn: Option<Value>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: String,
    },
    LambdaFunctionFailed {
        error: String,
        cause: String,
    },
    LambdaFunctionTimedOut {
        error: String,
    },
    ActivityScheduled {
        resource: String,
        input: String,
        timeout_s: Option<u64>,
        heartbeat_s: Option<u64>,
    },
    ActivityStarted {
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        output: String,
    },
    ActivityFailed {
        error: String,
        cause: String,
    },
    ActivityTimedOut {
        error: String,
    },
}

/// Where a resume restarted, as its ExecutionRedriven event records it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resumed {
    pub(crate) state_name: String,
    pub(crate) input_replaced: bool,
    pub(crate) branch_index: Option<usize>,
    pub(crate) map_iteration_index: Option<usize>,
}

/// A service integration as AWS names it in task events: `lambda` and `invoke` for
/// `arn:aws:states:::lambda:invoke`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceResource {
    pub(crate) resource_type: String,
    pub(crate) resource: String,
}

/// A details object from its fields in order, moving each value in (payload texts can be
/// large: they are not copied again).
macro_rules! object {
    ([$(($k:literal, $v:expr)),* $(,)?]) => {{
        #[allow(unused_mut)] // `object!([])` has nothing to insert
        let mut m = Map::new();
        $(m.insert(String::from($k), $v);)*
        Value::Object(m)
    }};
}

/// `{"truncated": false}`: Stepwise never truncates a payload in history.
fn not_truncated() -> Value {
    object!([("truncated", Value::Bool(false))])
}

/// Inserts `key` when there is a value.
fn insert_some(d: &mut Value, key: &str, v: Option<Value>) {
    if let (Value::Object(m), Some(v)) = (d, v) {
        m.insert(key.to_string(), v);
    }
}

fn text(s: String) -> Value {
    Value::String(s)
}

/// `{"error", "cause"}` with each part only when present.
fn error_and_cause(error: Option<String>, cause: Option<String>) -> Value {
    let mut d = object!([]);
    insert_some(&mut d, "error", error.map(text));
    insert_some(&mut d, "cause", cause.map(text));
    d
}

/// The events a state records under its own type's name, in [`STATE_EVENT_SUFFIXES`]' order.
#[derive(Clone, Copy)]
enum StateEvent {
    Entered,
    Exited,
    Started,
    Succeeded,
    Failed,
    Aborted,
}

const STATE_EVENT_SUFFIXES: [&str; 6] = [
    "StateEntered",
    "StateExited",
    "StateStarted",
    "StateSucceeded",
    "StateFailed",
    "StateAborted",
];

/// The eight state types, in the order of [`STATE_EVENT_NAMES`] (and of a packed page's state
/// type byte).
pub(crate) const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// A state type's index in [`STATE_TYPES`]: told apart by length and first letter (this runs for
/// every state event: matching the names one by one was 3% of a Choice loop), then checked.
pub(crate) fn state_type_index(t: &str) -> Option<usize> {
    let i = match (t.len(), t.as_bytes().first()?) {
        (4, b'P') => 0,
        (4, b'T') => 1,
        (6, _) => 2,
        (4, b'W') => 3,
        (7, _) => 4,
        (4, b'F') => 5,
        (8, _) => 6,
        (3, _) => 7,
        _ => return None,
    };
    (STATE_TYPES[i] == t).then_some(i)
}

/// Every state type's event names, spelled out once so that recording one allocates nothing.
macro_rules! state_event_names {
    ($($t:literal),*) => {
        const STATE_EVENT_NAMES: [[&str; 6]; 8] = [$([
            concat!($t, "StateEntered"),
            concat!($t, "StateExited"),
            concat!($t, "StateStarted"),
            concat!($t, "StateSucceeded"),
            concat!($t, "StateFailed"),
            concat!($t, "StateAborted"),
        ]),*];
    };
}
state_event_names!("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map");

fn state_event_type(state_type: &str, e: StateEvent) -> Option<&'static str> {
    Some(STATE_EVENT_NAMES[state_type_index(state_type)?][e as usize])
}

/// `{state_type}{suffix}`, from the static table for the eight state types.
fn state_event_name(state_type: &str, suffix: StateEvent) -> Cow<'static, str> {
    match state_event_type(state_type, suffix) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(format!(
            "{state_type}{}",
            STATE_EVENT_SUFFIXES[suffix as usize]
        )),
    }
}

impl EventKind {
    /// AWS's event type (the type [`EventKind::into_parts`] gives), without building details.
    pub(crate) fn event_type(&self) -> Cow<'static, str> {
        use EventKind::*;
        let state = state_event_name;
        let plain = match self {
            StateEntered { state_type, .. } => return state(state_type, StateEvent::Entered),
            StateExited { state_type, .. } => return state(state_type, StateEvent::Exited),
            StateStarted { state_type } => return state(state_type, StateEvent::Started),
            StateSucceeded { state_type } => return state(state_type, StateEvent::Succeeded),
            StateFailed { state_type } => return state(state_type, StateEvent::Failed),
            StateAborted { state_type } => return state(state_type, StateEvent::Aborted),
            ExecutionStarted { .. } => "ExecutionStarted",
            ExecutionRedriven { .. } => "ExecutionRedriven",
            ExecutionSucceeded { .. } => "ExecutionSucceeded",
            ExecutionFailed { .. } => "ExecutionFailed",
            ExecutionAborted { .. } => "ExecutionAborted",
            ExecutionTimedOut => "ExecutionTimedOut",
            MapStateStarted { .. } => "MapStateStarted",
            MapRunStarted { .. } => "MapRunStarted",
            MapRunRedriven { .. } => "MapRunRedriven",
            MapRunSucceeded => "MapRunSucceeded",
            MapRunAborted => "MapRunAborted",
            MapRunFailed { .. } => "MapRunFailed",
            MapIterationStarted { .. } => "MapIterationStarted",
            MapIterationSucceeded { .. } => "MapIterationSucceeded",
            MapIterationFailed { .. } => "MapIterationFailed",
            MapIterationAborted { .. } => "MapIterationAborted",
            EvaluationFailed { .. } => "EvaluationFailed",
            TaskScheduled { .. } => "TaskScheduled",
            TaskStarted { .. } => "TaskStarted",
            TaskSubmitted { .. } => "TaskSubmitted",
            TaskSucceeded { .. } => "TaskSucceeded",
            TaskFailed { .. } => "TaskFailed",
            TaskTimedOut { .. } => "TaskTimedOut",
            LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled",
            LambdaFunctionStarted => "LambdaFunctionStarted",
            LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded",
            LambdaFunctionFailed { .. } => "LambdaFunctionFailed",
            LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut",
            ActivityScheduled { .. } => "ActivityScheduled",
            ActivityStarted { .. } => "ActivityStarted",
            ActivitySucceeded { .. } => "ActivitySucceeded",
            ActivityFailed { .. } => "ActivityFailed",
            ActivityTimedOut { .. } => "ActivityTimedOut",
        };
        Cow::Borrowed(plain)
    }

    /// AWS's event type and details object. Keys are in AWS's order, which the stored form keeps.
    pub(crate) fn into_parts(self) -> (String, Option<Value>) {
        use EventKind::*;
        let (ty, details): (Cow<'static, str>, Option<Value>) = match self {
            ExecutionStarted {
                input,
                role_arn,
                started_at,
            } => {
                let mut d = object!([
                    ("input", text(input)),
                    ("inputDetails", not_truncated()),
                    ("roleArn", text(role_arn)),
                ]);
                if let Some((state, source)) = started_at {
                    insert_some(&mut d, "startAt", Some(text(state)));
                    insert_some(&mut d, "sourceExecutionArn", source.map(text));
                }
                ("ExecutionStarted".into(), Some(d))
            }
            ExecutionRedriven {
                redrive_count,
                resumed,
            } => {
                let mut d = object!([("redriveCount", Value::from(redrive_count))]);
                if let Some(r) = resumed {
                    insert_some(&mut d, "stateName", Some(text(r.state_name)));
                    insert_some(&mut d, "inputReplaced", Some(Value::Bool(r.input_replaced)));
                    insert_some(&mut d, "branchIndex", r.branch_index.map(Value::from));
                    insert_some(
                        &mut d,
                        "mapIterationIndex",
                        r.map_iteration_index.map(Value::from),
                    );
                }
                ("ExecutionRedriven".into(), Some(d))
            }
            ExecutionSucceeded { output } => (
                "ExecutionSucceeded".into(),
                Some(object!([
                    ("output", text(output)),
                    ("outputDetails", not_truncated()),
                ])),
            ),
            ExecutionFailed { error, cause } => (
                "ExecutionFailed".into(),
                Some(error_and_cause(error, cause)),
            ),
            ExecutionAborted { error, cause } => (
                "ExecutionAborted".into(),
                Some(error_and_cause(error, cause)),
            ),
            ExecutionTimedOut => (
                "ExecutionTimedOut".into(),
                Some(error_and_cause(
                    Some(errors::TIMEOUT.into()),
                    Some("The execution timed out".into()),
                )),
            ),
            StateEntered {
                state_type,
                name,
                input,
            } => (
                format!("{state_type}StateEntered").into(),
                Some(object!([
                    ("name", text(name.to_string())),
                    ("input", text(input)),
                    ("inputDetails", not_truncated()),
                ])),
            ),
            StateExited {
                state_type,
                name,
                output,
                assigned,
            } => {
                let mut d = object!([
                    ("name", text(name.to_string())),
                    ("output", text(output)),
                    ("outputDetails", not_truncated()),
                ]);
                if let Some(vars) = assigned {
                    insert_some(&mut d, "assignedVariables", Some(Value::Object(vars)));
                    insert_some(&mut d, "assignedVariablesDetails", Some(not_truncated()));
                }
                (format!("{state_type}StateExited").into(), Some(d))
            }
            StateStarted { state_type } => (format!("{state_type}StateStarted").into(), None),
            StateSucceeded { state_type } => (format!("{state_type}StateSucceeded").into(), None),
            StateFailed { state_type } => (format!("{state_type}StateFailed").into(), None),
            StateAborted { state_type } => (format!("{state_type}StateAborted").into(), None),
            MapStateStarted { length } => (
                "MapStateStarted".into(),
                Some(object!([("length", Value::from(length))])),
            ),
            MapRunStarted { map_run_arn } => (
                "MapRunStarted".into(),
                Some(object!([("mapRunArn", text(map_run_arn))])),
            ),
            MapRunSucceeded => ("MapRunSucceeded".into(), None),
            MapRunAborted => ("MapRunAborted".into(), None),
            MapRunRedriven {
                map_run_arn,
                redrive_count,
            } => (
                "MapRunRedriven".into(),
                Some(object!([
                    ("mapRunArn", text(map_run_arn)),
                    ("redriveCount", Value::from(redrive_count))
                ])),
            ),
            MapRunFailed { error, cause } => (
                "MapRunFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            MapIterationStarted { name, index } => {
                ("MapIterationStarted".into(), Some(iteration(name, index)))
            }
            MapIterationSucceeded { name, index } => {
                ("MapIterationSucceeded".into(), Some(iteration(name, index)))
            }
            MapIterationFailed { name, index } => {
                ("MapIterationFailed".into(), Some(iteration(name, index)))
            }
            MapIterationAborted { name, index } => {
                ("MapIterationAborted".into(), Some(iteration(name, index)))
            }
            EvaluationFailed {
                error,
                cause,
                state,
                location,
            } => {
                let mut d = object!([
                    ("error", text(error)),
                    ("cause", text(cause)),
                    ("state", text(state)),
                ]);
                insert_some(&mut d, "location", location.map(text));
                ("EvaluationFailed".into(), Some(d))
            }
            TaskScheduled {
                resource,
                region,
                parameters,
                timeout_s,
                heartbeat_s,
                role_arn,
            } => {
                let mut d = object!([
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource)),
                    ("region", text(region)),
                    ("parameters", text(parameters)),
                ]);
                insert_some(&mut d, "timeoutInSeconds", timeout_s.map(Value::from));
                insert_some(&mut d, "heartbeatInSeconds", heartbeat_s.map(Value::from));
                insert_some(
                    &mut d,
                    "taskCredentials",
                    role_arn.map(|r| object!([("roleArn", r)])),
                );
                ("TaskScheduled".into(), Some(d))
            }
            TaskStarted { resource } => (
                "TaskStarted".into(),
                Some(object!([
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource))
                ])),
            ),
            TaskSubmitted { resource, output } => (
                "TaskSubmitted".into(),
                Some(service_output(resource, output)),
            ),
            TaskSucceeded { resource, output } => (
                "TaskSucceeded".into(),
                Some(service_output(resource, output)),
            ),
            TaskFailed {
                resource,
                error,
                cause,
            } => (
                "TaskFailed".into(),
                Some(object!([
                    ("error", text(error)),
                    ("cause", text(cause)),
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource)),
                ])),
            ),
            // AWS records no cause for a timeout.
            TaskTimedOut { resource, error } => (
                "TaskTimedOut".into(),
                Some(object!([
                    ("error", text(error)),
                    ("resourceType", text(resource.resource_type)),
                    ("resource", text(resource.resource))
                ])),
            ),
            LambdaFunctionScheduled {
                resource,
                input,
                timeout_s,
                role_arn,
            } => {
                let mut d = object!([
                    ("resource", text(resource)),
                    ("input", text(input)),
                    ("inputDetails", not_truncated()),
                ]);
                insert_some(&mut d, "timeoutInSeconds", timeout_s.map(Value::from));
                insert_some(
                    &mut d,
                    "taskCredentials",
                    role_arn.map(|r| object!([("roleArn", r)])),
                );
                ("LambdaFunctionScheduled".into(), Some(d))
            }
            LambdaFunctionStarted => ("LambdaFunctionStarted".into(), None),
            LambdaFunctionSucceeded { output } => {
                ("LambdaFunctionSucceeded".into(), Some(output_only(output)))
            }
            LambdaFunctionFailed { error, cause } => (
                "LambdaFunctionFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            LambdaFunctionTimedOut { error } => (
                "LambdaFunctionTimedOut".into(),
                Some(error_and_cause(Some(error), None)),
            ),
            ActivityScheduled {
                resource,
                input,
                timeout_s,
                heartbeat_s,
            } => {
                let mut d = object!([
                    ("resource", text(resource)),
                    ("input", text(input)),
                    ("inputDetails", not_truncated()),
                ]);
                insert_some(&mut d, "timeoutInSeconds", timeout_s.map(Value::from));
                insert_some(&mut d, "heartbeatInSeconds", heartbeat_s.map(Value::from));
                ("ActivityScheduled".into(), Some(d))
            }
            // AWS records empty details when the worker gave no name.
            ActivityStarted { worker_name } => {
                let mut d = object!([]);
                insert_some(&mut d, "workerName", worker_name.map(text));
                ("ActivityStarted".into(), Some(d))
            }
            ActivitySucceeded { output } => ("ActivitySucceeded".into(), Some(output_only(output))),
            ActivityFailed { error, cause } => (
                "ActivityFailed".into(),
                Some(error_and_cause(Some(error), Some(cause))),
            ),
            ActivityTimedOut { error } => (
                "ActivityTimedOut".into(),
                Some(error_and_cause(Some(error), None)),
            ),
        };
        (ty.into_owned(), details)
    }
}

/// `{"name", "index"}` of a Map iteration's events.
fn iteration(name: Arc<str>, index: usize) -> Value {
    object!([
        ("name", text(name.to_string())),
        ("index", Value::from(index))
    ])
}

/// `{"output", "outputDetails"}`.
fn output_only(output: String) -> Value {
    object!([("output", text(output)), ("outputDetails", not_truncated())])
}

/// A service integration's result: the integration, then the output.
fn service_output(resource: ServiceResource, output: String) -> Value {
    object!([
        ("resourceType", text(resource.resource_type)),
        ("resource", text(resource.resource)),
        ("output", text(output)),
        ("outputDetails", not_truncated()),
    ])
}

fn is_state_type(prefix: &str) -> bool {
    matches!(
        prefix,
        "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: &str) -> HistoryEvent {
        HistoryEvent::new(1, 0, 0, t.into(), None)
    }

    /// A recorded event reads, compares, writes and reads back as the same JSON its typed
    /// details make, and its type is the one they give.
    /// An iteration event built from its parts is the one its kind makes.
    #[test]
    fn iteration_events_from_parts_are_their_kinds() {
        let name: Arc<str> = "M".into();
        for (event, kind) in [
            (
                IterationEvent::Started,
                EventKind::MapIterationStarted {
                    name: name.clone(),
                    index: 4,
                },
            ),
            (
                IterationEvent::Succeeded,
                EventKind::MapIterationSucceeded {
                    name: name.clone(),
                    index: 4,
                },
            ),
        ] {
            let e = HistoryEvent::iteration_event(3, 2, 1, event, name.clone(), 4);
            assert_eq!(e.event_type(), kind.event_type());
            assert_eq!(e, HistoryEvent::recorded(3, 2, 1, kind));
        }
    }

    /// A long step's history is a Vec of events copied as it grows: they stay small.
    #[test]
    fn an_event_is_64_bytes() {
        assert_eq!(std::mem::size_of::<HistoryEvent>(), 64);
    }

    /// A state event made from its state's type index has the type's name, as one made from
    /// its kind has; a state type's index is its `State::type_index`.
    #[test]
    fn state_events_are_named_by_their_type_index() {
        let def = stepwise_asl::model::Definition::from_json(
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"C"},
               "C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"P"}],
                    "Default":"M"},
               "M":{"Type":"Map","ItemProcessor":{"StartAt":"S","States":{"S":{"Type":"Succeed"}}},
                    "Next":"W"},
               "W":{"Type":"Wait","Seconds":1,"Next":"L"},
               "L":{"Type":"Parallel","Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail"}}}],
                    "Next":"T"},
               "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}"#,
        )
        .expect("a definition");
        for st in def.machines.iter().flat_map(|m| &m.states) {
            let i = st.type_index();
            assert_eq!(STATE_TYPES[usize::from(i)], st.type_name());
            for exited in [false, true] {
                let e = HistoryEvent::state_event(1, 0, 0, exited, i, "x".into(), Arc::default());
                let kind = if exited {
                    EventKind::StateExited {
                        state_type: st.type_name(),
                        name: "x".into(),
                        output: String::new(),
                        assigned: None,
                    }
                } else {
                    EventKind::StateEntered {
                        state_type: st.type_name(),
                        name: "x".into(),
                        input: String::new(),
                    }
                };
                assert_eq!(e.event_type(), kind.event_type());
                assert_eq!(e, HistoryEvent::recorded(1, 0, 0, kind));
            }
        }
        // A byte that is no state type makes an event, not a panic.
        let e = HistoryEvent::state_event(1, 0, 0, false, 200, "x".into(), Arc::default());
        assert_eq!(e.event_type(), "StateEntered");
    }

    /// Every state type's events have their spelled-out names, the ones its type and suffix
    /// make; a type the table lacks still gets its name.
    #[test]
    fn state_event_types_are_type_and_suffix() {
        let types = [
            "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
        ];
        let events = [
            StateEvent::Entered,
            StateEvent::Exited,
            StateEvent::Started,
            StateEvent::Succeeded,
            StateEvent::Failed,
            StateEvent::Aborted,
        ];
        for t in types {
            assert!(is_state_type(t));
            for e in events {
                let want = format!("{t}{}", STATE_EVENT_SUFFIXES[e as usize]);
                assert_eq!(state_event_type(t, e), Some(want.as_str()));
            }
        }
        assert_eq!(state_event_type("Other", StateEvent::Entered), None);
        let kind = EventKind::StateSucceeded {
            state_type: "Other",
        };
        assert_eq!(kind.event_type(), "OtherStateSucceeded");
        let kind = EventKind::StateExited {
            state_type: "Map",
            name: "M".into(),
            output: "{}".into(),
            assigned: None,
        };
        assert!(matches!(kind.event_type(), Cow::Borrowed("MapStateExited")));
    }

    #[test]
    fn recorded_events_render_when_read() {
        let kinds = [
            EventKind::StateEntered {
                state_type: "Pass",
                name: "P".into(),
                input: "{\"a\":1}".into(),
            },
            EventKind::MapIterationStarted {
                name: "M".into(),
                index: 3,
            },
            EventKind::StateSucceeded { state_type: "Map" },
            EventKind::StateStarted {
                state_type: "Parallel",
            },
            EventKind::StateFailed {
                state_type: "Parallel",
            },
            EventKind::StateAborted { state_type: "Wait" },
            EventKind::StateSucceeded {
                state_type: "Other",
            },
            EventKind::ExecutionTimedOut,
        ];
        for kind in kinds {
            let (ty, details) = kind.clone().into_parts();
            let e = HistoryEvent::recorded(2, 1, 5, kind);
            assert_eq!(e.event_type(), ty);
            assert_eq!(e.details(), details.as_ref());
            let plain = HistoryEvent::new(2, 1, 5, ty.clone(), details.clone());
            assert_eq!(e, plain);
            let text = serde_json::to_string(&e).expect("writes");
            assert_eq!(text, serde_json::to_string(&plain).expect("writes"));
            let back: HistoryEvent = serde_json::from_str(&text).expect("reads");
            assert_eq!(back, e);
            assert!(text.contains("\"type\":"), "{text}");
        }
    }

    /// Events written straight from their typed details ([`Direct`]) are the same text as
    /// those written from the JSON object they make.
    #[test]
    fn events_written_directly_are_written_as_their_details_object() {
        let mut vars = Map::new();
        vars.insert("x".into(), Value::String("1".into()));
        let kinds = [
            EventKind::StateEntered {
                state_type: "Pass",
                name: "P \"quoted\" \u{e9}".into(),
                input: "{\"a\":\"line\\nbreak\"}".into(),
            },
            EventKind::StateExited {
                state_type: "Task",
                name: "T".into(),
                output: "[1,2]".into(),
                assigned: None,
            },
            EventKind::StateExited {
                state_type: "Pass",
                name: "P".into(),
                output: "{}".into(),
                assigned: Some(vars),
            },
            EventKind::MapIterationStarted {
                name: "M \"q\"".into(),
                index: 0,
            },
            EventKind::MapIterationSucceeded {
                name: "M".into(),
                index: usize::MAX,
            },
            EventKind::MapIterationFailed {
                name: "M".into(),
                index: 7,
            },
            EventKind::MapIterationAborted {
                name: "\u{e9}".into(),
                index: 8,
            },
        ];
        for kind in kinds {
            let (ty, details) = kind.clone().into_parts();
            let fresh = HistoryEvent::recorded(7, 6, 5, kind.clone());
            // Its type and details as its kind makes them, once built.
            let read = HistoryEvent::recorded(7, 6, 5, kind);
            assert_eq!(read.event_type(), ty);
            assert_eq!(read.details(), details.as_ref());
            let plain = HistoryEvent::new(7, 6, 5, ty, details);
            assert_eq!(
                serde_json::to_string(&fresh).expect("writes"),
                serde_json::to_string(&plain).expect("writes")
            );
        }
    }

    #[test]
    fn details_keys_follow_aws_names() {
        for (t, k) in [
            ("PassStateEntered", "stateEnteredEventDetails"),
            ("MapStateExited", "stateExitedEventDetails"),
            ("TaskScheduled", "taskScheduledEventDetails"),
            ("ExecutionStarted", "executionStartedEventDetails"),
            ("MapIterationStarted", "mapIterationStartedEventDetails"),
            ("MapStateStarted", "mapStateStartedEventDetails"),
            ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
            ("EvaluationFailed", "evaluationFailedEventDetails"),
        ] {
            assert_eq!(ev(t).details_key(), k, "{t}");
        }
    }
}
