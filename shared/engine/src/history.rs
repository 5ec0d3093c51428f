//! History events, shaped as GetExecutionHistory returns them.

use once_cell::race::OnceBox;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

mod packed;
mod text;
pub use packed::{read_packed, PackMemo, PackedError};
pub use text::PayloadText;
pub(crate) use text::{member_key, DEFERRED_MIN_BYTES};

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
        text: PayloadText,
        json: OnceBox<Option<Value>>,
    },
    /// A state's start, success, failure or abort (Map, Parallel, Task, Wait): no details.
    Mark {
        /// The index in [`STATE_TYPES`].
        state_type: u8,
        /// Started, Succeeded, Failed or Aborted.
        event: StateEvent,
    },
    /// A Map iteration's start, success, failure or abort: two of an inline Map's four events
    /// per item, inline too.
    Iteration {
        event: IterationEvent,
        name: Arc<str>,
        index: usize,
        json: OnceBox<Option<Value>>,
    },
    Other(Box<Other>),
    Json(Box<JsonDetails>),
}

/// A Map iteration's event, in the order of [`ITERATION_EVENTS`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum IterationEvent {
    Started,
    Succeeded,
    Failed,
    Aborted,
}

impl IterationEvent {
    fn kind(self, name: Arc<str>, index: usize) -> EventKind {
        match self {
            IterationEvent::Started => EventKind::MapIterationStarted { name, index },
            IterationEvent::Succeeded => EventKind::MapIterationSucceeded { name, index },
            IterationEvent::Failed => EventKind::MapIterationFailed { name, index },
            IterationEvent::Aborted => EventKind::MapIterationAborted { name, index },
        }
    }
}

/// The events of a Map iteration, in the order of [`IterationEvent`].
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

/// A state's detail-less event as its kind (Entered and Exited carry details: not these).
fn mark_kind(state_type: &'static str, event: StateEvent) -> EventKind {
    match event {
        StateEvent::Started => EventKind::StateStarted { state_type },
        StateEvent::Succeeded => EventKind::StateSucceeded { state_type },
        StateEvent::Failed => EventKind::StateFailed { state_type },
        StateEvent::Entered | StateEvent::Exited | StateEvent::Aborted => {
            EventKind::StateAborted { state_type }
        }
    }
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
                return Details::iteration(IterationEvent::Started, name, index)
            }
            EventKind::MapIterationSucceeded { name, index } => {
                return Details::iteration(IterationEvent::Succeeded, name, index)
            }
            EventKind::MapIterationFailed { name, index } => {
                return Details::iteration(IterationEvent::Failed, name, index)
            }
            EventKind::MapIterationAborted { name, index } => {
                return Details::iteration(IterationEvent::Aborted, name, index)
            }
            other => return Details::other(other),
        };
        match state_type_index(state_type) {
            Some(i) => Details::state(i as u8, exited, name, PayloadText::given(text)),
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
    fn state(state_type: u8, exited: bool, name: Arc<str>, text: PayloadText) -> Self {
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
                event,
            },
            None => Details::other(mark_kind(state_type, event)),
        }
    }

    fn iteration(event: IterationEvent, name: Arc<str>, index: usize) -> Self {
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
                let text = text.rendered().into_owned();
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
                Some(mark_kind(STATE_TYPES[usize::from(*state_type)], *event))
            }
            Details::Iteration {
                event, name, index, ..
            } => Some(event.kind(name.clone(), *index)),
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
            return self.stored(direct).serialize(s);
        }
        if let Details::Iteration {
            name, index, json, ..
        } = &self.details
        {
            if json.get().is_none() {
                let index = *index;
                return self.stored(IterationDetails { name, index }).serialize(s);
            }
        }
        self.stored(self.details()).serialize(s)
    }
}

impl HistoryEvent {
    /// The stored form with these details.
    fn stored<D>(&self, details: D) -> Stored<&str, D> {
        Stored {
            id: self.id,
            previous_event_id: self.previous_event_id,
            timestamp_ms: self.timestamp_ms,
            event_type: self.event_type(),
            details,
        }
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
    text: &'a PayloadText,
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
        m.serialize_entry(self.key, &*self.text.rendered())?;
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
    /// `state_type` is the state's index in [`STATE_TYPES`] ([`stepwise_asl::model::State::type_index`]):
    /// finding it from the name was a twentieth of a Choice loop.
    #[inline]
    pub(crate) fn state_event(
        id: u64,
        previous_event_id: u64,
        timestamp_ms: i64,
        exited: bool,
        state_type: u8,
        name: Arc<str>,
        text: PayloadText,
    ) -> Self {
        let details = if usize::from(state_type) < STATE_TYPES.len() {
            Details::state(state_type, exited, name, text)
        } else {
            // Not a state type: an event of no type rather than a panic.
            let text = text.as_str().to_string();
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
            details: Details::iteration(event, name, index),
        }
    }

    /// AWS's event type, e.g. `PassStateEntered`.
    pub fn event_type(&self) -> &str {
        match &self.details {
            Details::State {
                state_type, exited, ..
            } => STATE_EVENT_NAMES[usize::from(*state_type)][usize::from(*exited)],
            Details::Mark { state_type, event } => {
                STATE_EVENT_NAMES[usize::from(*state_type)][*event as usize]
            }
            Details::Iteration { event, .. } => ITERATION_EVENTS[*event as usize],
            Details::Other(o) => &o.event_type,
            Details::Json(j) => &j.event_type,
        }
    }

    /// The text of a state's entry or exit recorded by the engine.
    #[cfg(test)]
    pub(crate) fn state_text(&self) -> Option<&PayloadText> {
        match &self.details {
            Details::State { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The input text of a state's entry recorded by the engine.
    pub(crate) fn entered_text(&self) -> Option<&PayloadText> {
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

mod kind;
use kind::{is_state_type, StateEvent, STATE_EVENT_NAMES};
pub(crate) use kind::{state_type_index, EventKind, Resumed, ServiceResource, STATE_TYPES};

#[cfg(test)]
mod tests;
