//! Plain HTTP for the integrations that are not one SDK call (`http:invoke`,
//! `apigateway:invoke`, Step Functions' own API in `stepwise run`, the EventBridge connection a
//! `http:invoke` task names): one request over `ureq` on a blocking thread, optionally signed
//! with SigV4, and where each AWS service is reached.
//!
//! Where calls go follows the AWS SDKs' own rules: `AWS_ENDPOINT_URL_<SERVICE>` first, then the
//! endpoint given on the command line (`--aws-endpoint-url`) or `AWS_ENDPOINT_URL`, then the
//! service's public endpoint in the region. Credentials come from the default chain
//! (environment, profile, web identity, container, instance metadata), loaded once; without
//! any, requests are signed with `test`/`test`, which local emulators accept.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::Value;
use tokio::sync::OnceCell;

/// Region used when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long one HTTP exchange may take (Step Functions' HTTP Task limit is 60 seconds).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The full URL, query string included.
    pub url: String,
    /// Header names and values, in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// One HTTP response, whatever its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase (`OK`, `Not Found`).
    pub status_text: String,
    /// Header names (in `Title-Case`) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// No HTTP response came back (connection refused, DNS, TLS, timeout).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What went wrong.
    pub message: String,
    /// The request timed out.
    pub timed_out: bool,
}

/// `content-type` -> `Content-Type` (ureq reports header names in lower case).
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// How the Java SDK's `SdkHttpMetadata` (AWS's recordings) spells a response header: a few
/// known mixed-case names, the rest Title-Cased with lower-case tails (`content-type` ->
/// `Content-Type`). The Lambda invoker and the optimized integrations share it.
pub fn sdk_header_name(name: &str) -> String {
    let known = match name.to_ascii_lowercase().as_str() {
        "x-amzn-requestid" => Some("x-amzn-RequestId"),
        "x-amzn-remapped-content-length" => Some("x-amzn-Remapped-Content-Length"),
        "x-amz-executed-version" => Some("X-Amz-Executed-Version"),
        "x-amz-function-error" => Some("X-Amz-Function-Error"),
        "x-amz-log-result" => Some("X-Amz-Log-Result"),
        "x-amz-crc32" => Some("x-amz-crc32"),
        "x-amz-request-id" => Some("x-amz-request-id"),
        "x-amz-id-2" => Some("x-amz-id-2"),
        "x-amzn-query-error" => Some("x-amzn-query-error"),
        "x-amzn-trace-id" => Some("X-Amzn-Trace-Id"),
        _ => None,
    };
    match known {
        Some(k) => k.to_string(),
        None => title_case(&name.to_ascii_lowercase()),
    }
}

fn send_blocking(req: HttpRequest) -> Result<HttpResponse, TransportError> {
    let agent = ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT).build();
    let mut request = agent.request(&req.method, &req.url);
    for (k, v) in &req.headers {
        request = request.set(k, v);
    }
    let result = match &req.body {
        Some(body) => request.send_bytes(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            let message = t.to_string();
            let timed_out = message.contains("timed out") || message.contains("Timeout");
            return Err(TransportError { message, timed_out });
        }
    };
    let status = response.status();
    let status_text = response.status_text().to_string();
    let mut headers = Vec::new();
    for name in response.headers_names() {
        for value in response.all(&name) {
            headers.push((title_case(&name), value.to_string()));
        }
    }
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).map_err(|e| {
        TransportError {
            message: format!("reading the response: {e}"),
            timed_out: false,
        }
    })?;
    Ok(HttpResponse {
        status,
        status_text,
        headers,
        body,
    })
}

