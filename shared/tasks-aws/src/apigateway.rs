//! `arn:aws:states:::apigateway:invoke` (and `.waitForTaskToken`): call an API Gateway API.
//!
//! Parameters as Step Functions reads them: `ApiEndpoint` (the API's host,
//! `ID.execute-api.REGION.amazonaws.com`) and `Method` (required), `Stage`, `Path`, `Headers`
//! and `QueryParameters` (each value a list of strings: a plain string fails with AWS's
//! "The value of the field 'Headers' has an invalid format"), `RequestBody` (an object is sent
//! as JSON, a string as it is), `AllowNullValues` (without it, `null` fields are dropped from
//! the body) and `AuthType`: `NO_AUTH` (default), `IAM_ROLE` and `RESOURCE_POLICY` (the request
//! is signed with SigV4 for `execute-api`, in the region of the endpoint's host).
//!
//! The result is `{"Headers": {name: [values]}, "ResponseBody", "StatusCode", "StatusText"}`,
//! `ResponseBody` parsed when it is JSON. A status of 400 or more fails the task with
//! `ApiGateway.<status>` and the response body as the cause (AWS recorded
//! `ApiGateway.403` / `{"message":"Missing Authentication Token"}`).
//!
//! Beyond AWS: `ApiEndpoint` may carry a scheme (`http://127.0.0.1:PORT`), so a local server
//! (tests, `sam local start-api`) can stand in for API Gateway.

use serde_json::{json, Map, Value};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use crate::http_invoke::percent_encode;
use crate::wire::{self, AwsEndpoints, HttpRequest, HttpResponse};

/// Error name prefix of a failed status.
pub const ERROR_PREFIX: &str = "ApiGateway.";

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

/// `{name: ["v1", "v2"]}` -> pairs; anything else is invalid.
fn string_lists(v: Option<&Value>, field: &str) -> Result<Vec<(String, String)>, TaskFailure> {
    let mut out = Vec::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let Value::Array(items) = v else {
                    return Err(invalid(field));
                };
                for item in items {
                    match item {
                        Value::String(s) => out.push((k.clone(), s.clone())),
                        _ => return Err(invalid(field)),
                    }
                }
            }
        }
        Some(_) => return Err(invalid(field)),
    }
    Ok(out)
}

fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// The signing region of an `execute-api` host.
fn host_region(host: &str) -> Option<&str> {
    let mut parts = host.split('.');
    parts.next()?;
    (parts.next()? == "execute-api")
        .then(|| parts.next())
        .flatten()
}

/// Builds the HTTP request, and whether to sign it.
pub fn request(p: &Value) -> Result<(HttpRequest, bool), TaskFailure> {
    let endpoint = match p.get("ApiEndpoint") {
        None => return Err(missing("ApiEndpoint")),
        Some(Value::String(s)) if !s.is_empty() => s.trim_end_matches('/').to_string(),
        Some(_) => return Err(invalid("ApiEndpoint")),
    };
    let method = match p.get("Method") {
        None => return Err(missing("Method")),
        Some(Value::String(m)) => m.to_ascii_uppercase(),
        Some(_) => return Err(invalid("Method")),
    };
    let base = if endpoint.contains("://") {
        endpoint
    } else {
        format!("https://{endpoint}")
    };
    let mut url = base;
    for field in ["Stage", "Path"] {
        match p.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let s = s.trim_matches('/');
                if !s.is_empty() {
                    url.push('/');
                    url.push_str(s);
                }
            }
            Some(_) => return Err(invalid(field)),
        }
    }
    let mut headers = string_lists(p.get("Headers"), "Headers")?;
    let query = string_lists(p.get("QueryParameters"), "QueryParameters")?;
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    let allow_nulls = match p.get("AllowNullValues") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("AllowNullValues")),
    };
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone().into_bytes()),
        Some(v) => {
            let v = if allow_nulls {
                v.clone()
            } else {
                drop_nulls(v.clone())
            };
            Some(serde_json::to_vec(&v).map_err(|e| TaskFailure::runtime(e.to_string()))?)
        }
    };
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let sign = match p.get("AuthType") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => match s.as_str() {
            "NO_AUTH" => false,
            "IAM_ROLE" | "RESOURCE_POLICY" => true,
            _ => return Err(invalid("AuthType")),
        },
        Some(_) => return Err(invalid("AuthType")),
    };
    Ok((
        HttpRequest {
            method,
            url,
            headers,
            body,
        },
        sign,
    ))
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
    let text = response.text();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    json!({
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": response.status,
        "StatusText": response.status_text,
    })
}

/// Runs one `apigateway:invoke` task.
pub async fn invoke(req: &TaskRequest, aws: &AwsEndpoints) -> Result<Value, TaskFailure> {
    let (mut http, sign) = request(&req.parameters)?;
    if sign {
        let host = http
            .url
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', '?', ':']).next())
            .unwrap_or_default()
            .to_string();
        let region = host_region(&host).unwrap_or(aws.region()).to_string();
        aws.sign(&mut http, "execute-api", &region)
            .await
            .map_err(TaskFailure::runtime)?;
    }
    let response = wire::send(http)
        .await
        .map_err(|e| TaskFailure::new(format!("{ERROR_PREFIX}SdkClientException"), e.message))?;
    if response.status >= 400 {
        return Err(TaskFailure::new(
            format!("{ERROR_PREFIX}{}", response.status),
            response.text(),
        ));
    }
    Ok(output(&response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_url_from_endpoint_stage_path_and_query() {
        let (r, sign) = request(&json!({
            "ApiEndpoint": "abc.execute-api.eu-west-1.amazonaws.com", "Method": "post",
            "Stage": "prod", "Path": "/orders/1", "QueryParameters": {"q": ["a b", "c"]},
            "RequestBody": {"x": null, "y": 1}, "AuthType": "IAM_ROLE"}))
        .unwrap();
        assert_eq!(
            r.url,
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/orders/1?q=a%20b&q=c"
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.body.as_deref(), Some(&br#"{"y":1}"#[..]));
        assert!(sign);
        assert_eq!(
            host_region("abc.execute-api.eu-west-1.amazonaws.com"),
            Some("eu-west-1")
        );
        assert_eq!(host_region("127.0.0.1"), None);
    }

    #[test]
    fn headers_must_be_lists_of_strings() {
        let e = request(&json!({"ApiEndpoint": "h", "Method": "GET",
            "Headers": {"custom_header": "singleStringHeader"}}))
        .unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert!(e
            .cause
            .contains("The value of the field 'Headers' has an invalid format"));
        let (r, _) = request(
            &json!({"ApiEndpoint": "http://127.0.0.1:1", "Method": "GET",
            "Headers": {"h": ["a", "b"]}, "RequestBody": "raw", "AllowNullValues": true}),
        )
        .unwrap();
        assert_eq!(r.headers.len(), 3);
        assert_eq!(r.body.as_deref(), Some(&b"raw"[..]));
    }

    #[test]
    fn bodies_that_are_json_are_parsed() {
        let r = |body: &str| HttpResponse {
            status: 200,
            status_text: "OK".into(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(output(&r("\"0\""))["ResponseBody"], json!("0"));
        assert_eq!(output(&r("{}"))["ResponseBody"], json!({}));
        assert_eq!(
            output(&r("HelloWorld"))["ResponseBody"],
            json!("HelloWorld")
        );
    }
}
