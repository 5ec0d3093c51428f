//! Resume deeper than one level: a Map iteration inside a Parallel branch, a Map iteration inside
//! a Map iteration; plans and the histories the resumes write, checked event by event.

use super::*;

/// A Map in the second branch of a Parallel.
const MAP_IN_PARALLEL: &str = r#"{"StartAt":"Both","States":{
    "Both":{"Type":"Parallel","End":true,"Branches":[
        {"StartAt":"Quick","States":{"Quick":{"Type":"Pass","Result":"q","End":true}}},
        {"StartAt":"Prep","States":{
            "Prep":{"Type":"Pass","Result":{"items":[1,2]},"Assign":{"tag":"t1"},"Next":"Each"},
            "Each":{"Type":"Map","ItemsPath":"$.items","End":true,
                "ItemProcessor":{"StartAt":"Work","States":{
                    "Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
                        "Parameters":{"v.$":"$","tag.$":"$tag"},"End":true}}}}}}]}}}"#;

#[test]
fn resume_inside_a_map_iteration_inside_a_parallel_branch() {
    let def = Definition::from_json(MAP_IN_PARALLEL).expect("valid");
    let mut r = Run::start(&def, json!({}));
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    r.succeed(tasks[0].0, json!("w0"));
    r.fail(tasks[1].0);
    assert_eq!(r.state.status, Status::Failed);

    let mut q = req("Work", None);
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(_))));
    q.map_iteration_indexes = vec![1];
    let point = r.plan(&q).expect("planned");
    assert_eq!(point.state, "Both");
    let each = point.inner.clone().expect("the branch");
    assert_eq!(
        (each.state.as_str(), each.index, each.is_map),
        ("Each", 1, false)
    );
    assert_eq!(each.input, json!({"items": [1, 2]}));
    assert_eq!(each.kept, vec![(0, json!("q"))]);
    let work = each.deeper.clone().expect("the iteration");
    assert_eq!(
        (work.state.as_str(), work.index, work.is_map),
        ("Work", 1, true)
    );
    assert_eq!(work.input, json!(2));
    assert_eq!(
        work.variables,
        json!({"tag": "t1"}).as_object().cloned().expect("object")
    );
    assert_eq!(work.kept, vec![(0, json!("w0"))]);

    let last = r.history.len() as u64;
    let events = r.resume(point);
    let shape: Vec<(String, u64)> = events.iter().map(|e| (e.0.clone(), e.1)).collect();
    assert_eq!(
        shape,
        [
            ("ExecutionRedriven".to_string(), last),
            ("ParallelStateEntered".into(), last + 1),
            ("ParallelStateStarted".into(), last + 2),
            ("MapStateEntered".into(), last + 3),
            ("MapStateStarted".into(), last + 4),
            ("MapIterationStarted".into(), last + 5),
            ("TaskStateEntered".into(), last + 6),
            ("TaskScheduled".into(), last + 7),
            ("TaskStarted".into(), last + 8),
        ]
    );
    assert_eq!(
        events[0].2,
        json!({"redriveCount": 1, "stateName": "Work", "inputReplaced": false,
               "branchIndex": 1, "mapIterationIndex": 1})
    );
    assert_eq!(events[3].2, entered("Each", r#"{"items":[1,2]}"#));
    assert_eq!(events[5].2, json!({"name": "Each", "index": 1}));
    assert_eq!(events[6].2, entered("Work", "2"));
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].2, json!({"v": 2, "tag": "t1"}));
    r.succeed(tasks[0].0, json!("w1"));
    assert_eq!(r.state.status, Status::Succeeded);
    assert_eq!(r.state.output, Some(json!(["q", ["w0", "w1"]])));
}

/// A Map in each iteration of a Map.
const MAP_IN_MAP: &str = r#"{"StartAt":"Outer","States":{
    "Outer":{"Type":"Map","ItemsPath":"$.groups","End":true,
        "ItemProcessor":{"StartAt":"Inner","States":{
            "Inner":{"Type":"Map","ItemsPath":"$.rows","End":true,
                "ItemProcessor":{"StartAt":"Put","States":{
                    "Put":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true}}}}}}}}}"#;

