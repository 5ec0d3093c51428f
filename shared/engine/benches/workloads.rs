//! `cargo bench -p stepwise-engine`: state transitions per second of the pure engine on each
//! workload of `../shared/bench/workloads` (no I/O: the workloads need only the interpreter).
//!
//! Prints, per workload, whether the output is the expected one, the median wall time of one
//! execution over several runs, and transitions per second.

use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;
use stepwise_asl::model::Definition;
use stepwise_engine::{step, Command, Event, ExecutionInfo, ExecutionState, Status};

fn workloads_dir() -> Option<PathBuf> {
    let p = match std::env::var("STEPWISE_SHARED") {
        Ok(s) => PathBuf::from(s),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let w = p.join("bench/workloads");
    w.is_dir().then_some(w)
}

fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:bench:run".into(),
        name: "run".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        state_machine_name: "bench".into(),
        role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        start_time_ms: 1_700_000_000_000,
        redrive_count: 0,
        seed: 7,
    }
}

/// Runs one execution to its end, firing timers at once.
fn run_once(def: &Definition, input: &Value) -> ExecutionState {
    let mut now = 1_700_000_000_000;
    let mut tr = step(
        def,
        ExecutionState::new(info()),
        now,
        Event::Start {
            input: input.clone(),
        },
    );
    loop {
        if tr.state.status != Status::Running {
            return tr.state;
        }
        let timer = tr.commands.iter().find_map(|c| match c {
            Command::StartTimer { timer, at_ms } => Some((*timer, *at_ms)),
            _ => None,
        });
        match timer {
            Some((timer, at)) => {
                now = now.max(at);
                tr = step(def, tr.state, now, Event::TimerFired { timer });
            }
            None => return tr.state,
        }
    }
}

fn main() {
    let Some(dir) = workloads_dir() else {
        eprintln!("no workloads: ../shared/bench/workloads is not there (set STEPWISE_SHARED)");
        return;
    };
    // `cargo bench` passes --bench; under `cargo test --all-targets` run each workload once, as a
    // check that it still gives its output.
    let quick = !std::env::args().any(|a| a == "--bench");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    println!(
        "{:24} {:7} {:>12} {:>16}",
        "workload", "output", "median", "transitions/s"
    );
    for w in names {
        let read = |f: &str| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(w.join(f)).ok()?).ok()
        };
        let (Some(defv), Some(input), Some(expected)) = (
            read("definition.json"),
            read("input.json"),
            read("expected.json"),
        ) else {
            continue;
        };
        let Ok(def) = Definition::from_value(&defv) else {
            println!("{:24} does not parse", w.display());
            continue;
        };
        let runs = if quick { 1 } else { 7 };
        let mut times = Vec::new();
        let mut ok = true;
        let mut transitions = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let s = run_once(&def, &input);
            times.push(t.elapsed().as_secs_f64());
            ok &= s.output.as_ref() == Some(&expected);
            assert!(ok, "{} gives the wrong output", w.display());
            transitions = s.transitions;
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let name = w
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        println!(
            "{name:24} {:7} {:>10.2}ms {:>16.0}",
            if ok { "ok" } else { "WRONG" },
            median * 1000.0,
            transitions as f64 / median
        );
    }
}
