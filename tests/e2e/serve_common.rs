//! What the `stepwise serve` end-to-end tests share: free ports, a temporary data directory, a
//! server process killed by its pid, a raw awsJson1_0 client, and a Lambda-compatible fake.
//! (A module of `serve_clients.rs` and `serve_durability.rs`, not a test of its own.)

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A guard against hangs, never a speed assertion: waiting longer than this is a failure.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A port nobody listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free port")
        .port()
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "stepwise-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

/// A running `stepwise serve`; dropped or [`Serve::kill`]ed, it is SIGKILLed by its pid.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `stepwise serve --host 127.0.0.1 --port PORT --data-dir DIR ARGS...` and waits
    /// until it accepts connections. Its stdout and stderr go to `DIR/../serve-PORT.log`.
    pub fn start(bin: &Path, data_dir: &Path, port: u16, args: &[&str]) -> Serve {
        Self::start_with_env(bin, data_dir, port, args, &[])
    }

    /// [`Serve::start`] with these environment variables set for the server.
    pub fn start_with_env(
        bin: &Path,
        data_dir: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Serve {
        let log = data_dir
            .parent()
            .unwrap_or(data_dir)
            .join(format!("serve-{port}.log"));
        let out = std::fs::File::create(&log).expect("creating the server log");
        let err = out.try_clone().expect("cloning the log handle");
        let child = Command::new(bin)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut s = Serve { child, port, log };
        s.wait_listening();
        s
    }

    fn wait_listening(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "stepwise serve exited ({status}) before listening:\n{}",
                    self.log_text()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "stepwise serve never listened on port {}:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (by pid) and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One API call; see [`call`].
    pub fn call(&self, action: &str, body: Value) -> (u16, Value) {
        call(self.port, action, &body)
    }

    /// One API call that must succeed.
    pub fn ok(&self, action: &str, body: Value) -> Value {
        let (status, out) = self.call(action, body.clone());
        assert_eq!(status, 200, "{action} {body} -> {status} {out}");
        out
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `POST /` with `X-Amz-Target: AWSStepFunctions.<action>` and a JSON body: the status and the
/// JSON answer (`Value::Null` when there is no body, a string when it is not JSON).
pub fn call(port: u16, action: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting to stepwise serve");
    s.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AWSStepFunctions.{action}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("sending the request");
    let (status, headers, raw) = read_response(&mut BufReader::new(s));
    let _ = headers;
    let text = String::from_utf8_lossy(&raw).to_string();
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Reads one HTTP/1.1 message (status or request line, headers, a Content-Length or chunked
/// body, or the rest of the stream): returns the code (0 for a request), headers, body.
fn read_response(r: &mut impl BufRead) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("reading the status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (headers, body) = read_headers_and_body(r, true);
    (status, headers, body)
}

pub fn read_headers_and_body(
    r: &mut impl BufRead,
    to_eof: bool,
) -> (Vec<(String, String)>, Vec<u8>) {
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body).expect("reading the body");
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("reading a chunk size");
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).expect("reading a chunk");
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if to_eof {
        let _ = r.read_to_end(&mut body);
    }
    (headers, body)
}

/// Polls `DescribeExecution` until the execution is no longer RUNNING; returns the description.
pub fn wait_done(serve: &Serve, execution_arn: &str) -> Value {
    let start = Instant::now();
    loop {
        let d = serve.ok(
            "DescribeExecution",
            json!({ "executionArn": execution_arn }),
        );
        if d["status"] != "RUNNING" {
            return d;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{execution_arn} still RUNNING after {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every history event of an execution, following `nextToken`.
pub fn history(serve: &Serve, execution_arn: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({ "executionArn": execution_arn, "maxResults": 100 });
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = serve.ok("GetExecutionHistory", req);
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        token = page["nextToken"].as_str().map(String::from);
        if token.is_none() {
            return events;
        }
    }
}

/// A Lambda-compatible endpoint on 127.0.0.1: `POST /2015-03-31/functions/{name}/invocations`
/// answers `handler(name, payload)` as the function's result. While the gate is closed, calls
/// are held (the connection stays open, unanswered) until it opens.
pub struct FakeLambda {
    pub port: u16,
    gate: Arc<(Mutex<bool>, Condvar)>,
    pub calls: Arc<AtomicUsize>,
}

type Handler = Arc<dyn Fn(&str, &Value) -> Value + Send + Sync>;

impl FakeLambda {
    pub fn start(open: bool, handler: Handler) -> FakeLambda {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake Lambda");
        let port = listener.local_addr().expect("address").port();
        let gate = Arc::new((Mutex::new(open), Condvar::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (g, c) = (gate.clone(), calls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (g, c, h) = (g.clone(), c.clone(), handler.clone());
                std::thread::spawn(move || serve_lambda(stream, &g, &c, &h));
            }
        });
        FakeLambda { port, gate, calls }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn open(&self) {
        *self.gate.0.lock().expect("gate") = true;
        self.gate.1.notify_all();
    }
}

fn serve_lambda(
    stream: TcpStream,
    gate: &(Mutex<bool>, Condvar),
    calls: &AtomicUsize,
    handler: &Handler,
) {
    let mut w = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(stream);
    loop {
        // one request of a keep-alive connection
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let (_, body) = read_headers_and_body(&mut r, false);
        calls.fetch_add(1, Ordering::SeqCst);
        {
            let mut open = gate.0.lock().expect("gate");
            while !*open {
                open = gate.1.wait(open).expect("gate");
            }
        }
        let name = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|p| p.split('/').next())
            .map(percent_decode)
            .unwrap_or_default();
        let name = match name.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
            None => name,
        };
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let out = handler(&name, &payload).to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Executed-Version: $LATEST\r\n\
             Content-Length: {}\r\n\r\n{out}",
            out.len()
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}