#[test]
fn resume_inside_a_map_iteration_inside_a_map_iteration_names_both() {
    let def = Definition::from_json(MAP_IN_MAP).expect("valid");
    let mut r = Run::start(&def, json!({"groups": [{"rows": [1, 2]}, {"rows": [3]}]}));
    // The iterations of the first group wait on their tasks (the second group waits for the
    // first); row 2 fails, so the first group and the Outer Map fail.
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(
        (tasks[0].2.clone(), tasks[1].2.clone()),
        (json!(1), json!(2))
    );
    r.succeed(tasks[0].0, json!("p1"));
    r.fail(tasks[1].0);
    assert_eq!(r.state.status, Status::Failed);

    let mut q = req("Put", None);
    q.map_iteration_indexes = vec![0];
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(m)) if m.contains("2 Maps")));
    q.map_iteration_indexes = vec![2, 0];
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(m)) if m.contains("'Outer' had 2")));
    q.map_iteration_indexes = vec![0, 2];
    assert!(matches!(r.plan(&q), Err(ResumeError::Iteration(m)) if m.contains("'Inner' had 2")));
    // The second group never started: its Inner Map was never entered.
    q.map_iteration_indexes = vec![1, 0];
    assert_eq!(
        r.plan(&q),
        Err(ResumeError::EnclosingNotReached {
            state: "Put".into(),
            enclosing: "Inner".into()
        })
    );
    q.map_iteration_indexes = vec![0, 1];
    let point = r.plan(&q).expect("planned");
    let inner = point.inner.clone().expect("outer iteration");
    assert_eq!((inner.state.as_str(), inner.index), ("Inner", 0));
    assert_eq!(inner.input, json!({"rows": [1, 2]}));
    assert_eq!(inner.kept, vec![]);
    let put = inner.deeper.clone().expect("inner iteration");
    assert_eq!(
        (put.state.as_str(), put.index, put.input.clone()),
        ("Put", 1, json!(2))
    );
    assert_eq!(put.kept, vec![(0, json!("p1"))]);

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
            ("MapStateEntered".into(), last + 4),
            ("MapStateStarted".into(), last + 5),
            ("MapIterationStarted".into(), last + 6),
            ("TaskStateEntered".into(), last + 7),
            ("TaskScheduled".into(), last + 8),
            ("TaskStarted".into(), last + 9),
        ]
    );
    assert_eq!(
        events[0].2,
        json!({"redriveCount": 1, "stateName": "Put", "inputReplaced": false, "mapIterationIndex": 1})
    );
    assert_eq!(events[3].2, json!({"name": "Outer", "index": 0}));
    assert_eq!(events[6].2, json!({"name": "Inner", "index": 1}));
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 1);
    r.succeed(tasks[0].0, json!("p2"));
    // Then the second group runs from its start.
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].2, json!(3));
    r.succeed(tasks[0].0, json!("p3"));
    assert_eq!(r.state.status, Status::Succeeded);
    assert_eq!(r.state.output, Some(json!([["p1", "p2"], ["p3"]])));
}

#[test]
fn a_new_execution_starts_inside_a_map_iteration_inside_a_parallel_branch() {
    let def = Definition::from_json(MAP_IN_PARALLEL).expect("valid");
    let mut source = Run::start(&def, json!({}));
    let tasks = source.tasks();
    source.succeed(tasks[0].0, json!("w0"));
    source.fail(tasks[1].0);
    let mut q = req("Work", Some(json!(5)));
    q.map_iteration_indexes = vec![1];
    q.include_succeeded = true;
    let point = source.plan(&q).expect("planned");

    let mut st = ExecutionState::new(info());
    st.start_at = Some(point.state.clone());
    st.start_variables = Some(point.variables.clone());
    st.start_inner = point.inner.clone();
    st.source_execution_arn = Some("arn:aws:states:us-east-1:123456789012:execution:m:old".into());
    let mut r = Run::start_with(&def, st, point.input.clone());
    let events = r.since(0);
    let shape: Vec<(String, u64)> = events.iter().map(|e| (e.0.clone(), e.1)).collect();
    assert_eq!(
        shape,
        [
            ("ExecutionStarted".to_string(), 0),
            ("ParallelStateEntered".into(), 0),
            ("ParallelStateStarted".into(), 2),
            ("MapStateEntered".into(), 3),
            ("MapStateStarted".into(), 4),
            ("MapIterationStarted".into(), 5),
            ("TaskStateEntered".into(), 6),
            ("TaskScheduled".into(), 7),
            ("TaskStarted".into(), 8),
        ]
    );
    assert_eq!(events[0].2["startAt"], json!("Work"));
    assert_eq!(
        events[0].2["sourceExecutionArn"],
        json!("arn:aws:states:us-east-1:123456789012:execution:m:old")
    );
    assert_eq!(events[3].2, entered("Each", r#"{"items":[1,2]}"#));
    assert_eq!(events[6].2, entered("Work", "5"));
    let tasks = r.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].2, json!({"v": 5, "tag": "t1"}));
    r.succeed(tasks[0].0, json!("w5"));
    assert_eq!(r.state.status, Status::Succeeded);
    // The source's finished branch and iteration are kept, as a resume keeps them.
    assert_eq!(r.state.output, Some(json!(["q", ["w0", "w5"]])));
}
