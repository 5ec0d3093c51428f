//! The api function's handler: an API Gateway REST proxy request in (`X-Amz-Target` names the
//! action, the body is the awsJson1_0 request), the Step Functions service's answer out.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{HeaderValue, CONTENT_TYPE};
use lambda_runtime::tracing::{self, Instrument};
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use stepwise_api::{ActivityPoll, Service, ServiceConfig};
use stepwise_ports::roles::RoleCheck;
use stepwise_ports::tasks::TaskInvoker;
use stepwise_store_aws::api_driver::AwsDriver;
use stepwise_store_aws::meter::Meter;
use stepwise_store_aws::ports::AwsStore;
use stepwise_store_aws::Aws;

/// The content type of every awsJson1_0 response.
pub const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.0";

/// The Step Functions service on the serverless store, and the driver whose background sends
/// each request waits for.
pub struct ApiService {
    /// The service (shared: `states:startExecution` in TestState starts children through it).
    pub service: Arc<Service<AwsStore>>,
    /// Its driver.
    pub driver: Arc<AwsDriver>,
}

impl ApiService {
    /// The service over `aws`, making ARNs in `config`'s region and account; TestState runs
    /// Task states with `invoker` when one is given.
    /// GetActivityTask answers within API Gateway's limit ([`ActivityPoll::API_GATEWAY`]).
    pub fn new(aws: Aws, config: ServiceConfig, invoker: Option<Arc<dyn TaskInvoker>>) -> Self {
        Self::with_role_check(aws, config, invoker, None)
    }

    /// [`Self::new`] that refuses, at CreateStateMachine/UpdateStateMachine, a `roleArn` that
    /// `roles` says cannot be assumed (as Step Functions does; the invoker calls as that role).
    pub fn with_role_check(
        aws: Aws,
        config: ServiceConfig,
        invoker: Option<Arc<dyn TaskInvoker>>,
        roles: Option<Arc<dyn RoleCheck>>,
    ) -> Self {
        let config = ServiceConfig {
            activity_poll: ActivityPoll::API_GATEWAY,
            // A distributed Map's children are executions (the invoker runs the map run).
            map_runs_as_executions: true,
            ..config
        };
        let store = Arc::new(AwsStore::new(aws, Arc::new(Meter::default())));
        let driver = Arc::new(AwsDriver::new(store.clone()));
        let mut service = Service::new(store, driver.clone(), config);
        if let Some(i) = invoker {
            service = service.with_invoker(i);
        }
        if let Some(r) = roles {
            service = service.with_role_check(r);
        }
        ApiService {
            service: Arc::new(service),
            driver,
        }
    }
}

/// The `X-Amz-Target` header, whatever its case (API Gateway passes header names as the client
/// sent them).
fn target(req: &ApiGatewayProxyRequest) -> Option<String> {
    req.headers
        .iter()
        .chain(req.multi_value_headers.iter())
        .find(|(k, _)| k.as_str().eq_ignore_ascii_case("x-amz-target"))
        .and_then(|(_, v)| v.to_str().ok())
        .map(str::to_string)
}

fn response(status: u16, body: Vec<u8>) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_JSON));
    r.body = Some(Body::Text(String::from_utf8_lossy(&body).into_owned()));
    r.is_base64_encoded = false;
    r
}

fn client_error(code: &str, message: &str) -> ApiGatewayProxyResponse {
    let body = format!(
        "{{\"__type\":\"{code}\",\"message\":\"{}\"}}",
        message.replace('\\', "\\\\").replace('"', "\\\"")
    );
    response(400, body.into_bytes())
}

/// The action and the request body of a proxy request, or the error response AWS gives when
/// either cannot be read.
fn parse_request(
    req: &ApiGatewayProxyRequest,
) -> Result<(String, Vec<u8>), Box<ApiGatewayProxyResponse>> {
    let Some(target) = target(req) else {
        return Err(Box::new(client_error(
            "UnknownOperationException",
            "Missing X-Amz-Target header",
        )));
    };
    let body = match (&req.body, req.is_base64_encoded) {
        (None, _) => Vec::new(),
        (Some(b), false) => b.clone().into_bytes(),
        (Some(b), true) => match aws_smithy_types::base64::decode(b) {
            Ok(bytes) => bytes,
            Err(_) => {
                return Err(Box::new(client_error(
                    "SerializationException",
                    "The request body is not valid base64",
                )))
            }
        },
    };
    Ok((target, body))
}

