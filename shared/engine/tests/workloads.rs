//! Every benchmark workload gives its expected output through the engine.

use serde_json::Value;
use std::fs;
mod support;

use support::{run_definition, shared_dir};

#[test]
fn every_workload_gives_its_expected_output() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipping: ../shared/bench is not there (set STEPWISE_SHARED)");
        return;
    };
    let dir = shared.join("bench/workloads");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("workloads dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for w in names {
        let read = |f: &str| -> Value {
            serde_json::from_str(&fs::read_to_string(w.join(f)).expect("file")).expect("json")
        };
        let (state, _) = run_definition(&read("definition.json"), read("input.json"), "workload")
            .expect("parses");
        assert_eq!(
            state.status.as_str(),
            "SUCCEEDED",
            "{}: {:?} {:?}",
            w.display(),
            state.error,
            state.cause
        );
        assert_eq!(state.output, Some(read("expected.json")), "{}", w.display());
    }
}
