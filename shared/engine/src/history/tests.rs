//! Unit tests of the history events.

use super::kind::{state_event_type, STATE_EVENT_SUFFIXES};
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
        (
            IterationEvent::Failed,
            EventKind::MapIterationFailed {
                name: name.clone(),
                index: 4,
            },
        ),
        (
            IterationEvent::Aborted,
            EventKind::MapIterationAborted {
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
            let e =
                HistoryEvent::state_event(1, 0, 0, exited, i, "x".into(), PayloadText::default());
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
    let e = HistoryEvent::state_event(1, 0, 0, false, 200, "x".into(), PayloadText::default());
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