/// Sends one request on a blocking thread; any status is a response.
pub async fn send(req: HttpRequest) -> Result<HttpResponse, TransportError> {
    tokio::task::spawn_blocking(move || send_blocking(req))
        .await
        .map_err(|e| TransportError {
            message: format!("the request's thread ended: {e}"),
            timed_out: false,
        })?
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where AWS calls go and who signs them: the region, an endpoint override, and the default
/// credentials chain (loaded on first use).
#[derive(Debug)]
pub struct AwsEndpoints {
    region: String,
    endpoint_url: Option<String>,
    credentials: OnceCell<Credentials>,
    provider: Option<SharedCredentialsProvider>,
}

impl AwsEndpoints {
    /// Endpoints in `region` (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`), all
    /// services at `endpoint_url` when given (else `AWS_ENDPOINT_URL`), each overridable with
    /// `AWS_ENDPOINT_URL_<SERVICE>`.
    pub fn new(region: Option<String>, endpoint_url: Option<String>) -> Self {
        let region = region
            .or_else(|| env_var("AWS_REGION"))
            .or_else(|| env_var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        AwsEndpoints {
            region,
            endpoint_url: endpoint_url.or_else(|| env_var("AWS_ENDPOINT_URL")),
            credentials: OnceCell::new(),
            provider: None,
        }
    }

    /// Signs with these credentials instead of the default chain's.
    pub fn with_credentials(self, credentials: Credentials) -> Self {
        AwsEndpoints {
            credentials: OnceCell::new_with(Some(credentials)),
            ..self
        }
    }

    /// Signs with credentials from this provider (an assumed role's) instead.
    pub fn with_provider(self, provider: SharedCredentialsProvider) -> Self {
        AwsEndpoints {
            provider: Some(provider),
            ..self
        }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint of a service: `AWS_ENDPOINT_URL_<ENV_ID>` (e.g. `SFN`, `EVENTS`,
    /// `SECRETS_MANAGER`), the shared override, or `https://<host_prefix>.<region>.amazonaws.com`.
    pub fn endpoint(&self, env_id: &str, host_prefix: &str) -> String {
        env_var(&format!("AWS_ENDPOINT_URL_{env_id}"))
            .or_else(|| self.endpoint_url.clone())
            .unwrap_or_else(|| format!("https://{host_prefix}.{}.amazonaws.com", self.region))
            .trim_end_matches('/')
            .to_string()
    }

    /// The credentials to sign with: the provider's when one was given (its failure is an
    /// error), else the default chain's (`test`/`test` when it has none).
    pub async fn credentials(&self) -> Result<Credentials, String> {
        if let Some(p) = &self.provider {
            return p.provide_credentials().await.map_err(|e| {
                format!(
                    "the role's credentials: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )
            });
        }
        Ok(self
            .credentials
            .get_or_init(|| async {
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region.clone()))
                    .load()
                    .await;
                let found = match config.credentials_provider() {
                    Some(p) => p.provide_credentials().await.ok(),
                    None => None,
                };
                found.unwrap_or_else(|| {
                    Credentials::new("test", "test", None, None, "stepwise-local")
                })
            })
            .await
            .clone())
    }

    /// Signs `req` with SigV4 for `service` (`execute-api`, `states`, `events`, ...) in `region`.
    pub async fn sign(
        &self,
        req: &mut HttpRequest,
        service: &str,
        region: &str,
    ) -> Result<(), String> {
        let identity = self.credentials().await?.into();
        sign_with(&identity, req, service, region)
    }

    /// Calls an AWS JSON protocol action (`X-Amz-Target`), signed; the parsed response or the
    /// service's error.
    pub async fn json_call(
        &self,
        call: JsonCall<'_>,
        body: &Value,
    ) -> Result<JsonResponse, JsonCallError> {
        let endpoint = self.endpoint(call.env_id, call.host_prefix);
        let mut req = HttpRequest {
            method: "POST".into(),
            url: format!("{endpoint}/"),
            headers: vec![
                ("Content-Type".into(), call.content_type.into()),
                ("X-Amz-Target".into(), call.target.into()),
            ],
            body: Some(
                serde_json::to_vec(body).map_err(|e| JsonCallError::Transport {
                    message: e.to_string(),
                })?,
            ),
        };
        self.sign(&mut req, call.signing_name, &self.region.clone())
            .await
            .map_err(|message| JsonCallError::Transport { message })?;
        let response = send(req)
            .await
            .map_err(|e| JsonCallError::Transport { message: e.message })?;
        let parsed: Value = if response.body.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&response.body).unwrap_or(Value::String(response.text()))
        };
        let request_id = response
            .header("x-amzn-RequestId")
            .or_else(|| response.header("x-amz-request-id"))
            .unwrap_or_default()
            .to_string();
        if (200..300).contains(&response.status) {
            return Ok(JsonResponse {
                status: response.status,
                headers: response.headers,
                body: parsed,
                request_id,
            });
        }
        let code = parsed
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| "UnknownError".into());
        let message = parsed
            .get("message")
            .or_else(|| parsed.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Err(JsonCallError::Service {
            status: response.status,
            code,
            message,
            request_id,
        })
    }
}

/// Signs `req` with these credentials.
pub fn sign_with(
    identity: &aws_smithy_runtime_api::client::identity::Identity,
    req: &mut HttpRequest,
    service: &str,
    region: &str,
) -> Result<(), String> {
    let host = req
        .url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
        .ok_or_else(|| format!("the URL '{}' has no host", req.url))?
        .to_string();
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("host"))
    {
        req.headers.push(("host".into(), host));
    }
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let body = req.body.as_deref().unwrap_or_default();
    let signable = SignableRequest::new(
        &req.method,
        &req.url,
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("signable request: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("signing: {e}"))?
        .into_parts();
    for (k, v) in instructions.headers() {
        req.headers.push((k.to_string(), v.to_string()));
    }
    // ureq sets Host itself from the URL.
    req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("host"));
    Ok(())
}

/// One AWS JSON protocol action.
#[derive(Debug, Clone, Copy)]
pub struct JsonCall<'a> {
    /// The `AWS_ENDPOINT_URL_<ID>` suffix of the service (`SFN`, `EVENTS`, `SECRETS_MANAGER`).
    pub env_id: &'a str,
    /// The public endpoint's host prefix (`states`, `events`, `secretsmanager`).
    pub host_prefix: &'a str,
    /// The SigV4 signing name.
    pub signing_name: &'a str,
    /// `X-Amz-Target`, e.g. `AWSStepFunctions.StartExecution`.
    pub target: &'a str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    pub content_type: &'a str,
}

