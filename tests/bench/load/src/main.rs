//! Benchmark (not a test): a workload through `stepwise serve`'s API from concurrent HTTP clients,
//! light enough that the clients are not what is measured (tests/bench/api_w1.py does the same
//! with boto3, whose per-call cost in Python caps it near 200 executions/s on 2 cores).
//!
//!   stepwise-api-load [--endpoint 127.0.0.1:8083] [--clients 16] [--executions 5000]
//!                     [--workload ../shared/bench/workloads/W1-pass-chain]
//!
//! Each client (a thread with one keep-alive connection) starts an execution, polls
//! DescribeExecution until it is no longer RUNNING (at once, then every millisecond), checks the
//! output against expected.json and starts the next. Prints executions/s over the wall time,
//! start-to-end latency p50/p99, wrong outputs and errors. Requests are unsigned: `serve` does
//! not check signatures.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Conn {
    host: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(host: &str) -> std::io::Result<Self> {
        let s = TcpStream::connect(host)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            host: host.to_string(),
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    fn call(&mut self, action: &str, body: &Value) -> Result<(u16, Value), String> {
        let body = body.to_string();
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: AWSStepFunctions.{action}\r\n\
             Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.writer
            .write_all(req.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().map_err(|_| "bad content-length")?;
                }
            }
        }
        let mut buf = vec![0; len];
        self.reader
            .read_exact(&mut buf)
            .map_err(|e| e.to_string())?;
        let v = serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
        Ok((status, v))
    }

    fn ok(&mut self, action: &str, body: &Value) -> Result<Value, String> {
        match self.call(action, body)? {
            (200, v) => Ok(v),
            (s, v) => Err(format!("{action}: {s} {v}")),
        }
    }
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let endpoint = arg(&args, "--endpoint", "127.0.0.1:8083");
    let clients: usize = arg(&args, "--clients", "16").parse().expect("--clients");
    let executions: usize = arg(&args, "--executions", "5000")
        .parse()
        .expect("--executions");
    let here = env!("CARGO_MANIFEST_DIR");
    let default_workload = format!("{here}/../../../../shared/bench/workloads/W1-pass-chain");
    let workload = arg(&args, "--workload", &default_workload);
    let read = |f: &str| {
        std::fs::read_to_string(format!("{workload}/{f}")).unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let definition = read("definition.json");
    let input = read("input.json");
    let expected: Value = serde_json::from_str(&read("expected.json")).expect("expected.json");

    let mut setup = Conn::open(&endpoint).expect("connect");
    let name = format!("load-{}", std::process::id());
    let sm = setup
        .ok(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition,
                    "roleArn": "arn:aws:iam::111111111111:role/bench"}),
        )
        .expect("CreateStateMachine")["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();

    let todo = Arc::new(AtomicUsize::new(executions));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(executions)));
    let wrong = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let describes = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (endpoint, sm, input, expected) = (
                endpoint.clone(),
                sm.clone(),
                input.clone(),
                expected.clone(),
            );
            let (todo, latencies, wrong, errors, describes) = (
                todo.clone(),
                latencies.clone(),
                wrong.clone(),
                errors.clone(),
                describes.clone(),
            );
            std::thread::spawn(move || {
                let mut c = Conn::open(&endpoint).expect("connect");
                let start = json!({"stateMachineArn": sm, "input": input});
                while todo
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let t = Instant::now();
                    let r = (|| -> Result<bool, String> {
                        let ex = c.ok("StartExecution", &start)?;
                        let arn = ex["executionArn"].as_str().ok_or("no arn")?.to_string();
                        let q = json!({"executionArn": arn});
                        loop {
                            let d = c.ok("DescribeExecution", &q)?;
                            describes.fetch_add(1, Ordering::Relaxed);
                            if d["status"] != "RUNNING" {
                                let out: Value = d["output"]
                                    .as_str()
                                    .and_then(|o| serde_json::from_str(o).ok())
                                    .unwrap_or(Value::Null);
                                return Ok(d["status"] == "SUCCEEDED" && out == expected);
                            }
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    })();
                    let el = t.elapsed().as_secs_f64();
                    match r {
                        Ok(ok) => {
                            latencies.lock().expect("lock").push(el);
                            if !ok {
                                wrong.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            errors.lock().expect("lock").push(e);
                            if let Ok(n) = Conn::open(&endpoint) {
                                c = n;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let wall = t0.elapsed().as_secs_f64();
    let mut l = latencies.lock().expect("lock").clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let errors = errors.lock().expect("lock");
    println!(
        "{}: {} executions by {clients} clients in {wall:.2}s: {:.0} executions/s, latency p50 {:.1} ms p99 {:.1} ms, {:.2} describes/execution; {} wrong outputs, {} errors; load {}",
        workload.rsplit('/').next().unwrap_or_default(),
        l.len(),
        l.len() as f64 / wall,
        pct(0.5) * 1e3,
        pct(0.99) * 1e3,
        describes.load(Ordering::Relaxed) as f64 / l.len().max(1) as f64,
        wrong.load(Ordering::Relaxed),
        errors.len(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    if wrong.load(Ordering::Relaxed) > 0 || !errors.is_empty() {
        std::process::exit(1);
    }
}
