//! The Lambda invoker through the real `aws-sdk-lambda` client over HTTP, against an in-test
//! Lambda-compatible server on 127.0.0.1 that answers `POST /2015-03-31/functions/{name}/invocations`.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use stepwise_ports::tasks::{TaskFailure, TaskInvoker, TaskRequest};
use stepwise_runtime::tasks::{MockConfig, MockInvoker, TaskRouter};
use stepwise_tasks_aws::LambdaInvoker;

#[derive(Debug, Clone)]
struct Seen {
    name: String,
    query: Option<String>,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<String>) -> Response {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    (
        StatusCode::from_u16(status).expect("status"),
        map,
        body.into(),
    )
        .into_response()
}

async fn invocations(
    State(log): State<Log>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    log.lock().expect("log").push(Seen {
        name: name.clone(),
        query,
        body: body.to_vec(),
    });
    let json = [("content-type", "application/json")];
    match name.as_str() {
        // AWS: 200 with the handler's result
        "echo" => respond(
            200,
            &[
                ("content-type", "application/json"),
                ("x-amz-executed-version", "$LATEST"),
                ("x-amzn-requestid", "req-echo"),
            ],
            String::from_utf8_lossy(&body).into_owned(),
        ),
        "plain" => respond(200, &[("x-amzn-requestid", "req-plain")], "not json"),
        // AWS: a function error is a 200 with X-Amz-Function-Error
        "boom" => respond(
            200,
            &[
                ("content-type", "application/json"),
                ("x-amz-function-error", "Unhandled"),
                ("x-amz-executed-version", "$LATEST"),
            ],
            r#"{"errorMessage": "it broke", "errorType": "CustomError", "stackTrace": ["at handler"]}"#,
        ),
        "untyped" => respond(
            200,
            &[("x-amz-function-error", "Unhandled")],
            r#"{"errorMessage":"Task timed out after 3.00 seconds"}"#,
        ),
        // cargo lambda watch: a function error is an HTTP 500 carrying the error document
        "crash500" => respond(
            500,
            &json,
            r#"{"errorType":"&alloc::boxed::Box<dyn core::error::Error + Send + Sync>","errorMessage":"bad input"}"#,
        ),
        // Lambda service errors
        "throttled" => respond(
            429,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "TooManyRequestsException"),
                ("x-amzn-requestid", "req-429"),
            ],
            r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#,
        ),
        "service" => respond(
            500,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "ServiceException"),
                ("x-amzn-requestid", "req-500"),
            ],
            r#"{"Type":"Service","Message":"Lambda was unable to run the function."}"#,
        ),
        "odd" => respond(
            400,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "BrandNewException"),
                ("x-amzn-requestid", "req-odd"),
            ],
            r#"{"Type":"User","Message":"Something new."}"#,
        ),
        _ => respond(
            404,
            &[
                ("content-type", "application/json"),
                ("x-amzn-errortype", "ResourceNotFoundException"),
                ("x-amzn-requestid", "req-404"),
            ],
            format!(
                r#"{{"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"}}"#
            ),
        ),
    }
}

async fn start_server() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route(
            "/2015-03-31/functions/{name}/invocations",
            post(invocations),
        )
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), log)
}

fn request(state: &str, resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1".into(),
        state_machine_name: "Machine".into(),
        state_name: state.into(),
        resource: resource.into(),
        parameters,
        test_case: None,
        task_token: None,
        redrive_count: 0,
    }
}

const INVOKE: &str = "arn:aws:states:::lambda:invoke";

async fn invoke_fn(invoker: &LambdaInvoker, name: &str) -> Result<Value, TaskFailure> {
    invoker
        .invoke(request(
            "Call",
            INVOKE,
            json!({"FunctionName": name, "Payload": {"n": 1}}),
        ))
        .await
}