/// Answers one API Gateway proxy request with the Step Functions service.
pub async fn handle(
    service: &ApiService,
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let (target, body) = match parse_request(&event.payload) {
        Ok(parts) => parts,
        Err(response) => return Ok(*response),
    };
    // A request about an execution: every line logged while answering it carries its ARN (a
    // started execution's lines carry it from its dispatch).
    let execution_arn = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["executionArn"].as_str().map(str::to_string));
    let span = match &execution_arn {
        Some(arn) => tracing::info_span!("request", action = %target, execution_arn = %arn),
        None => tracing::info_span!("request", action = %target),
    };
    // Boxed: the service's future (every action's state) is large for a stack.
    let (status, out) = Box::pin(service.service.handle(&target, &body))
        .instrument(span.clone())
        .await;
    // Events submitted in the background (StartExecution's Start) must be on the queue before
    // the function freezes.
    if let Err(e) = service.driver.flush().instrument(span.clone()).await {
        span.in_scope(|| tracing::error!(error = %e, "api: events not flushed"));
        return Ok(response(
            500,
            format!(
                "{{\"__type\":\"InternalFailure\",\"message\":\"{}\"}}",
                e.to_string().replace('\\', "\\\\").replace('"', "\\\"")
            )
            .into_bytes(),
        ));
    }
    Ok(response(status, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::HeaderMap;

    fn request(
        target: Option<(&str, &str)>,
        body: Option<&str>,
        base64: bool,
    ) -> ApiGatewayProxyRequest {
        let mut req = ApiGatewayProxyRequest::default();
        let mut headers = HeaderMap::new();
        if let Some((name, value)) = target {
            headers.insert(
                aws_lambda_events::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        req.headers = headers;
        req.body = body.map(str::to_string);
        req.is_base64_encoded = base64;
        req
    }

    fn error_type(r: &ApiGatewayProxyResponse) -> (i64, serde_json::Value) {
        let Some(Body::Text(t)) = &r.body else {
            panic!("no text body")
        };
        (r.status_code, serde_json::from_str(t).unwrap())
    }

    #[test]
    fn the_target_header_is_found_whatever_its_case() {
        for name in ["X-Amz-Target", "x-amz-target", "X-AMZ-TARGET"] {
            let req = request(
                Some((name, "AWSStepFunctions.ListActivities")),
                Some("{}"),
                false,
            );
            let (target, body) = parse_request(&req).unwrap();
            assert_eq!(target, "AWSStepFunctions.ListActivities");
            assert_eq!(body, b"{}");
        }
    }

    #[test]
    fn a_base64_body_is_decoded_and_a_missing_one_is_empty() {
        let req = request(Some(("x-amz-target", "T")), Some("eyJhIjoxfQ=="), true);
        assert_eq!(parse_request(&req).unwrap().1, br#"{"a":1}"#);
        let req = request(Some(("x-amz-target", "T")), None, false);
        assert!(parse_request(&req).unwrap().1.is_empty());
    }

    #[test]
    fn unreadable_requests_get_aws_error_types() {
        let r = parse_request(&request(None, Some("{}"), false)).unwrap_err();
        let (status, body) = error_type(&r);
        assert_eq!(status, 400);
        assert_eq!(body["__type"], "UnknownOperationException");
        let r = parse_request(&request(
            Some(("x-amz-target", "T")),
            Some("*not base64*"),
            true,
        ))
        .unwrap_err();
        let (status, body) = error_type(&r);
        assert_eq!(status, 400);
        assert_eq!(body["__type"], "SerializationException");
        assert_eq!(r.headers[CONTENT_TYPE], CONTENT_TYPE_JSON);
    }

    #[test]
    fn error_messages_are_escaped_json() {
        let r = client_error("ValidationException", r#"a "quoted" \ value"#);
        let (_, body) = error_type(&r);
        assert_eq!(body["message"], r#"a "quoted" \ value"#);
    }
}
