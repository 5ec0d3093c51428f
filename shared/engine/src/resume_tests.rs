//! Resume from any state: plans read from recorded histories, and the histories a resume writes,
//! checked event by event.

use super::*;
use crate::{step, Command, Event, ExecutionState, Status, WaitId};
use serde_json::json;

use crate::test_support::info;

/// An execution with its whole history, driven by hand.
struct Run<'d> {
    def: &'d Definition,
    state: ExecutionState,
    history: Vec<HistoryEvent>,
    commands: Vec<Command>,
    now: i64,
}

impl<'d> Run<'d> {
    fn start(def: &'d Definition, input: Value) -> Self {
        Self::start_with(def, ExecutionState::new(info()), input)
    }

    fn start_with(def: &'d Definition, state: ExecutionState, input: Value) -> Self {
        let mut r = Run {
            def,
            state,
            history: Vec::new(),
            commands: Vec::new(),
            now: 0,
        };
        r.apply(Event::Start { input });
        r
    }

    fn apply(&mut self, event: Event) -> usize {
        self.now += 1;
        let state = std::mem::replace(&mut self.state, ExecutionState::new(info()));
        let tr = step(self.def, state, self.now, event);
        self.state = tr.state;
        let n = tr.history.len();
        self.history.extend(tr.history);
        self.commands = tr.commands;
        n
    }

    /// The tasks invoked by the last step: (task, state name, parameters).
    fn tasks(&self) -> Vec<(WaitId, String, Value)> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::InvokeTask {
                    task,
                    state_name,
                    parameters,
                    ..
                } => Some((*task, state_name.clone(), parameters.clone())),
                _ => None,
            })
            .collect()
    }

    fn fail(&mut self, task: WaitId) {
        self.apply(Event::TaskFailed {
            task,
            error: "Boom".into(),
            cause: "broken".into(),
        });
    }

    fn succeed(&mut self, task: WaitId, output: Value) {
        self.apply(Event::TaskSucceeded { task, output });
    }

    fn plan(&self, req: &ResumeRequest) -> Result<ResumePoint, ResumeError> {
        plan(self.def, &self.state, &self.history, req)
    }

    /// Resumes; returns the events this step appended, as (type, previous id, details).
    fn resume(&mut self, point: ResumePoint) -> Vec<(String, u64, Value)> {
        let from = self.history.len();
        self.apply(Event::Redrive {
            from_state: None,
            input: None,
            resume: Some(Box::new(point)),
        });
        self.since(from)
    }

    fn since(&self, from: usize) -> Vec<(String, u64, Value)> {
        self.history[from..]
            .iter()
            .map(|h| {
                (
                    h.event_type().to_string(),
                    h.previous_event_id,
                    h.details().cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

fn req(state: &str, input: Option<Value>) -> ResumeRequest {
    ResumeRequest {
        state: state.into(),
        input,
        map_iteration_indexes: Vec::new(),
        include_succeeded: false,
    }
}

fn ev(ty: &str, prev: u64, details: Value) -> (String, u64, Value) {
    (ty.to_string(), prev, details)
}

fn entered(name: &str, input: &str) -> Value {
    json!({"name": name, "input": input, "inputDetails": {"truncated": false}})
}

fn exited(name: &str, output: &str) -> Value {
    json!({"name": name, "output": output, "outputDetails": {"truncated": false}})
}

fn exited_assigning(name: &str, output: &str, vars: Value) -> Value {
    let mut d = exited(name, output);
    d["assignedVariables"] = vars;
    d["assignedVariablesDetails"] = json!({"truncated": false});
    d
}

const PIPELINE: &str = r#"{"StartAt":"Load","States":{
    "Load":{"Type":"Pass","Result":{"rows":3},"Assign":{"batch":"b1"},"Next":"Transform"},
    "Transform":{"Type":"Pass","Parameters":{"rows.$":"$.rows","batch.$":"$batch"},"Assign":{"stage":"t"},"Next":"Save"},
    "Save":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"p.$":"$","stage.$":"$stage"},"Next":"Done"},
    "Done":{"Type":"Pass","End":true},
    "Report":{"Type":"Pass","Parameters":{"report.$":"$","batch.$":"$batch"},"End":true}}}"#;

/// Runs PIPELINE until Save fails: events 1-10.
fn failed_pipeline(def: &Definition) -> Run<'_> {
    let mut r = Run::start(def, json!({}));
    let (task, _, _) = r.tasks()[0].clone();
    r.fail(task);
    assert_eq!(r.state.status, Status::Failed);
    r
}

