//! The web console (issue 14) in headless Chromium: `tests/console/console.mjs` (playwright-core
//! driving Debian's `chromium`) against a `stepwise serve` started here, and against `stepwise
//! console` forwarding to an endpoint that checks every request's SigV4 signature; the layout
//! library committed in `functions/stepwise/console/assets/vendor` is what `npm run build` makes.
//!
//! Without node, the npm packages (`npm ci --prefix tests/console`, `--prefix
//! functions/stepwise/console`) or chromium, the tests are skipped with a message, except in CI
//! (`CI=true`), where a missing tool fails them (`tests/run-all.sh` installs them).

use crate::serve_common::{free_port, read_headers_and_body, temp_dir, Serve, DEADLINE};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stepwise_tests::stepwise_bin;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn skip(msg: &str) -> bool {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// Chromium (CHROMIUM or Debian's /usr/bin/chromium) and playwright-core, or a skip.
fn browser() -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        skip("chromium is not installed: `apt-get install -y chromium chromium-driver`");
        return None;
    }
    if !repo()
        .join("tests/console/node_modules/playwright-core")
        .is_dir()
    {
        skip("playwright-core is not installed: `npm ci --prefix tests/console`");
        return None;
    }
    Some(chromium)
}

/// Runs `node console.mjs MODE` with the console at `url` and the API at `api`; the screenshots
/// and measurements go to target/console.
fn run_script(chromium: &Path, mode: &str, url: &str, api: &str) -> String {
    let artifacts = repo().join("target/console");
    let out = Command::new("node")
        .arg("console.mjs")
        .arg(mode)
        .current_dir(repo().join("tests/console"))
        .env("STEPWISE_URL", url)
        .env("STEPWISE_API", api)
        .env("CHROMIUM", chromium)
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the browser script ({mode}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The console in the browser against `stepwise serve`: a machine with a Choice, a Retry, a
/// caught Parallel failure and a Map; its graph, definition diagnostics, executions; an
/// execution's statuses, history and state details; start, stop, redrive, resume and a task
/// token through the buttons; no console error, no request elsewhere. Screenshots in
/// target/console.
#[test]
fn console_in_headless_chromium() {
    let Some(chromium) = browser() else {
        return;
    };
    let data = temp_dir("console").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mock = repo().join("tests/console/mock.json");
    let mock = mock.to_str().expect("utf-8 path");
    let serve = Serve::start(
        &stepwise_bin(),
        &data,
        free_port(),
        &["--mock-config", mock],
    );
    let url = serve.endpoint();
    let result = std::panic::catch_unwind(|| run_script(&chromium, "full", &url, &url));
    if let Err(e) = result {
        eprintln!("--- server log ---\n{}", tail(&serve.log_text(), 4000));
        std::panic::resume_unwind(e);
    }
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}

/// The console's pure parts (history reading, Choice labels, diagnostic locations) under node's
/// test runner: `tests/console/unit.test.mjs`.
#[test]
fn console_scripts_read_histories_and_definitions() {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        skip("node is not installed");
        return;
    }
    let out = Command::new("node")
        .args(["--test", "unit.test.mjs"])
        .current_dir(repo().join("tests/console"))
        .output()
        .expect("running node --test");
    assert!(
        out.status.success(),
        "node --test unit.test.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The layout library the binary embeds is the one `npm run build` copies from the pinned npm
/// package (`functions/stepwise/console/build.mjs`).
#[test]
fn console_bundle_is_current() {
    let dir = repo().join("functions/stepwise/console");
    let modules = dir.join("node_modules/@dagrejs/dagre/dist");
    if !modules.is_dir() {
        skip("the console's npm packages are not installed: `npm ci --prefix functions/stepwise/console`");
        return;
    }
    for (from, to) in [
        ("dagre.min.js", "dagre.min.js"),
        ("dagre.min.js.LEGAL.txt", "dagre.min.js.LEGAL.txt"),
    ] {
        let built = std::fs::read(modules.join(from)).expect("the npm file");
        let committed = std::fs::read(dir.join("assets/vendor").join(to)).expect("committed");
        assert!(
            built == committed,
            "assets/vendor/{to} differs from the npm package's: run `npm ci && npm run build` in functions/stepwise/console"
        );
    }
}

/// `stepwise console --endpoint-url` (the serverless home): the pages come from the local
/// process, and every API call reaches the endpoint signed with the environment's credentials
/// for `execute-api`. The endpoint here checks each signature as API Gateway's IAM authorization
/// does (recomputed from the secret key) and passes valid requests to a `stepwise serve`.
#[test]
fn console_signs_its_api_calls_for_the_serverless_home() {
    let Some(chromium) = browser() else {
        return;
    };
    let data = temp_dir("console-sigv4").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let serve = Serve::start(&stepwise_bin(), &data, free_port(), &[]);
    let gate = SigV4Gate::start(serve.port);
    let port = free_port();
    let log = data.parent().expect("temp dir").join("console.log");
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(stepwise_bin())
        .args(["console", "--port", &port.to_string(), "--endpoint-url"])
        .arg(format!("http://127.0.0.1:{}/Prod/", gate.port))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "eu-west-1")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("STEPWISE_ENDPOINT_URL")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("starting stepwise console");
    let _console = Killed(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < DEADLINE,
            "stepwise console never listened:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run_script(
        &chromium,
        "proxy",
        &format!("http://127.0.0.1:{port}"),
        &serve.endpoint(),
    );
    let (valid, invalid) = (
        gate.valid.load(Ordering::SeqCst),
        gate.invalid.load(Ordering::SeqCst),
    );
    assert_eq!(
        invalid, 0,
        "requests with a bad signature reached the endpoint"
    );
    assert!(
        valid >= 5,
        "only {valid} signed calls went through the console"
    );
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}

/// Page load time and the browser's memory for an execution of 100,000 events (a Map of 25,000
/// Pass iterations): run with `cargo test --test e2e console_with_100000_events -- --ignored
/// --nocapture`; the numbers are printed and kept in target/console/perf.json.
#[test]
#[ignore = "a measurement, not a check: minutes of work"]
fn console_with_100000_events() {
    let Some(chromium) = browser() else {
        return;
    };
    let data = temp_dir("console-perf").join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let serve = Serve::start(&stepwise_bin(), &data, free_port(), &[]);
    let url = serve.endpoint();
    let out = run_script(&chromium, "perf", &url, &url);
    eprintln!("{out}");
    let _ = std::fs::remove_dir_all(data.parent().expect("temp dir"));
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const ACCESS_KEY: &str = "AKIDCONSOLETEST";
const SECRET_KEY: &str = "console/test/secret/key";

/// An HTTP endpoint that checks SigV4 (service `execute-api`, the test's key) on every request
/// and forwards the valid ones to `stepwise serve` on `upstream`; a bad one gets API Gateway's
/// 403 and is counted.
struct SigV4Gate {
    port: u16,
    valid: Arc<AtomicUsize>,
    invalid: Arc<AtomicUsize>,
}

impl SigV4Gate {
    fn start(upstream: u16) -> SigV4Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the gate");
        let port = listener.local_addr().expect("address").port();
        let valid = Arc::new(AtomicUsize::new(0));
        let invalid = Arc::new(AtomicUsize::new(0));
        let (v, i) = (valid.clone(), invalid.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (v, i) = (v.clone(), i.clone());
                std::thread::spawn(move || serve_gate(conn, upstream, &v, &i));
            }
        });
        SigV4Gate {
            port,
            valid,
            invalid,
        }
    }
}