/// A successful AWS JSON response.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: Vec<(String, String)>,
    /// The parsed body.
    pub body: Value,
    /// `x-amzn-RequestId`.
    pub request_id: String,
}

impl JsonResponse {
    /// `SdkHttpMetadata` and `SdkResponseMetadata` as Step Functions adds them to an optimized
    /// integration's result.
    pub fn sdk_metadata(&self) -> (Value, Value) {
        sdk_metadata(self.status, &self.headers, &self.request_id)
    }
}

/// `SdkHttpMetadata` (`AllHttpHeaders` as lists, `HttpHeaders` as strings, `HttpStatusCode`)
/// and `SdkResponseMetadata` (`RequestId`).
pub fn sdk_metadata(status: u16, headers: &[(String, String)], request_id: &str) -> (Value, Value) {
    let mut all = serde_json::Map::new();
    let mut single = serde_json::Map::new();
    for (k, v) in headers {
        let entry = all
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(v.clone()));
        }
        single
            .entry(k.clone())
            .or_insert_with(|| Value::String(v.clone()));
    }
    (
        serde_json::json!({
            "AllHttpHeaders": all,
            "HttpHeaders": single,
            "HttpStatusCode": status,
        }),
        serde_json::json!({ "RequestId": request_id }),
    )
}

/// Why an AWS JSON call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonCallError {
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Service {
        /// The HTTP status.
        status: u16,
        /// The error code (`__type` without its namespace).
        code: String,
        /// The message.
        message: String,
        /// `x-amzn-RequestId`.
        request_id: String,
    },
    /// No response.
    #[error("{message}")]
    Transport {
        /// What went wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("x-amzn-requestid"), "X-Amzn-Requestid");
        assert_eq!(title_case("date"), "Date");
    }

    #[test]
    fn endpoints_follow_the_sdk_variables() {
        let e = AwsEndpoints::new(Some("eu-west-1".into()), None);
        if std::env::var_os("AWS_ENDPOINT_URL").is_none()
            && std::env::var_os("AWS_ENDPOINT_URL_SFN").is_none()
        {
            assert_eq!(
                e.endpoint("SFN", "states"),
                "https://states.eu-west-1.amazonaws.com"
            );
        }
        let e = AwsEndpoints::new(
            Some("eu-west-1".into()),
            Some("http://127.0.0.1:5000/".into()),
        );
        if std::env::var_os("AWS_ENDPOINT_URL_EVENTS").is_none() {
            assert_eq!(e.endpoint("EVENTS", "events"), "http://127.0.0.1:5000");
        }
    }

    #[test]
    fn sdk_metadata_lists_every_header_value() {
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Set-Cookie".to_string(), "a".to_string()),
            ("Set-Cookie".to_string(), "b".to_string()),
        ];
        let (http, resp) = sdk_metadata(200, &headers, "r-1");
        assert_eq!(
            http["AllHttpHeaders"]["Set-Cookie"],
            serde_json::json!(["a", "b"])
        );
        assert_eq!(http["HttpHeaders"]["Set-Cookie"], "a");
        assert_eq!(http["HttpStatusCode"], 200);
        assert_eq!(resp["RequestId"], "r-1");
    }
}
