//! The README's order-flow example (`examples/order-flow.sh`) as a newcomer runs it: moto's
//! server started by the script, DynamoDB, SQS and SNS called by `stepwise run
//! --aws-endpoint-url`, and the services' contents checked by the script itself (it exits 1 when
//! the table, the review queue or the topic's subscriber do not hold what the flow wrote).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn order_flow_example_runs_against_moto() {
    let python_ok = Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !python_ok && std::env::var("CI").is_err() {
        eprintln!("skipping: python3 with boto3 is not installed");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("examples/order-flow.sh"))
        .env("STEPWISE", stepwise_tests::stepwise_bin())
        .current_dir(&root)
        .output()
        .expect("running examples/order-flow.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "order-flow.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("order flow: OK"), "{stdout}");
    assert!(stdout.contains("\"CONFIRMED\""), "{stdout}");
    assert!(stderr.contains("DuplicateOrder"), "{stderr}");
}
