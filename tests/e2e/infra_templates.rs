//! The deployment templates: `tests/infra/check.sh` lints template.yaml (cfn-lint, `sam validate
//! --lint`), synthesizes the CDK app in infra/ without building Rust and lints that, then checks
//! that both hold the same resources (tests/infra/compare.py).
//!
//! Locally the test is skipped, with a message, when cfn-lint, the SAM CLI, node or npm is
//! missing; under `CI=true` a missing tool fails it.

use std::path::Path;
use std::process::Command;

/// check.sh's exit status when a tool it needs is missing.
const SKIPPED: i32 = 77;

#[test]
fn sam_and_cdk_templates_lint_and_match() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root");
    let script = root.join("tests/infra/check.sh");
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(root)
        .output()
        .expect("run tests/infra/check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match out.status.code() {
        Some(0) => {}
        Some(SKIPPED) if !in_ci => {
            eprintln!("skipping the infra template checks: {}", stdout.trim());
        }
        Some(SKIPPED) => panic!(
            "CI=true but the infra checks' tools are missing: {}",
            stdout.trim()
        ),
        code => panic!("tests/infra/check.sh failed ({code:?}); see the output above"),
    }
}
