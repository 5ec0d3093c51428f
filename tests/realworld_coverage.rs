//! `cargo run -p stepwise-tests --bin realworld-coverage [DIR]`: the share of the public state
//! machines in `../shared/conformance/realworld/valid` (or DIR) that have a Task state and whose
//! every Task resource Stepwise can serve for real (not mocked), and, for the others, each
//! resource that cannot be served with the reason. What "can serve" means comes from the task
//! router itself ([`stepwise_tasks_aws::services::can_serve`]), so this figure cannot drift from
//! what `stepwise run` does.

use std::path::PathBuf;
use std::process::ExitCode;

use stepwise_tests::coverage::{realworld_coverage, Coverage};

fn main() -> ExitCode {
    let dir = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => match stepwise_tests::shared_dir() {
            Some(s) => s.join("conformance/realworld/valid"),
            None => {
                eprintln!("no ../shared beside the repository: give the folder of definitions");
                return ExitCode::from(1);
            }
        },
    };
    let Coverage {
        definitions,
        with_task,
        servable,
        unservable,
    } = match realworld_coverage(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::from(1);
        }
    };
    for (file, resources) in &unservable {
        println!("{file}");
        for (resource, why) in resources {
            println!("    {resource}: {why}");
        }
    }
    let pct = if with_task == 0 {
        0.0
    } else {
        100.0 * servable as f64 / with_task as f64
    };
    println!(
        "{definitions} definitions, {with_task} with a Task state, {servable} fully servable ({pct:.1}%)"
    );
    ExitCode::SUCCESS
}
