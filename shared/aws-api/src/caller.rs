//! The caller: credentials, endpoints, SigV4, the HTTP exchange and the SDKs' standard retries.

use crate::endpoint::{self, Endpoint, Overrides};
use crate::model::{service_model, ServiceModel};
use crate::protocol::{self, Request, Response};
use crate::validate::{self, Checks};
use crate::{ApiCall, ApiCallError, ApiResponse, AwsSettings};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use percent_encoding::utf8_percent_encode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Attempts per call, as the SDKs' standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long one attempt may take before it counts as a transport failure.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of one call beyond [`ApiCall`].
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    /// Reject a missing required member before sending (default). The AWS SDKs for Java do
    /// not check this and leave it to the service; Step Functions' `aws-sdk:*` tasks turn it
    /// off to report the service's own message.
    pub check_required: bool,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            check_required: true,
        }
    }
}

/// The outcome of [`AwsCaller::call_traced`].
#[derive(Debug, Clone)]
pub struct Traced {
    /// The call's result.
    pub result: Result<ApiResponse, ApiCallError>,
    /// Attempts made (0 when the call failed before sending: validation, unknown operation).
    pub attempts: u32,
    /// The headers of the last answer, names lower-cased (empty without an answer).
    pub headers: Vec<(String, String)>,
}

struct Inner {
    region: String,
    overrides: Overrides,
    credentials: Option<SharedCredentialsProvider>,
    client: OnceLock<Result<HttpsClient, String>>,
}

/// Calls AWS APIs. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct AwsCaller {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AwsCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCaller")
            .field("region", &self.inner.region)
            .field("overrides", &self.inner.overrides)
            .finish_non_exhaustive()
    }
}

fn https_client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS configuration: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

