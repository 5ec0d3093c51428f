//! `stepwise call`: the Step Functions API as a client, signed with SigV4.
//!
//! The AWS SDKs sign Step Functions calls for the service `states`; an API Gateway with IAM
//! authorization checks signatures for `execute-api`. This client signs for whichever the
//! endpoint needs (`--sign-as`, guessed from the host), so the same command reaches
//! `stepwise serve`, AWS Step Functions and a deployed Stepwise API.

use anyhow::{bail, Context, Result};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// Which service name the signature is for.
pub fn signing_name(endpoint: &str, explicit: Option<&str>) -> String {
    match explicit {
        Some(s) => s.to_string(),
        None if endpoint.contains(".execute-api.") => "execute-api".into(),
        None => "states".into(),
    }
}

/// Sends one action and returns the response body (JSON text); an AWS error is an `Err` naming
/// its `__type` and message.
pub async fn call(
    endpoint: &str,
    region: &str,
    sign_as: &str,
    action: &str,
    body: &str,
) -> Result<String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    let credentials = match config.credentials_provider() {
        Some(p) => p.provide_credentials().await.ok(),
        None => None,
    }
    .unwrap_or_else(|| {
        aws_credential_types::Credentials::new("test", "test", None, None, "stepwise-local")
    });
    let identity = credentials.into();
    let target = format!("AWSStepFunctions.{action}");
    let host = endpoint
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("the endpoint URL has no host")?
        .to_string();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target.as_str()),
    ];
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(sign_as)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .context("signing parameters")?
        .into();
    let signable = SignableRequest::new(
        "POST",
        endpoint,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .context("signable request")?;
    let (instructions, _) = sign(signable, &params).context("signing")?.into_parts();
    let mut request = ureq::post(endpoint);
    for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
        request = request.set(k, v);
    }
    for (k, v) in instructions.headers() {
        request = request.set(k, v);
    }
    let endpoint = endpoint.to_string();
    let body = body.to_string();
    let response =
        tokio::task::spawn_blocking(move || request.send_string(&body).map_err(Box::new))
            .await
            .context("the request task")?;
    match response {
        Ok(r) => r.into_string().context("reading the response"),
        Err(e) => match *e {
            ureq::Error::Status(code, r) => {
                let text = r.into_string().unwrap_or_default();
                let v: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                let kind = v["__type"].as_str().unwrap_or("UnknownError");
                let message = v["message"]
                    .as_str()
                    .or_else(|| v["Message"].as_str())
                    .unwrap_or(&text);
                bail!("{action} failed ({code}): {kind}: {message}")
            }
            other => Err(other).with_context(|| format!("calling {endpoint}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_for_execute_api_behind_api_gateway() {
        assert_eq!(
            signing_name(
                "https://abc.execute-api.us-east-1.amazonaws.com/Prod/",
                None
            ),
            "execute-api"
        );
        assert_eq!(signing_name("http://127.0.0.1:8083", None), "states");
        assert_eq!(
            signing_name("http://127.0.0.1:8083", Some("execute-api")),
            "execute-api"
        );
    }
}