#[tokio::test]
async fn function_arn_resource_returns_the_payload() {
    let (endpoint, log) = start_server().await;
    let invoker = LambdaInvoker::local(endpoint, None);
    let out = invoker
        .invoke(request(
            "Direct",
            "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
            json!({"hello": ["world", 1]}),
        ))
        .await
        .expect("succeeds");
    assert_eq!(out, json!({"hello": ["world", 1]}));

    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].name, "echo");
    assert_eq!(seen[0].query.as_deref(), Some("Qualifier=live"));
    assert_eq!(
        serde_json::from_slice::<Value>(&seen[0].body).expect("json body"),
        json!({"hello": ["world", 1]})
    );

    let out = invoker
        .invoke(request(
            "Direct",
            "arn:aws:lambda:us-east-1:123456789012:function:plain",
            json!({}),
        ))
        .await
        .expect("succeeds");
    assert_eq!(out, json!("not json"));
}

#[tokio::test]
async fn lambda_invoke_integration_has_the_aws_shape() {
    let (endpoint, log) = start_server().await;
    let invoker = LambdaInvoker::local(endpoint, None);
    let out = invoker
        .invoke(request(
            "Integration",
            INVOKE,
            json!({
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                "Payload": {"a": 1},
                "Qualifier": "7"
            }),
        ))
        .await
        .expect("succeeds");
    let keys: Vec<&str> = out
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    assert_eq!(out["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(out["Payload"], json!({"a": 1}));
    assert_eq!(out["StatusCode"], json!(200));
    assert_eq!(out["SdkResponseMetadata"], json!({"RequestId": "req-echo"}));
    let meta = &out["SdkHttpMetadata"];
    assert_eq!(meta["HttpStatusCode"], json!(200));
    assert_eq!(
        meta["HttpHeaders"]["Content-Type"],
        json!("application/json")
    );
    assert_eq!(
        meta["HttpHeaders"]["X-Amz-Executed-Version"],
        json!("$LATEST")
    );
    assert_eq!(meta["HttpHeaders"]["x-amzn-RequestId"], json!("req-echo"));
    assert_eq!(
        meta["AllHttpHeaders"]["x-amzn-RequestId"],
        json!(["req-echo"])
    );
    assert_eq!(meta["AllHttpHeaders"]["Content-Length"], json!(["7"]));

    let seen = log.lock().expect("log").clone();
    assert_eq!(
        seen[0].name, "echo",
        "the ARN is reduced to the name locally"
    );
    assert_eq!(seen[0].query.as_deref(), Some("Qualifier=7"));
    assert_eq!(seen[0].body, br#"{"a":1}"#);

    // a Payload string holding JSON text is sent as is; the result is parsed
    let out = invoker
        .invoke(request(
            "Integration",
            INVOKE,
            json!({"FunctionName": "echo", "Payload": "\"HelloWorld\""}),
        ))
        .await
        .expect("succeeds");
    assert_eq!(out["Payload"], json!("HelloWorld"));
    // no Payload sends {}
    let out = invoker
        .invoke(request(
            "Integration",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "echo"}),
        ))
        .await
        .expect("succeeds");
    assert_eq!(out["Payload"], json!({}));
}

#[tokio::test]
async fn function_errors_use_the_error_type() {
    let (endpoint, _log) = start_server().await;
    let invoker = LambdaInvoker::local(endpoint, None);

    // AWS style: 200 + X-Amz-Function-Error
    let err = invoke_fn(&invoker, "boom").await.expect_err("fails");
    assert_eq!(err.error, "CustomError");
    assert_eq!(
        err.cause,
        r#"{"errorMessage":"it broke","errorType":"CustomError","stackTrace":["at handler"]}"#
    );
    // the same through the bare function ARN resource
    let err = invoker
        .invoke(request(
            "Direct",
            "arn:aws:lambda:us-east-1:123456789012:function:boom",
            json!({}),
        ))
        .await
        .expect_err("fails");
    assert_eq!(err.error, "CustomError");

    // no errorType
    let err = invoke_fn(&invoker, "untyped").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.Unknown");
    assert_eq!(
        err.cause,
        r#"The cause could not be determined because Lambda did not return an error type. Returned payload: {"errorMessage":"Task timed out after 3.00 seconds"}"#
    );

    // cargo lambda watch style: HTTP 500 with the error document, run once (no SDK retry)
    let (endpoint, log) = start_server().await;
    let invoker = LambdaInvoker::local(endpoint, None);
    let err = invoke_fn(&invoker, "crash500").await.expect_err("fails");
    assert_eq!(
        err.error,
        "&alloc::boxed::Box<dyn core::error::Error + Send + Sync>"
    );
    assert_eq!(
        err.cause,
        r#"{"errorType":"&alloc::boxed::Box<dyn core::error::Error + Send + Sync>","errorMessage":"bad input"}"#
    );
    assert_eq!(log.lock().expect("log").len(), 1, "the SDK must not retry");
}

#[tokio::test]
async fn service_errors_map_to_lambda_error_names() {
    let (endpoint, log) = start_server().await;
    let invoker = LambdaInvoker::local(endpoint, None);

    let err = invoke_fn(&invoker, "missing").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.ResourceNotFoundException");
    assert_eq!(
        err.cause,
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing \
         (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; \
         Request ID: req-404; Proxy: null)"
    );

    let err = invoke_fn(&invoker, "throttled").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.TooManyRequestsException");
    assert!(
        err.cause
            .starts_with("Rate Exceeded. (Service: AWSLambda; Status Code: 429;"),
        "{}",
        err.cause
    );

    let err = invoke_fn(&invoker, "service").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.ServiceException");
    assert!(err.cause.contains("Status Code: 500"), "{}", err.cause);
    assert!(err.cause.contains("Request ID: req-500"), "{}", err.cause);

    let err = invoke_fn(&invoker, "odd").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.AWSLambdaException");
    assert!(
        err.cause.contains("Error Code: BrandNewException"),
        "{}",
        err.cause
    );

    // a bare function ARN reports service errors the same way
    let err = invoker
        .invoke(request(
            "Direct",
            "arn:aws:lambda:us-east-1:123456789012:function:missing",
            json!({}),
        ))
        .await
        .expect_err("fails");
    assert_eq!(err.error, "Lambda.ResourceNotFoundException");

    // each call went out exactly once
    assert_eq!(log.lock().expect("log").len(), 5);
}

#[tokio::test]
async fn unreachable_endpoint_is_an_sdk_client_exception() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let invoker = LambdaInvoker::local(format!("http://127.0.0.1:{port}"), None);
    let err = invoke_fn(&invoker, "echo").await.expect_err("fails");
    assert_eq!(err.error, "Lambda.SdkClientException");
    assert!(
        err.cause.starts_with("Unable to execute HTTP request"),
        "{}",
        err.cause
    );
}

