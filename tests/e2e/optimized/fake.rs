//! A small AWS-shaped HTTP endpoint on 127.0.0.1 for the jobs moto cannot finish (a Batch job,
//! an ECS task's exit) and the services it does not have (Bedrock Runtime): each request is
//! answered by a handler from its operation (the `X-Amz-Target` header's operation for the JSON
//! protocols, else the path) and JSON body. Every request is recorded.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What a request asked for.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The operation (`DescribeJobs` from `X-Amz-Target`, or the path `/v1/describejobs`).
    pub operation: String,
    /// The body, as JSON (`null` when it is not JSON).
    pub body: Value,
}

/// An answer: status, error type (sent as `x-amzn-ErrorType` for REST-JSON), JSON body.
pub struct Answer {
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub body: Value,
}

impl Answer {
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            error_type: None,
            body,
        }
    }

    pub fn error(status: u16, error_type: &'static str, message: &str) -> Self {
        Self {
            status,
            error_type: Some(error_type),
            body: serde_json::json!({"__type": error_type, "message": message}),
        }
    }
}

type Handler = dyn Fn(&Seen) -> Answer + Send + Sync;

/// The running endpoint (stops when the test's runtime ends).
pub struct Fake {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Starts an endpoint answering with `handler`.
pub async fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let record = record.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                // One request after another on the connection (the caller keeps it alive).
                loop {
                    let mut request_line = String::new();
                    if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("/")
                        .to_string();
                    let (mut length, mut target) = (0usize, None::<String>);
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            let value = value.trim();
                            match name.to_ascii_lowercase().as_str() {
                                "content-length" => length = value.parse().unwrap_or(0),
                                "x-amz-target" => target = Some(value.to_string()),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if read.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let operation = match target {
                        Some(t) => t.rsplit('.').next().unwrap_or(&t).to_string(),
                        None => path.split('?').next().unwrap_or("/").to_string(),
                    };
                    let seen = Seen {
                        operation,
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    };
                    let answer = handler(&seen);
                    if let Ok(mut r) = record.lock() {
                        r.push(seen);
                    }
                    let text = answer.body.to_string();
                    let reason = if answer.status < 400 { "OK" } else { "Error" };
                    let mut head = format!(
                        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nx-amzn-RequestId: fake-request-id\r\n",
                        answer.status,
                        text.len()
                    );
                    if let Some(t) = answer.error_type {
                        head.push_str(&format!("x-amzn-ErrorType: {t}\r\n"));
                    }
                    head.push_str("\r\n");
                    if write.write_all(head.as_bytes()).await.is_err()
                        || write.write_all(text.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Fake { url, seen }
}
