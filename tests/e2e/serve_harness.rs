//! Runs the recorded conformance corpus (`../shared/conformance`) through the real `stepwise
//! serve` binary with boto3, as `harness.py` does against AWS.
//!
//! Skipped when the corpus, python3 or boto3 is missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn conformance_corpus_through_stepwise_serve() {
    let corpus = repo().join("../shared/conformance");
    let harness = corpus.join("harness.py");
    if !harness.is_file() {
        eprintln!("skipped: {} is missing", harness.display());
        return;
    }
    let boto = Command::new("python3")
        .args(["-c", "import boto3"])
        .status();
    if !boto.is_ok_and(|s| s.success()) {
        eprintln!("skipped: python3 with boto3 is missing");
        return;
    }
    let bin = stepwise_tests::stepwise_bin();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let data = std::env::temp_dir().join(format!("stepwise-harness-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = Server(
        Command::new(&bin)
            .args([
                "serve",
                "--port",
                &port.to_string(),
                "--skip-waits",
                "--data-dir",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting stepwise serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "stepwise serve never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    // harness.py reads the recordings' JSON-text inputs and outputs back itself. Minimums: see
    // tests/CONFORMANCE.md for every case that cannot pass as recorded.
    let jsonpath = run_harness(&harness, &endpoint, "JSONPath", &corpus);
    let jsonata = run_harness(&harness, &endpoint, "JSONata", &corpus);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    for (what, (passed, total), minimum) in
        [("JSONPath", jsonpath, 0.90), ("JSONata", jsonata, 0.80)]
    {
        let rate = passed as f64 / total.max(1) as f64;
        eprintln!(
            "stepwise serve conformance ({what}): {passed} of {total} ({:.1}%)",
            rate * 100.0
        );
        assert!(rate >= minimum, "{what}: only {passed} of {total} passed");
    }
}

/// Runs a harness script against the endpoint; returns (passed, passed + failed).
fn run_harness(script: &Path, endpoint: &str, language: &str, corpus: &Path) -> (usize, usize) {
    let out = Command::new("python3")
        .arg(script)
        .args(["--endpoint-url", endpoint, "--query-language", language])
        .arg(corpus.join("cases"))
        .env("STEPWISE_SHARED", corpus.parent().expect("shared dir"))
        .output()
        .expect("running the harness");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("--- {} {language}\n{text}", script.display());
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| {
            panic!(
                "no summary line from {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let nums: Vec<usize> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (nums[0], nums[0] + nums[1])
}
