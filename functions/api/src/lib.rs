//! The api function's handler: an API Gateway REST proxy request in (`X-Amz-Target` names the
//! action, the body is the awsJson1_0 request), the Step Functions service's answer out.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{HeaderValue, CONTENT_TYPE};
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use stepwise_api::{Service, ServiceConfig};
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
    /// The service.
    pub service: Service<AwsStore>,
    /// Its driver.
    pub driver: Arc<AwsDriver>,
}

impl ApiService {
    /// The service over `aws`, making ARNs in `config`'s region and account; TestState runs
    /// Task states with `invoker` when one is given.
    pub fn new(aws: Aws, config: ServiceConfig, invoker: Option<Arc<dyn TaskInvoker>>) -> Self {
        let store = Arc::new(AwsStore::new(aws, Arc::new(Meter::default())));
        let driver = Arc::new(AwsDriver::new(store.clone()));
        let mut service = Service::new(store, driver.clone(), config);
        if let Some(i) = invoker {
            service = service.with_invoker(i);
        }
        ApiService { service, driver }
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

/// Answers one API Gateway proxy request with the Step Functions service.
pub async fn handle(
    service: &ApiService,
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let req = event.payload;
    let Some(target) = target(&req) else {
        return Ok(client_error(
            "UnknownOperationException",
            "Missing X-Amz-Target header",
        ));
    };
    let body = match (&req.body, req.is_base64_encoded) {
        (None, _) => Vec::new(),
        (Some(b), false) => b.clone().into_bytes(),
        (Some(b), true) => match aws_smithy_types::base64::decode(b) {
            Ok(bytes) => bytes,
            Err(_) => {
                return Ok(client_error(
                    "SerializationException",
                    "The request body is not valid base64",
                ))
            }
        },
    };
    // Boxed: the service's future (every action's state) is large for a stack.
    let (status, out) = Box::pin(service.service.handle(&target, &body)).await;
    // Events submitted in the background (StartExecution's Start) must be on the queue before
    // the function freezes.
    if let Err(e) = service.driver.flush().await {
        eprintln!("api: {target}: {e}");
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