#[tokio::test]
async fn router_serves_mocks_first_then_lambda() {
    let (endpoint, log) = start_server().await;
    let config = MockConfig::from_json_str(
        r#"{
          "StateMachines": {"Machine": {"TestCases": {"Flaky": {"First": "FailThenPass"}}}},
          "MockedResponses": {"FailThenPass": {
            "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "mocked"}},
            "1": {"Return": {"StatusCode": 200, "Payload": "mocked"}}
          }}
        }"#,
    )
    .expect("config");
    let router = TaskRouter::new()
        .with_mock(MockInvoker::new(config))
        .with_lambda(LambdaInvoker::local(endpoint, None));
    let mut first = request("First", INVOKE, json!({"FunctionName": "echo"}));
    first.test_case = Some("Flaky".into());
    let err = router
        .invoke(first.clone())
        .await
        .expect_err("mocked throw");
    assert_eq!(err, TaskFailure::new("Lambda.ServiceException", "mocked"));
    let out = router.invoke(first.clone()).await.expect("mocked return");
    assert_eq!(out, json!({"StatusCode": 200, "Payload": "mocked"}));
    assert!(
        log.lock().expect("log").is_empty(),
        "mocks never call Lambda"
    );

    // a state the test case does not mock goes to Lambda
    let mut second = request(
        "Second",
        INVOKE,
        json!({"FunctionName": "echo", "Payload": 3}),
    );
    second.test_case = Some("Flaky".into());
    let out = router.invoke(second).await.expect("lambda");
    assert_eq!(out["Payload"], json!(3));
    assert_eq!(log.lock().expect("log").len(), 1);

    // an integration nothing serves fails clearly
    let err = router
        .invoke(request(
            "Publish",
            "arn:aws:states:::sns:publish",
            json!({}),
        ))
        .await
        .expect_err("unserved");
    assert_eq!(err.error, "States.Runtime");
    assert!(
        err.cause.contains("arn:aws:states:::sns:publish"),
        "{}",
        err.cause
    );
}