#[test]
fn resume_at_a_passed_state_takes_its_recorded_input_and_variables() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut r = failed_pipeline(&def);
    let types: Vec<&str> = r.history.iter().map(|h| h.event_type()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
    let point = r.plan(&req("Transform", None)).expect("planned");
    assert_eq!(point.input, json!({"rows": 3}));
    assert_eq!(
        point.variables,
        json!({"batch": "b1"}).as_object().cloned().expect("object")
    );
    let events = r.resume(point);
    let last = r.history.len() as u64 - events.len() as u64;
    assert_eq!(
        events[..5],
        [
            ev(
                "ExecutionRedriven",
                last,
                json!({"redriveCount": 1, "stateName": "Transform", "inputReplaced": false})
            ),
            ev(
                "PassStateEntered",
                last + 1,
                entered("Transform", r#"{"rows":3}"#)
            ),
            ev(
                "PassStateExited",
                last + 2,
                exited_assigning(
                    "Transform",
                    r#"{"rows":3,"batch":"b1"}"#,
                    json!({"stage": "\"t\""})
                )
            ),
            ev(
                "TaskStateEntered",
                last + 3,
                entered("Save", r#"{"rows":3,"batch":"b1"}"#)
            ),
            ev("TaskScheduled", last + 4, events[4].2.clone()),
        ]
    );
    assert_eq!(events.len(), 6);
    assert_eq!(events[5].0, "TaskStarted");
    assert_eq!(
        events[4].2["parameters"],
        json!(r#"{"p":{"rows":3,"batch":"b1"},"stage":"t"}"#)
    );
    assert_eq!(r.state.info.redrive_count, 1);
    assert_eq!(r.state.redrive_ms, Some(r.now));
    let (task, _, _) = r.tasks()[0].clone();
    let from = r.history.len();
    r.succeed(task, json!("saved"));
    assert_eq!(r.state.status, Status::Succeeded);
    let tail: Vec<String> = r.since(from).into_iter().map(|e| e.0).collect();
    assert_eq!(
        tail,
        [
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn resume_with_a_new_input_says_it_was_replaced() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut r = failed_pipeline(&def);
    let point = r
        .plan(&req("Save", Some(json!({"rows": 9}))))
        .expect("planned");
    // the variables are those Save was entered with: both assigned before it
    assert_eq!(
        point.variables,
        json!({"batch": "b1", "stage": "t"})
            .as_object()
            .cloned()
            .expect("object")
    );
    let events = r.resume(point);
    assert_eq!(
        events[..2],
        [
            ev(
                "ExecutionRedriven",
                10,
                json!({"redriveCount": 1, "stateName": "Save", "inputReplaced": true})
            ),
            ev("TaskStateEntered", 11, entered("Save", r#"{"rows":9}"#)),
        ]
    );
    assert_eq!(events[2].0, "TaskScheduled");
    assert_eq!(
        events[2].2["parameters"],
        json!(r#"{"p":{"rows":9},"stage":"t"}"#)
    );
}

#[test]
fn a_state_never_reached_needs_an_input_and_sees_the_last_variables() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut r = failed_pipeline(&def);
    assert_eq!(
        r.plan(&req("Report", None)),
        Err(ResumeError::NeedsInput("Report".into()))
    );
    let point = r
        .plan(&req("Report", Some(json!({"n": 1}))))
        .expect("planned");
    let events = r.resume(point);
    assert_eq!(
        events,
        [
            ev(
                "ExecutionRedriven",
                10,
                json!({"redriveCount": 1, "stateName": "Report", "inputReplaced": true})
            ),
            ev("PassStateEntered", 11, entered("Report", r#"{"n":1}"#)),
            ev(
                "PassStateExited",
                12,
                exited("Report", r#"{"report":{"n":1},"batch":"b1"}"#)
            ),
            ev(
                "ExecutionSucceeded",
                13,
                json!({"output": r#"{"report":{"n":1},"batch":"b1"}"#, "outputDetails": {"truncated": false}})
            ),
        ]
    );
}

#[test]
fn refused_resumes_say_why() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let running = Run::start(&def, json!({}));
    assert_eq!(
        running.plan(&req("Load", None)),
        Err(ResumeError::NotResumable("RUNNING"))
    );
    let r = failed_pipeline(&def);
    assert_eq!(
        r.plan(&req("Nope", None)),
        Err(ResumeError::UnknownState("Nope".into()))
    );
    let mut with_index = req("Load", None);
    with_index.map_iteration_indexes = vec![0];
    assert!(matches!(
        r.plan(&with_index),
        Err(ResumeError::Iteration(_))
    ));
    // A SUCCEEDED execution only with the explicit flag.
    let def = Definition::from_json(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}}"#,
    )
    .expect("valid");
    let mut ok = Run::start(&def, json!({"k": 1}));
    assert_eq!(ok.state.status, Status::Succeeded);
    assert_eq!(
        ok.plan(&req("B", None)),
        Err(ResumeError::NotResumable("SUCCEEDED"))
    );
    let mut again = req("B", None);
    again.include_succeeded = true;
    let point = ok.plan(&again).expect("planned");
    let events = ok.resume(point);
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[1],
        ev("PassStateEntered", 7, entered("B", r#"{"k":1}"#))
    );
    assert_eq!(ok.state.status, Status::Succeeded);
    assert_eq!(ok.state.info.redrive_count, 1);
    // A resume of a SUCCEEDED execution without the flag changes nothing.
    let n = ok.apply(Event::Redrive {
        from_state: None,
        input: None,
        resume: Some(Box::new(ResumePoint {
            include_succeeded: false,
            ..ok.plan(&again).expect("planned")
        })),
    });
    assert_eq!(n, 0);
}

#[test]
fn a_plain_redrive_keeps_aws_details() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut r = failed_pipeline(&def);
    r.apply(Event::Redrive {
        from_state: None,
        input: None,
        resume: None,
    });
    assert_eq!(
        r.since(10)[..2],
        [
            ev("ExecutionRedriven", 10, json!({"redriveCount": 1})),
            ev(
                "TaskStateEntered",
                11,
                entered("Save", r#"{"rows":3,"batch":"b1"}"#)
            ),
        ]
    );
}

#[test]
fn a_new_execution_starts_at_a_state_and_names_its_source() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut st = ExecutionState::new(info());
    st.start_at = Some("Done".into());
    st.start_variables = json!({"batch": "b9"}).as_object().cloned();
    st.source_execution_arn = Some("arn:aws:states:us-east-1:123456789012:execution:m:old".into());
    let r = Run::start_with(&def, st, json!({"n": 2}));
    assert_eq!(
        r.since(0)[..2],
        [
            ev(
                "ExecutionStarted",
                0,
                json!({
                    "input": r#"{"n":2}"#,
                    "inputDetails": {"truncated": false},
                    "roleArn": "arn:aws:iam::123456789012:role/r",
                    "startAt": "Done",
                    "sourceExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:m:old"
                })
            ),
            ev("PassStateEntered", 0, entered("Done", r#"{"n":2}"#)),
        ]
    );
    assert_eq!(r.state.status, Status::Succeeded);
    assert_eq!(r.state.output, Some(json!({"n": 2})));
}

const PARALLEL: &str = r#"{"StartAt":"Prep","States":{
    "Prep":{"Type":"Pass","Assign":{"run":7},"Next":"Both"},
    "Both":{"Type":"Parallel","Next":"After","Branches":[
        {"StartAt":"Quick","States":{"Quick":{"Type":"Pass","Parameters":{"quick.$":"$run"},"End":true}}},
        {"StartAt":"Step1","States":{
            "Step1":{"Type":"Pass","Assign":{"inner":1},"Next":"Slow"},
            "Slow":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"in.$":"$inner","run.$":"$run"},"End":true}}}]},
    "After":{"Type":"Pass","End":true}}}"#;

#[test]
fn resume_inside_a_parallel_branch_keeps_the_other_branches_results() {
    let def = Definition::from_json(PARALLEL).expect("valid");
    let mut r = Run::start(&def, json!({"x": 1}));
    let (task, name, _) = r.tasks()[0].clone();
    assert_eq!(name, "Slow");
    r.fail(task);
    assert_eq!(r.state.status, Status::Failed);
    let point = r.plan(&req("Slow", None)).expect("planned");
    assert_eq!(point.state, "Both");
    let inner = point.inner.clone().expect("inner");
    assert_eq!(inner.index, 1);
    assert_eq!(inner.kept, vec![(0, json!({"quick": 7}))]);
    assert_eq!(
        inner.variables,
        json!({"run": 7, "inner": 1})
            .as_object()
            .cloned()
            .expect("object")
    );
    let last = r.history.len() as u64;
    let events = r.resume(point);
    assert_eq!(
        events[..4],
        [
            ev(
                "ExecutionRedriven",
                last,
                json!({"redriveCount": 1, "stateName": "Slow", "inputReplaced": false, "branchIndex": 1})
            ),
            ev(
                "ParallelStateEntered",
                last + 1,
                entered("Both", r#"{"x":1}"#)
            ),
            ev("ParallelStateStarted", last + 2, Value::Null),
            ev("TaskStateEntered", last + 3, entered("Slow", r#"{"x":1}"#)),
        ]
    );
    assert_eq!(events[4].0, "TaskScheduled");
    assert_eq!(events[4].2["parameters"], json!(r#"{"in":1,"run":7}"#));
    assert_eq!(events[5].0, "TaskStarted");
    assert_eq!(events.len(), 6);
    let (task, _, _) = r.tasks()[0].clone();
    let from = r.history.len();
    r.succeed(task, json!("slow done"));
    let tail: Vec<(String, Value)> = r.since(from).into_iter().map(|e| (e.0, e.2)).collect();
    assert_eq!(tail[0].0, "TaskSucceeded");
    assert_eq!(
        tail[1],
        ("TaskStateExited".into(), exited("Slow", r#""slow done""#))
    );
    assert_eq!(tail[2], ("ParallelStateSucceeded".into(), Value::Null));
    assert_eq!(
        tail[3],
        (
            "ParallelStateExited".into(),
            exited("Both", r#"[{"quick":7},"slow done"]"#)
        )
    );
    assert_eq!(r.state.status, Status::Succeeded);
    // The resumed run can be planned again: the branch that started inside is found.
    r.state.status = Status::Failed;
    let again = r.plan(&req("Quick", None)).expect("planned");
    let inner = again.inner.expect("inner");
    assert_eq!(inner.index, 0);
    assert_eq!(inner.kept, vec![(1, json!("slow done"))]);
}

const MAP: &str = r#"{"StartAt":"Each","States":{
    "Each":{"Type":"Map","ItemsPath":"$.items","Next":"Sum",
        "ItemProcessor":{"StartAt":"Double","States":{
            "Double":{"Type":"Pass","Parameters":{"v.$":"$"},"Next":"Work"},
            "Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}},
    "Sum":{"Type":"Pass","End":true}}}"#;

#[test]
fn resume_inside_a_map_iteration_reruns_only_that_iteration_and_the_unfinished() {
    let def = Definition::from_json(MAP).expect("valid");
    let mut r = Run::start(&def, json!({"items": [10, 20, 30]}));
    // Iterations run one after another as each blocks: all three are waiting on Work.
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 3);
    r.succeed(tasks[0].0, json!("r0"));
    r.fail(tasks[1].0);
    assert_eq!(r.state.status, Status::Failed);
    let mut q = req("Work", None);
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(_))));
    q.map_iteration_indexes = vec![5];
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(_))));
    q.map_iteration_indexes = vec![1];
    let point = r.plan(&q).expect("planned");
    let inner = point.inner.clone().expect("inner");
    assert_eq!(inner.input, json!({"v": 20}));
    assert_eq!(inner.kept, vec![(0, json!("r0"))]);
    let last = r.history.len() as u64;
    let events = r.resume(point);
    let shape: Vec<(String, u64)> = events.iter().map(|e| (e.0.clone(), e.1)).collect();
    assert_eq!(
        shape,
        [
            ("ExecutionRedriven".to_string(), last),
            ("MapStateEntered".into(), last + 1),
            ("MapStateStarted".into(), last + 2),
            ("MapIterationStarted".into(), last + 3),
            ("TaskStateEntered".into(), last + 4),
            ("TaskScheduled".into(), last + 5),
            ("TaskStarted".into(), last + 6),
            // Every iteration started while others run follows MapStateStarted, as AWS records.
            ("MapIterationStarted".into(), last + 3),
            ("PassStateEntered".into(), last + 8),
            ("PassStateExited".into(), last + 9),
            ("TaskStateEntered".into(), last + 10),
            ("TaskScheduled".into(), last + 11),
            ("TaskStarted".into(), last + 12),
        ]
    );
    assert_eq!(
        events[0].2,
        json!({"redriveCount": 1, "stateName": "Work", "inputReplaced": false, "mapIterationIndex": 1})
    );
    assert_eq!(events[3].2, json!({"name": "Each", "index": 1}));
    assert_eq!(events[4].2, entered("Work", r#"{"v":20}"#));
    assert_eq!(events[7].2, json!({"name": "Each", "index": 2}));
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 2);
    r.succeed(tasks[0].0, json!("r1"));
    r.succeed(tasks[1].0, json!("r2"));
    assert_eq!(r.state.status, Status::Succeeded);
    assert_eq!(r.state.output, Some(json!(["r0", "r1", "r2"])));
}

#[test]
fn a_new_execution_at_a_state_begins_with_the_given_variables() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut st = ExecutionState::new(info());
    st.start_at = Some("Report".into());
    st.start_variables = json!({"batch": "b9"}).as_object().cloned();
    let r = Run::start_with(&def, st, json!({"n": 2}));
    assert_eq!(r.state.status, Status::Succeeded);
    assert_eq!(
        r.state.output,
        Some(json!({"report": {"n": 2}, "batch": "b9"}))
    );
    // without them, the variable is not defined: the state fails as AWS would
    let mut st = ExecutionState::new(info());
    st.start_at = Some("Report".into());
    let r = Run::start_with(&def, st, json!({"n": 2}));
    assert_eq!(r.state.status, Status::Failed);
}

#[test]
fn a_map_resumed_twice_keeps_what_each_run_finished() {
    let def = Definition::from_json(MAP).expect("valid");
    let mut r = Run::start(&def, json!({"items": [10, 20, 30]}));
    let tasks = r.tasks();
    r.succeed(tasks[0].0, json!("r0"));
    r.fail(tasks[1].0);
    let mut q = req("Work", None);
    q.map_iteration_indexes = vec![1];
    let point = r.plan(&q).expect("planned");
    r.resume(point);
    // this time iteration 1 succeeds and iteration 2 fails
    let tasks = r.tasks();
    r.succeed(tasks[0].0, json!("r1"));
    r.fail(tasks[1].0);
    assert_eq!(r.state.status, Status::Failed);
    // Iteration 0 ran only in the first run: its result is still found there.
    let mut q = req("Double", None);
    q.map_iteration_indexes = vec![2];
    let point = r.plan(&q).expect("planned");
    let inner = point.inner.clone().expect("inner");
    assert_eq!(inner.input, json!(30));
    assert_eq!(inner.kept, vec![(0, json!("r0")), (1, json!("r1"))]);
    let events = r.resume(point);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e.0 == "MapIterationStarted")
        .map(|e| &e.2["index"])
        .collect();
    assert_eq!(starts, [&json!(2)]);
    let tasks = r.tasks();
    r.succeed(tasks[0].0, json!("r2"));
    assert_eq!(r.state.output, Some(json!(["r0", "r1", "r2"])));
    assert_eq!(r.state.info.redrive_count, 2);
}

#[test]
fn nested_states_need_their_enclosing_state_entered() {
    let def = Definition::from_json(PARALLEL).expect("valid");
    // Prep fails before the Parallel is ever entered.
    let mut st = ExecutionState::new(info());
    st.start_at = Some("After".into());
    let mut r = Run::start_with(&def, st, json!({}));
    r.state.status = Status::Failed;
    assert_eq!(
        r.plan(&req("Slow", Some(json!({})))),
        Err(ResumeError::EnclosingNotReached {
            state: "Slow".into(),
            enclosing: "Both".into()
        })
    );
    let deep = Definition::from_json(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"Q","States":{"Q":{"Type":"Parallel","End":true,"Branches":[
                {"StartAt":"Deep","States":{"Deep":{"Type":"Pass","End":true}}}]}}}]}}}"#,
    )
    .expect("valid");
    r.def = &deep;
    assert_eq!(
        r.plan(&req("Deep", None)),
        Err(ResumeError::EnclosingNotReached {
            state: "Deep".into(),
            enclosing: "P".into()
        })
    );
}

#[test]
fn timed_out_and_aborted_executions_resume() {
    let def = Definition::from_json(PIPELINE).expect("valid");
    let mut r = Run::start(&def, json!({}));
    r.apply(Event::Stop {
        error: None,
        cause: None,
    });
    assert_eq!(r.state.status, Status::Aborted);
    let point = r.plan(&req("Save", None)).expect("planned");
    let events = r.resume(point);
    assert_eq!(
        events[0].2,
        json!({"redriveCount": 1, "stateName": "Save", "inputReplaced": false})
    );
    assert_eq!(r.state.status, Status::Running);
    r.state.status = Status::TimedOut;
    assert!(r.plan(&req("Load", None)).is_ok());
}

#[path = "resume_nested_tests.rs"]
mod nested;
