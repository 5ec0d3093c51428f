//! Helpers shared by the end-to-end tests: where the shared corpus lives, how to run a
//! definition through the engine, and AWS-recording placeholder matching.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The `shared` folder beside the repository (conformance cases, benchmark workloads), or
/// `STEPWISE_SHARED` when set.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("STEPWISE_SHARED") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    p.join("conformance").is_dir().then_some(p)
}

/// The `stepwise` binary of this workspace.
///
/// `cargo test --workspace` builds it beside the test executables (`target/debug/stepwise`) with
/// the workspace's features; that one is used unless a source file is newer. Otherwise (a single
/// package's tests after an edit) it is built here, once.
pub fn stepwise_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // A binary named outright (a build kept apart from a target directory others share).
        if let Some(bin) = std::env::var_os("STEPWISE_BIN").filter(|b| !b.is_empty()) {
            return PathBuf::from(bin);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let beside = std::env::current_exe().ok().and_then(|exe| {
            exe.parent()
                .and_then(|deps| deps.parent())
                .map(|d| d.join("stepwise"))
        });
        if let Some(bin) = beside {
            let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
            if built.is_some_and(|t| !sources_newer_than(&root, t)) {
                return bin;
            }
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "stepwise", "--bin", "stepwise"])
            .current_dir(&root)
            .status()
            .expect("running cargo build");
        assert!(status.success(), "cargo build -p stepwise failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|p| if p.is_absolute() { p } else { root.join(p) })
            .unwrap_or_else(|_| root.join("target"));
        target.join("debug").join("stepwise")
    })
    .clone()
}

/// True when a Rust source of the binary's crates (or a console file it embeds) changed after `t`.
fn sources_newer_than(root: &std::path::Path, t: std::time::SystemTime) -> bool {
    fn walk(dir: &std::path::Path, t: std::time::SystemTime) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.filter_map(|e| e.ok()).any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p, t)
            } else {
                e.metadata().and_then(|m| m.modified()).is_ok_and(|m| m > t)
            }
        })
    }
    // The console's pages are embedded in the binary too.
    let mut dirs = vec![
        root.join("functions/stepwise/src"),
        root.join("functions/stepwise/console/assets"),
    ];
    if let Ok(shared) = std::fs::read_dir(root.join("shared")) {
        dirs.extend(shared.filter_map(|e| e.ok()).map(|e| e.path().join("src")));
    }
    dirs.iter().any(|d| walk(d, t))
}

pub mod coverage;
pub mod emulators;

/// The AWS recordings' comparison and the pure engine driver, shared with the engine crate's
/// own conformance tests: one copy, in `shared/engine/tests/support` (whose `shared_dir` and
/// `target_dir` are the engine crate's and unused here).
#[path = "../shared/engine/tests/support/mod.rs"]
mod recorded;
pub use recorded::{
    compare_with_recording, load_case, matches, run_definition, text_matches, Outcome,
};
