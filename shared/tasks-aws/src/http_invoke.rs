//! `arn:aws:states:::http:invoke`: the HTTP Task (call a third-party HTTPS API).
//!
//! Parameters as Step Functions reads them: `ApiEndpoint` and `Method` (required),
//! `Authentication.ConnectionArn` (required; `InvocationConfig.ConnectionArn` is read too),
//! `Headers`, `QueryParameters`, `RequestBody`, and `Transform` (`RequestBodyEncoding`:
//! `NONE` or `URL_ENCODED`, with `RequestEncodingOptions.ArrayFormat` `INDICES` (default),
//! `REPEAT`, `COMMAS` or `BRACKETS` for arrays). The connection's authorization (API key,
//! basic, OAuth client credentials) and its invocation parameters are added to the request
//! (see [`crate::connections`]).
//!
//! The result is `{"Headers": {name: [values]}, "ResponseBody", "StatusCode", "StatusText"}`,
//! `ResponseBody` parsed when the response is JSON. A status outside 2xx fails the task with
//! `States.Http.StatusCode.<code>` and the status text (`Not Found`) for the cause, as AWS
//! reports it (the response body is not kept); no response
//! at all fails with `States.Http.Socket`. Bad parameters fail with `States.Runtime`.
//!
//! Beyond AWS: the endpoint may be `http://` (AWS requires HTTPS), so tests and local services
//! can be called.

use serde_json::{json, Map, Value};
use stepwise_ports::tasks::{HttpExchange, TaskFailure, TaskRequest};

use crate::connections::{basic_auth_value, Authorization, Connections};
use crate::wire::{self, AwsEndpoints, HttpRequest, HttpResponse};

/// Error name prefix of a failed status.
pub const STATUS_CODE_PREFIX: &str = "States.Http.StatusCode.";

/// Error name when no response came back.
pub const SOCKET: &str = "States.Http.Socket";

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// Headers a task may not set (the HTTP Task documentation's list), besides the `X-Amz-*`,
/// `X-Amzn-*` and `X-Forwarded-*` families.
const FORBIDDEN_HEADERS: [&str; 32] = [
    "a-im",
    "accept-charset",
    "accept-datetime",
    "accept-encoding",
    "cache-control",
    "connection",
    "content-encoding",
    "content-md5",
    "date",
    "expect",
    "forwarded",
    "from",
    "host",
    "http2-settings",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "max-forwards",
    "origin",
    "pragma",
    "proxy-authorization",
    "referer",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "warning",
    "content-length",
];

fn forbidden(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-amz-")
        || n.starts_with("x-amzn-")
        || n.starts_with("x-forwarded-")
        || FORBIDDEN_HEADERS.contains(&n.as_str())
}

fn invalid(field: &str) -> TaskFailure {
    TaskFailure::runtime(format!(
        "The Parameters could not be used to start the Task: [The value of the field '{field}' has an invalid format]"
    ))
}

fn missing(field: &str) -> TaskFailure {
    TaskFailure::runtime(format!(
        "The Parameters could not be used to start the Task: [The field '{field}' is required]"
    ))
}

/// Percent-encodes a URL component (RFC 3986 unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k2=v2`, each part percent-encoded.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How arrays are written in a URL-encoded body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFormat {
    /// `a[0]=x&a[1]=y` (the default).
    Indices,
    /// `a=x&a=y`.
    Repeat,
    /// `a=x,y`.
    Commas,
    /// `a[]=x&a[]=y`.
    Brackets,
}

/// Flattens a JSON object into form pairs (nested objects as `a[b]`).
pub fn form_pairs(prefix: &str, v: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                form_pairs(&key, v, format, out);
            }
        }
        Value::Array(items) => match format {
            ArrayFormat::Commas => {
                out.push((
                    prefix.to_string(),
                    items.iter().map(scalar).collect::<Vec<_>>().join(","),
                ));
            }
            _ => {
                for (i, item) in items.iter().enumerate() {
                    let key = match format {
                        ArrayFormat::Indices => format!("{prefix}[{i}]"),
                        ArrayFormat::Brackets => format!("{prefix}[]"),
                        _ => prefix.to_string(),
                    };
                    form_pairs(&key, item, format, out);
                }
            }
        },
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

