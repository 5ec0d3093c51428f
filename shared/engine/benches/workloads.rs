//! `cargo bench -p stepwise-engine`: state transitions per second of the pure engine on each
//! workload of `../shared/bench/workloads` (no I/O: the workloads need only the interpreter).
//!
//! Prints, per workload, whether the output is the expected one and, from the fastest of several
//! runs, and transitions per second of Stepwise, of the bare serde_json
//! loop that does the same data work without an interpreter ([`bare`]; "+text" also renders
//! each state's input and output as JSON text, as eager history would), and of the peer,
//! aws-local-stepfunctions in-process (`tests/bench/peer`, run with node when
//! `npm ci --prefix tests/bench/peer` has installed it), all in the same run; then the ratios.
//! The machine's load average is printed with each row: absolute figures on a shared machine
//! are noisy, the ratios less so.

mod bare;

/// The `stepwise` binary's allocator, for the engine and the bare loop alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::Value;
use std::path::{Path, PathBuf};
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

/// Each of `fs` timed in turns (one call of each per round, after one untimed round): what is
/// compared is measured in the same minutes, so load that comes and goes slows all of them
/// alike instead of one. At least `runs` rounds, and rounds for at least half a second (a W2
/// run is half a millisecond: 15 runs were one slice of the scheduler). Each round's seconds.
fn rounds_in_turns(runs: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Vec<f64>> {
    for f in fs.iter_mut() {
        f();
    }
    let mut rounds = Vec::new();
    let start = Instant::now();
    while rounds.len() < runs || start.elapsed().as_secs_f64() < 0.5 {
        rounds.push(
            fs.iter_mut()
                .map(|f| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .collect::<Vec<f64>>(),
        );
    }
    rounds
}

/// The fastest time of the `i`th function over the rounds: on a shared, loaded machine the
/// fastest run is the one least slowed by others.
fn best(rounds: &[Vec<f64>], i: usize) -> f64 {
    rounds.iter().map(|r| r[i]).fold(f64::INFINITY, f64::min)
}

/// The median over the rounds of the `i`th function's time over the `j`th's: each ratio from
/// one round's back-to-back calls, so a burst of load that slowed one call of a round moves
/// one ratio of many, not the result (two fastest times could come from different minutes).
fn median_ratio(rounds: &[Vec<f64>], i: usize, j: usize) -> f64 {
    let mut r: Vec<f64> = rounds.iter().map(|r| r[i] / r[j]).collect();
    r.sort_by(f64::total_cmp);
    r[r.len() / 2]
}

/// The peer's fastest seconds per execution on workload `dir`, when node and its package are
/// there (`None` otherwise, or when its output was wrong).
fn peer_best_s(dir: &Path, runs: usize) -> Option<f64> {
    let peer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/bench/peer");
    // BENCH_PEER=0 leaves the peer out (to profile Stepwise alone).
    if std::env::var("BENCH_PEER").is_ok_and(|v| v == "0")
        || !peer.join("node_modules/aws-local-stepfunctions").is_dir()
    {
        return None;
    }
    let out = std::process::Command::new("node")
        .arg(peer.join("peer.mjs"))
        .arg(dir)
        .arg(runs.to_string())
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    if v.get("ok") != Some(&Value::Bool(true)) {
        eprintln!("the peer gives the wrong output on {}", dir.display());
        return None;
    }
    v.get("best_s")?.as_f64()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let Some(dir) = workloads_dir() else {
        eprintln!("no workloads: ../shared/bench/workloads is not there (set STEPWISE_SHARED)");
        return;
    };
    // `cargo bench` passes --bench; under `cargo test --all-targets` run each workload once, as a
    // check that it still gives its output (the peer is not run then).
    let quick = !std::env::args().any(|a| a == "--bench");
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    println!(
        "transitions/s: the fastest of the rounds (bare/sw, b+t/sw: of those); med: the median \
         over the rounds of each round's b+t/sw"
    );
    println!(
        "{:18} {:>11} {:>11} {:>11} {:>11} {:>8} {:>8} {:>8} {:>6}  load avg",
        "transitions/s",
        "stepwise",
        "bare",
        "bare+text",
        "peer",
        "sw/peer",
        "bare/sw",
        "b+t/sw",
        "med"
    );
    for w in names {
        let name = w
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        if !name.contains(&only) {
            continue;
        }
        let read = |f: &str| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(w.join(f)).ok()?).ok()
        };
        let (Some(defv), Some(input), Some(expected), Some(meta)) = (
            read("definition.json"),
            read("input.json"),
            read("expected.json"),
            read("meta.json"),
        ) else {
            continue;
        };
        let Ok(def) = Definition::from_value(&defv) else {
            println!("{} does not parse", w.display());
            continue;
        };
        let load = load_average();
        let s = run_once(&def, &input);
        assert!(
            s.output.as_ref() == Some(&expected),
            "{name} gives the wrong output"
        );
        let transitions = s.transitions as f64;
        let expected_transitions = meta
            .get("state_transitions")
            .and_then(Value::as_f64)
            .unwrap_or(transitions);
        for mode in [bare::History::None, bare::History::Text] {
            let out = bare::run(&name, &input, mode);
            assert!(
                out.is_none() || out.as_ref() == Some(&expected),
                "the bare loop of {name} gives the wrong output"
            );
        }
        if quick {
            println!("{name:18} ok");
            continue;
        }
        // BENCH_RUNS raises it, to give a profiler (perf record) enough samples.
        let runs = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(15);
        let rounds = rounds_in_turns(
            runs,
            &mut [
                &mut || {
                    std::hint::black_box(run_once(&def, &input));
                },
                &mut || {
                    std::hint::black_box(bare::run(&name, &input, bare::History::None));
                },
                &mut || {
                    std::hint::black_box(bare::run(&name, &input, bare::History::Text));
                },
            ],
        );
        let sw = transitions / best(&rounds, 0);
        let bare_none = expected_transitions / best(&rounds, 1);
        let bare_text = expected_transitions / best(&rounds, 2);
        // Each round's floor ÷ Stepwise in throughput: Stepwise's time over the floor's.
        let text_median = median_ratio(&rounds, 0, 2) * expected_transitions / transitions;
        let peer = peer_best_s(&w, runs).map(|s| expected_transitions / s);
        let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        let ratio = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        println!(
            "{name:18} {:>11} {:>11} {:>11} {:>11} {:>8} {:>8} {:>8} {:>6}  {load} / {}",
            cell(Some(sw)),
            cell(Some(bare_none)),
            cell(Some(bare_text)),
            cell(peer),
            ratio(peer.map(|p| sw / p)),
            ratio(Some(bare_none / sw)),
            ratio(Some(bare_text / sw)),
            ratio(Some(text_median)),
            load_average()
        );
    }
}