/// Answers the requests of one connection (kept alive, as the console's client pools them).
fn serve_gate(conn: TcpStream, upstream: u16, valid: &AtomicUsize, invalid: &AtomicUsize) {
    let mut writer = conn.try_clone().expect("clone");
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let (headers, body) = read_headers_and_body(&mut reader, false);
        let (status, answer) = match check_sigv4(&method, &path, &headers, &body) {
            Ok(()) => {
                valid.fetch_add(1, Ordering::SeqCst);
                let target = header(&headers, "x-amz-target").unwrap_or_default();
                forward(upstream, &target, &body)
            }
            Err(why) => {
                invalid.fetch_add(1, Ordering::SeqCst);
                eprintln!("the SigV4 gate refused a request: {why}");
                (
                    403,
                    serde_json::json!({"message": format!("Forbidden: {why}")}).to_string(),
                )
            }
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn forward(port: u16, target: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting to serve");
    s.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("request");
    s.write_all(body).expect("body");
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).expect("status line");
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    let (_, answer) = read_headers_and_body(&mut r, true);
    (code, String::from_utf8_lossy(&answer).to_string())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SigV4 checked from its definition (canonical request, string to sign, derived key), written
/// apart from the signer it checks.
fn check_sigv4(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), String> {
    let auth = header(headers, "authorization").ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix(name))
            .map(str::to_string)
            .ok_or(format!("no {name}"))
    };
    let credential = field("Credential=")?;
    let signed = field("SignedHeaders=")?;
    let signature = field("Signature=")?;
    let mut scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != ACCESS_KEY {
        return Err(format!("credential {credential}"));
    }
    scope.remove(0);
    let (date, region, service) = (scope[0], scope[1], scope[2]);
    if service != "execute-api" || region != "eu-west-1" || scope[3] != "aws4_request" {
        return Err(format!("scope {credential}"));
    }
    let amz_date = header(headers, "x-amz-date").ok_or("no X-Amz-Date")?;
    if !amz_date.starts_with(date) {
        return Err("X-Amz-Date is not the scope's date".into());
    }
    let names: Vec<&str> = signed.split(';').collect();
    for needed in ["host", "x-amz-date", "x-amz-target"] {
        if !names.contains(&needed) {
            return Err(format!("{needed} is not signed"));
        }
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let value = header(headers, name).ok_or(format!("signed header {name} missing"))?;
        canonical_headers.push_str(&format!(
            "{name}:{}\n",
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    let canonical = format!(
        "{method}\n{path}\n\n{canonical_headers}\n{signed}\n{}",
        hex(&Sha256::digest(body))
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    let expected = hex(&hmac(&k_signing, &to_sign));
    if expected != signature {
        return Err("the signature does not match".into());
    }
    Ok(())
}

#[test]
fn the_gate_refuses_a_tampered_body() {
    // The checker itself: a request signed by the real signer passes, the same with another
    // body does not (so the browser test's count of valid requests means something).
    let creds = aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "t");
    let identity = creds.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("execute-api")
        .time(std::time::SystemTime::now())
        .settings(aws_sigv4::http_request::SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let headers = [
        ("host", "127.0.0.1:9"),
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AWSStepFunctions.ListStateMachines"),
    ];
    let body = b"{}";
    let signable = aws_sigv4::http_request::SignableRequest::new(
        "POST",
        "http://127.0.0.1:9/Prod/",
        headers.iter().copied(),
        aws_sigv4::http_request::SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .expect("sign")
        .into_parts();
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in instructions.headers() {
        all.push((k.to_ascii_lowercase(), v.to_string()));
    }
    assert_eq!(check_sigv4("POST", "/Prod/", &all, body), Ok(()));
    assert!(check_sigv4("POST", "/Prod/", &all, b"{\"x\":1}").is_err());
    assert!(check_sigv4("POST", "/Other/", &all, body).is_err());
}