/// The task's request, before the connection is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTask {
    /// The connection's ARN.
    pub connection_arn: String,
    /// The method.
    pub method: String,
    /// The endpoint URL.
    pub endpoint: String,
    /// The task's headers.
    pub headers: Vec<(String, String)>,
    /// The query parameters.
    pub query: Vec<(String, String)>,
    /// The body (JSON), if any.
    pub body: Option<Value>,
    /// URL-encoded body, with this array format.
    pub url_encoded: Option<ArrayFormat>,
}

/// Reads the task's parameters.
pub fn parse(p: &Value) -> Result<HttpTask, TaskFailure> {
    let endpoint = match p.get("ApiEndpoint") {
        None => return Err(missing("ApiEndpoint")),
        Some(Value::String(s)) if s.starts_with("https://") || s.starts_with("http://") => {
            s.clone()
        }
        Some(_) => return Err(invalid("ApiEndpoint")),
    };
    let method = match p.get("Method") {
        None => return Err(missing("Method")),
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            m.to_ascii_uppercase()
        }
        Some(_) => return Err(invalid("Method")),
    };
    let connection_arn = ["Authentication", "InvocationConfig"]
        .iter()
        .find_map(|k| p.get(*k)?.get("ConnectionArn")?.as_str())
        .ok_or_else(|| missing("Authentication.ConnectionArn"))?
        .to_string();
    let mut headers = Vec::new();
    match p.get("Headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if forbidden(k) {
                    return Err(TaskFailure::runtime(format!(
                        "The Parameters could not be used to start the Task: [The header '{k}' is not allowed]"
                    )));
                }
                let value = match v {
                    Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
                    Value::Object(_) => return Err(invalid("Headers")),
                    other => scalar(other),
                };
                headers.push((k.clone(), value));
            }
        }
        Some(_) => return Err(invalid("Headers")),
    }
    let mut query = Vec::new();
    match p.get("QueryParameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|i| (k.clone(), scalar(i))));
                    }
                    Value::Object(_) => return Err(invalid("QueryParameters")),
                    other => query.push((k.clone(), scalar(other))),
                }
            }
        }
        Some(_) => return Err(invalid("QueryParameters")),
    }
    let transform = p.get("Transform");
    let url_encoded = match transform
        .and_then(|t| t.get("RequestBodyEncoding"))
        .map(|v| v.as_str().unwrap_or("?"))
    {
        None | Some("NONE") => None,
        Some("URL_ENCODED") => Some(
            match transform
                .and_then(|t| t.get("RequestEncodingOptions"))
                .and_then(|o| o.get("ArrayFormat"))
                .map(|v| v.as_str().unwrap_or("?"))
            {
                None | Some("INDICES") => ArrayFormat::Indices,
                Some("REPEAT") => ArrayFormat::Repeat,
                Some("COMMAS") => ArrayFormat::Commas,
                Some("BRACKETS") => ArrayFormat::Brackets,
                Some(_) => return Err(invalid("Transform.RequestEncodingOptions.ArrayFormat")),
            },
        ),
        Some(_) => return Err(invalid("Transform.RequestBodyEncoding")),
    };
    Ok(HttpTask {
        connection_arn,
        method,
        endpoint,
        headers,
        query,
        body: p.get("RequestBody").cloned(),
        url_encoded,
    })
}

/// The task's output for a response.
pub fn output(response: &HttpResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &response.headers {
        if let Value::Array(a) = headers
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(Value::String(v.clone()));
        }
    }
    let is_json = response
        .header("content-type")
        .is_some_and(|t| t.contains("json"));
    let text = response.text();
    let body = if is_json {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": response.status,
        "StatusText": response.status_text,
    })
}

/// What a connection adds to a request: its invocation parameters and its authorization header
/// (TestState shows them only with `revealSecrets`).
struct Added {
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    authorization: (String, String),
}

