//! A small AWS-shaped HTTP endpoint on 127.0.0.1 for the jobs moto cannot finish (a Batch job,
//! an ECS task's exit) and the services it does not have (Bedrock Runtime): each request is
//! answered by a handler from its operation (the `X-Amz-Target` header's operation for the JSON
//! protocols, else the path) and JSON body. Every request is recorded. [`start_in_front_of`]
//! passes what its handler does not answer on to another endpoint (moto), so one endpoint can
//! stand for every service, as a serverless invoker's single endpoint URL needs.

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

type Handler = dyn Fn(&Seen) -> Option<Answer> + Send + Sync;

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
    start_in_front_of(None, move |seen: &Seen| Some(handler(seen))).await
}

/// Starts an endpoint answering with `handler`; a request it answers `None` is passed on to
/// `behind` (`http://host:port`) as it came, and that endpoint's answer is relayed. Only the
/// answered requests are recorded.
pub async fn start_in_front_of(
    behind: Option<String>,
    handler: impl Fn(&Seen) -> Option<Answer> + Send + Sync + 'static,
) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let record = record.clone();
            let behind = behind.clone();
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
                    let mut head = vec![request_line.trim_end().to_string()];
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
                        head.push(line.to_string());
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
                    let Some(answer) = handler(&seen) else {
                        // Relayed, then the connection ends: the relayed answer says so.
                        if let Some(behind) = &behind {
                            if let Some(reply) = forward(behind, &head, &body).await {
                                let _ = write.write_all(&reply).await;
                            }
                        }
                        return;
                    };
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

/// Sends a request to `behind` with `Connection: close` and returns the whole answer, with
/// `Connection: close` in its head so the caller does not reuse the connection.
async fn forward(behind: &str, head: &[String], body: &[u8]) -> Option<Vec<u8>> {
    let address = behind.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let mut request = String::new();
    for line in head {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    stream.write_all(body).await.ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.ok()?;
    let end = reply.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&reply[..end]).to_string();
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&reply[end..]);
    Some(out)
}