impl AwsCaller {
    /// A caller configured as the AWS SDKs configure themselves: the region from `settings` or
    /// the default chain (`AWS_REGION`, the profile; `us-east-1` when none), the default
    /// credentials chain, and the endpoint overrides (`settings.endpoint_url`, then
    /// `AWS_ENDPOINT_URL_<SERVICE>` with the service id upper-cased and spaces turned into
    /// underscores, then `AWS_ENDPOINT_URL`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns
    /// the variables off).
    pub async fn from_env(settings: AwsSettings) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let conf = loader.load().await;
        let region = conf
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        Self {
            inner: Arc::new(Inner {
                region,
                overrides: Overrides::from_env(settings.endpoint_url),
                credentials: conf.credentials_provider(),
                client: OnceLock::new(),
            }),
        }
    }

    /// The same caller signing with other credentials (a state machine's assumed role).
    pub fn with_credentials(&self, provider: SharedCredentialsProvider) -> Self {
        Self {
            inner: Arc::new(Inner {
                region: self.inner.region.clone(),
                overrides: self.inner.overrides.clone(),
                credentials: Some(provider),
                client: OnceLock::new(),
            }),
        }
    }

    /// The caller's region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Where a call to `service` in `region` (the caller's when `None`) goes: the endpoint URL,
    /// or `None` for an unknown service.
    pub fn endpoint_url(&self, service: &str, region: Option<&str>) -> Option<String> {
        let model = service_model(service)?;
        let region = region.unwrap_or(&self.inner.region);
        Some(endpoint::resolve(&model, region, &self.inner.overrides).url)
    }

    /// Validates, sends and parses one call (see the crate docs), with the default
    /// [`CallOptions`].
    pub async fn call(&self, call: ApiCall<'_>) -> Result<ApiResponse, ApiCallError> {
        self.call_with(call, CallOptions::default()).await
    }

    /// [`Self::call`] with options.
    pub async fn call_with(
        &self,
        call: ApiCall<'_>,
        options: CallOptions,
    ) -> Result<ApiResponse, ApiCallError> {
        self.call_traced(call, options).await.result
    }

    /// [`Self::call_with`], also reporting how many attempts were made and the headers of the
    /// last answer (an error's too), for callers that describe failures as the SDKs do
    /// (`(SDK Attempt Count: 2)`, S3's extended request id `x-amz-id-2`).
    pub async fn call_traced(&self, call: ApiCall<'_>, options: CallOptions) -> Traced {
        let mut traced = Traced {
            result: Err(ApiCallError::Transport {
                message: String::new(),
            }),
            attempts: 0,
            headers: Vec::new(),
        };
        traced.result = self.call_inner(call, options, &mut traced).await;
        traced
    }

    async fn call_inner(
        &self,
        call: ApiCall<'_>,
        options: CallOptions,
        traced: &mut Traced,
    ) -> Result<ApiResponse, ApiCallError> {
        let model = service_model(call.service)
            .ok_or_else(|| ApiCallError::UnknownService(call.service.to_string()))?;
        let op = model
            .operation(call.operation)
            .ok_or_else(|| ApiCallError::UnknownOperation {
                service: call.service.to_string(),
                operation: call.operation.to_string(),
            })?;
        let protocol = protocol::protocol_of(&model).ok_or_else(|| ApiCallError::Validation {
            message: format!(
                "{} speaks {}, which this caller does not",
                call.service, model.metadata.protocol
            ),
        })?;
        let input_shape = op.input.as_deref().and_then(|n| model.shape(n));
        validate::validate(
            &model,
            input_shape,
            call.input,
            Checks {
                required: options.check_required,
            },
        )?;
        let input = protocol::fill_idempotency_tokens(&model, op, call.input);
        let mut req = protocol::build(&model, protocol, call.operation, op, &input)?;
        if op.checksum_required && !req.headers.iter().any(|(k, _)| k == "content-md5") {
            use md5::Digest;
            let digest = md5::Md5::digest(&req.body);
            req.headers.push((
                "content-md5".to_string(),
                base64::engine::general_purpose::STANDARD.encode(digest),
            ));
        }
        let region = call.region.unwrap_or(&self.inner.region);
        let ep = endpoint::resolve(&model, region, &self.inner.overrides);
        let signed = op.authtype.as_deref() != Some("none");
        // One buffer for every attempt (an S3 part can be megabytes): each attempt's request
        // shares it.
        let body = Bytes::from(std::mem::take(&mut req.body));

        loop {
            traced.attempts += 1;
            let outcome = self.attempt(&model, &ep, &req, &body, signed).await;
            let retry = match &outcome {
                Err(ApiCallError::Transport { .. }) => Some(false),
                Ok(resp) => retryable(resp),
                Err(_) => None,
            };
            match (retry, traced.attempts < MAX_ATTEMPTS) {
                (Some(throttled), true) => {
                    tokio::time::sleep(backoff(traced.attempts, throttled)).await;
                }
                _ => {
                    let resp = outcome?;
                    traced.headers = resp.headers.clone();
                    let (request_id, parsed) = protocol::parse(&model, protocol, op, &resp);
                    return parsed.map(|output| ApiResponse {
                        status: resp.status,
                        headers: resp.headers,
                        request_id,
                        output,
                    });
                }
            }
        }
    }

    async fn attempt(
        &self,
        model: &ServiceModel,
        ep: &Endpoint,
        req: &Request,
        body: &Bytes,
        signed: bool,
    ) -> Result<Response, ApiCallError> {
        let transport = |message: String| ApiCallError::Transport { message };
        let (url, host) = url_of(model, ep, req).map_err(transport)?;
        let mut headers: Vec<(String, String)> = vec![("host".to_string(), host)];
        headers.extend(req.headers.iter().cloned());
        if !body.is_empty() || req.method != "GET" {
            headers.push(("content-length".to_string(), body.len().to_string()));
        }
        if signed {
            let sig_headers = self.sign(model, ep, req, body, &url, &headers).await?;
            headers.extend(sig_headers);
        }
        let client = self
            .inner
            .client
            .get_or_init(https_client)
            .as_ref()
            .map_err(|e| transport(e.clone()))?;
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(url.as_str());
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(body.clone()))
            .map_err(|e| transport(format!("building the request to {url}: {e}")))?;
        let exchange = async {
            let resp = client
                .request(request)
                .await
                .map_err(|e| transport(format!("Unable to execute HTTP request: {}", chain(&e))))?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(format!("reading the answer of {url}: {e}")))?
                .to_bytes()
                .to_vec();
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(ATTEMPT_TIMEOUT, exchange)
            .await
            .map_err(|_| transport(format!("no answer from {url} within {ATTEMPT_TIMEOUT:?}")))?
    }

    async fn sign(
        &self,
        model: &ServiceModel,
        ep: &Endpoint,
        req: &Request,
        body: &[u8],
        url: &str,
        headers: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ApiCallError> {
        let transport = |message: String| ApiCallError::Transport { message };
        let provider =
            self.inner.credentials.as_ref().ok_or_else(|| {
                transport("no AWS credentials to sign the request with".to_string())
            })?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| transport(format!("loading AWS credentials: {}", chain(&e))))?;
        let identity = creds.into();
        let mut settings = SigningSettings::default();
        if model.metadata.endpoint_prefix == "s3" {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
        }
        let name = model
            .metadata
            .signing_name
            .as_deref()
            .unwrap_or(&model.metadata.endpoint_prefix);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&ep.signing_region)
            .name(name)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| transport(format!("signing: {e}")))?
            .into();
        let signable = SignableRequest::new(
            req.method.as_str(),
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| transport(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| transport(format!("signing: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

/// The error and its sources, joined.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

/// The full URL and the host header of a request: the endpoint, the host prefix (not for an
/// IP address or `localhost`, which cannot take one), S3's virtual-hosted bucket on AWS's own
/// endpoints, the path and the query string.
fn url_of(model: &ServiceModel, ep: &Endpoint, req: &Request) -> Result<(String, String), String> {
    let (scheme, rest) = ep
        .url
        .split_once("://")
        .ok_or_else(|| format!("the endpoint {:?} has no scheme", ep.url))?;
    let (authority, base_path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let host_only = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let literal = host_only == "localhost"
        || host_only.starts_with('[')
        || host_only.parse::<std::net::Ipv4Addr>().is_ok();
    let mut authority = authority.to_string();
    let mut path = req.path.clone();
    if let Some(prefix) = &req.host_prefix {
        if !literal {
            authority = format!("{prefix}{authority}");
        }
    }
    if model.metadata.endpoint_prefix == "s3" && !ep.custom {
        let trimmed = path.trim_start_matches('/');
        let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let dns_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !bucket.starts_with('-')
            && !bucket.ends_with('-');
        if dns_ok {
            authority = format!("{bucket}.{authority}");
            path = format!("/{key}");
        }
    }
    let mut url = format!("{scheme}://{authority}{base_path}{path}");
    if !req.query.is_empty() {
        let q: Vec<String> = req
            .query
            .iter()
            .map(|(k, v)| {
                let k = utf8_percent_encode(k, protocol::STRICT);
                if v.is_empty() {
                    k.to_string()
                } else {
                    format!("{k}={}", utf8_percent_encode(v, protocol::STRICT))
                }
            })
            .collect();
        url.push('?');
        url.push_str(&q.join("&"));
    }
    Ok((url, authority))
}

/// Error codes the SDKs treat as throttling.
const THROTTLING: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes the SDKs treat as transient.
const TRANSIENT: [&str; 4] = [
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
];

/// Whether an answer is retried: `Some(true)` for throttling, `Some(false)` for a transient
/// failure (5xx), `None` otherwise.
fn retryable(resp: &Response) -> Option<bool> {
    if (200..300).contains(&resp.status) {
        return None;
    }
    let text = String::from_utf8_lossy(&resp.body);
    let mentions = |codes: &[&str]| {
        codes.iter().any(|c| {
            text.contains(&format!("\"{c}\""))
                || text.contains(&format!("#{c}\""))
                || text.contains(&format!("<Code>{c}</Code>"))
                || resp
                    .header("x-amzn-errortype")
                    .is_some_and(|h| h.starts_with(c))
        })
    };
    if resp.status == 429 || mentions(&THROTTLING) {
        return Some(true);
    }
    if matches!(resp.status, 500 | 502 | 503 | 504) || mentions(&TRANSIENT) {
        return Some(false);
    }
    None
}

/// The delay before the next attempt: full jitter, a random delay up to
/// `min(20 s, base * 2^(attempt - 1))`, with a base of 500 ms after throttling and 100 ms
/// otherwise (the AWS SDK for Java 2.x standard mode, which Step Functions uses).
fn backoff(attempt: u32, throttled: bool) -> Duration {
    let base_ms: u64 = if throttled { 500 } else { 100 };
    let cap = (base_ms << (attempt - 1).min(10)).min(20_000);
    Duration::from_millis(fastrand::u64(0..=cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_5xx_are_retried_client_errors_are_not() {
        let resp = |status, body: &str| Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            retryable(&resp(
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}"#
            )),
            Some(true)
        );
        assert_eq!(
            retryable(&resp(
                400,
                "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"
            )),
            Some(true)
        );
        assert_eq!(retryable(&resp(503, "")), Some(false));
        assert_eq!(
            retryable(&resp(400, r#"{"__type":"ResourceNotFoundException"}"#)),
            None
        );
        assert_eq!(retryable(&resp(200, "")), None);
        for attempt in 1..5 {
            assert!(backoff(attempt, true) <= Duration::from_secs(20));
        }
    }

    #[test]
    fn urls_take_host_prefixes_and_s3_virtual_hosts_only_on_aws() {
        let s3 = service_model("s3").unwrap();
        let req = Request {
            method: "GET".into(),
            path: "/my-bucket/a/b.txt".into(),
            query: vec![
                ("list-type".into(), "2".into()),
                ("uploads".into(), String::new()),
            ],
            ..Request::default()
        };
        let aws = Endpoint {
            url: "https://s3.eu-west-1.amazonaws.com".into(),
            signing_region: "eu-west-1".into(),
            custom: false,
        };
        let (url, host) = url_of(&s3, &aws, &req).unwrap();
        assert_eq!(
            url,
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.txt?list-type=2&uploads"
        );
        assert_eq!(host, "my-bucket.s3.eu-west-1.amazonaws.com");
        let local = Endpoint {
            url: "http://127.0.0.1:5000/".into(),
            signing_region: "us-east-1".into(),
            custom: true,
        };
        let (url, host) = url_of(&s3, &local, &req).unwrap();
        assert_eq!(
            url,
            "http://127.0.0.1:5000/my-bucket/a/b.txt?list-type=2&uploads"
        );
        assert_eq!(host, "127.0.0.1:5000");
        let prefixed = Request {
            host_prefix: Some("data.".into()),
            path: "/".into(),
            ..Request::default()
        };
        let (url, _) = url_of(&s3, &local, &prefixed).unwrap();
        assert_eq!(url, "http://127.0.0.1:5000/");
        let proxy = Endpoint {
            url: "https://proxy.example.com".into(),
            signing_region: "us-east-1".into(),
            custom: true,
        };
        let (url, _) = url_of(&s3, &proxy, &prefixed).unwrap();
        assert_eq!(url, "https://data.proxy.example.com/");
    }
}