/// Builds the request: the task's parts plus the connection's parameters and authorization.
pub async fn request(
    task: &HttpTask,
    connections: &Connections,
    aws: &AwsEndpoints,
) -> Result<HttpRequest, TaskFailure> {
    let connection = connections.resolve(aws, &task.connection_arn).await?;
    let authorization = match &connection.authorization {
        Authorization::ApiKey { name, value } => (name.clone(), value.clone()),
        Authorization::Basic { username, password } => {
            ("Authorization".into(), basic_auth_value(username, password))
        }
        oauth @ Authorization::OAuth { .. } => {
            let token = connections.oauth_token(&task.connection_arn, oauth).await?;
            ("Authorization".into(), format!("Bearer {token}"))
        }
    };
    assemble(
        task,
        Some(Added {
            headers: connection.invocation.headers.clone(),
            query: connection.invocation.query.clone(),
            body: connection.invocation.body.clone(),
            authorization,
        }),
    )
}

/// The request from the task's parts and what the connection adds, if given.
fn assemble(task: &HttpTask, added: Option<Added>) -> Result<HttpRequest, TaskFailure> {
    let mut headers = task.headers.clone();
    let mut query = task.query.clone();
    let mut body = task.body.clone();
    if let Some(a) = &added {
        headers.extend(a.headers.iter().cloned());
        query.extend(a.query.iter().cloned());
        if !a.body.is_empty() {
            let mut merged = match body {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(m)) => m,
                Some(_) => {
                    return Err(TaskFailure::runtime(
                        "The connection's body parameters cannot be added to a RequestBody that is not an object.",
                    ))
                }
            };
            for (k, v) in &a.body {
                merged.insert(k.clone(), Value::String(v.clone()));
            }
            body = Some(Value::Object(merged));
        }
    }
    let has_header =
        |h: &[(String, String)], name: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let body_bytes = match (&body, task.url_encoded) {
        (None, _) | (Some(Value::Null), _) => None,
        (Some(Value::String(s)), _) => Some(s.clone().into_bytes()),
        (Some(v), Some(format)) => {
            let mut pairs = Vec::new();
            form_pairs("", v, format, &mut pairs);
            if !has_header(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            Some(form_encode(&pairs).into_bytes())
        }
        (Some(v), None) => {
            if !has_header(&headers, "content-type") {
                headers.push((
                    "Content-Type".into(),
                    "application/json; charset=UTF-8".into(),
                ));
            }
            Some(serde_json::to_vec(v).map_err(|e| TaskFailure::runtime(e.to_string()))?)
        }
    };
    if let Some(a) = added {
        headers.push(a.authorization);
    }
    let mut url = task.endpoint.clone();
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&form_encode(&query));
    }
    Ok(HttpRequest {
        method: task.method.clone(),
        url,
        headers,
        body: body_bytes,
    })
}

/// The task's outcome from the response.
fn outcome(response: &HttpResponse) -> Result<Value, TaskFailure> {
    let out = output(response);
    if (200..300).contains(&response.status) {
        Ok(out)
    } else {
        // AWS keeps only the status text as the cause: the response body is not in the
        // failure (observed on AWS: `States.Http.StatusCode.400` with cause `Bad Request`).
        Err(TaskFailure::new(
            format!("{STATUS_CODE_PREFIX}{}", response.status),
            response.status_text.clone(),
        ))
    }
}

/// Runs one `http:invoke` task.
pub async fn invoke(
    req: &TaskRequest,
    connections: &Connections,
    aws: &AwsEndpoints,
) -> Result<Value, TaskFailure> {
    let task = parse(&req.parameters)?;
    let http = request(&task, connections, aws).await?;
    let response = wire::send(http)
        .await
        .map_err(|e| TaskFailure::new(SOCKET, e.message))?;
    outcome(&response)
}

/// Headers as TestState shows them: `[Name: value, Name: value]`.
fn headers_text(headers: &[(String, String)]) -> String {
    let items: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("[{}]", items.join(", "))
}

fn protocol(url: &str) -> String {
    url.split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Runs one `http:invoke` task and returns the exchange as TestState shows it at TRACE
/// (InspectionDataRequest and InspectionDataResponse). Without `reveal_secrets` the request is
/// shown without what the connection adds (its authorization and parameters), as AWS shows it.
pub async fn invoke_traced(
    req: &TaskRequest,
    connections: &Connections,
    aws: &AwsEndpoints,
    reveal_secrets: bool,
) -> (Result<Value, TaskFailure>, Option<HttpExchange>) {
    let task = match parse(&req.parameters) {
        Ok(t) => t,
        Err(e) => return (Err(e), None),
    };
    let http = match request(&task, connections, aws).await {
        Ok(h) => h,
        Err(e) => return (Err(e), None),
    };
    let shown = if reveal_secrets {
        Ok(http.clone())
    } else {
        assemble(&task, None)
    };
    let request_view = shown.ok().map(|h| {
        json!({
            "protocol": protocol(&h.url),
            "method": h.method,
            "url": h.url,
            "headers": headers_text(&h.headers),
            "body": h.body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default(),
        })
    });
    let scheme = protocol(&http.url);
    match wire::send(http).await {
        Err(e) => (
            Err(TaskFailure::new(SOCKET, e.message)),
            request_view.map(|request| HttpExchange {
                request,
                response: None,
            }),
        ),
        Ok(response) => {
            let response_view = json!({
                "protocol": scheme,
                "statusCode": response.status.to_string(),
                "statusMessage": response.status_text,
                "headers": headers_text(&response.headers),
                "body": response.text(),
            });
            (
                outcome(&response),
                request_view.map(|request| HttpExchange {
                    request,
                    response: Some(response_view),
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_url_encoded_in_each_format() {
        let body = json!({"a": ["x", "y"], "b": {"c": 1}, "d": "e f"});
        let enc = |f| {
            let mut pairs = Vec::new();
            form_pairs("", &body, f, &mut pairs);
            form_encode(&pairs)
        };
        assert_eq!(
            enc(ArrayFormat::Indices),
            "a%5B0%5D=x&a%5B1%5D=y&b%5Bc%5D=1&d=e%20f"
        );
        assert_eq!(enc(ArrayFormat::Repeat), "a=x&a=y&b%5Bc%5D=1&d=e%20f");
        assert_eq!(enc(ArrayFormat::Commas), "a=x%2Cy&b%5Bc%5D=1&d=e%20f");
        assert_eq!(
            enc(ArrayFormat::Brackets),
            "a%5B%5D=x&a%5B%5D=y&b%5Bc%5D=1&d=e%20f"
        );
    }

    #[test]
    fn parameters_are_checked() {
        let ok = json!({"ApiEndpoint": "https://example.com/x", "Method": "post",
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/c/1"},
            "QueryParameters": {"q": ["1", "2"], "r": 3},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                "RequestEncodingOptions": {"ArrayFormat": "REPEAT"}}});
        let t = parse(&ok).unwrap();
        assert_eq!(t.method, "POST");
        assert_eq!(
            t.query,
            vec![
                ("q".into(), "1".into()),
                ("q".into(), "2".into()),
                ("r".into(), "3".into())
            ]
        );
        assert_eq!(t.url_encoded, Some(ArrayFormat::Repeat));
        let mut bad = ok.clone();
        bad.as_object_mut().unwrap().remove("Authentication");
        assert!(parse(&bad).unwrap_err().cause.contains("ConnectionArn"));
        let mut bad = ok.clone();
        bad["Method"] = json!("FETCH");
        assert_eq!(parse(&bad).unwrap_err().error, "States.Runtime");
        let mut bad = ok;
        bad["Headers"] = json!({"Host": "x"});
        assert!(parse(&bad).unwrap_err().cause.contains("'Host'"));
    }

    #[test]
    fn json_responses_are_parsed() {
        let r = HttpResponse {
            status: 404,
            status_text: "Not Found".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"m":1}"#.to_vec(),
        };
        let out = output(&r);
        assert_eq!(out["ResponseBody"], json!({"m": 1}));
        assert_eq!(out["Headers"]["Content-Type"], json!(["application/json"]));
        assert_eq!(out["StatusText"], "Not Found");
    }
}
