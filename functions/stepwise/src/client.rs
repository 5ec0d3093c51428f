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

/// Signs requests with the default credentials chain for one region and service name; the
/// chain's provider (and its cache) is kept, so a long-running `stepwise console` does not load
/// the configuration again for every call.
pub struct Signer {
    provider: Option<aws_credential_types::provider::SharedCredentialsProvider>,
    region: String,
    service: String,
}

impl Signer {
    /// Loads the default credentials chain (environment, profile, SSO, IMDS, ...).
    pub async fn from_environment(region: &str, service: &str) -> Signer {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .load()
            .await;
        Signer {
            provider: config.credentials_provider(),
            region: region.to_string(),
            service: service.to_string(),
        }
    }

    /// Whether the chain found credentials (without them requests are signed with a fixed
    /// local key, which `stepwise serve` accepts and AWS refuses).
    pub async fn has_credentials(&self) -> bool {
        match &self.provider {
            Some(p) => p.provide_credentials().await.is_ok(),
            None => false,
        }
    }

    /// Sends one request (`X-Amz-Target: target`) and returns the HTTP status and body, whatever
    /// the status; `Err` only when no answer came.
    pub async fn send(&self, endpoint: &str, target: &str, body: &[u8]) -> Result<(u16, String)> {
        let credentials = match &self.provider {
            Some(p) => p.provide_credentials().await.ok(),
            None => None,
        }
        .unwrap_or_else(|| {
            aws_credential_types::Credentials::new("test", "test", None, None, "stepwise-local")
        });
        let identity = credentials.into();
        let host = endpoint
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .context("the endpoint URL has no host")?
            .to_string();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target),
        ];
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("signing parameters")?
            .into();
        let signable = SignableRequest::new(
            "POST",
            endpoint,
            headers.iter().copied(),
            SignableBody::Bytes(body),
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
        let body = body.to_vec();
        let response =
            tokio::task::spawn_blocking(move || request.send_bytes(&body).map_err(Box::new))
                .await
                .context("the request task")?;
        match response {
            Ok(r) => Ok((r.status(), r.into_string().context("reading the response")?)),
            Err(e) => match *e {
                ureq::Error::Status(code, r) => Ok((code, r.into_string().unwrap_or_default())),
                other => Err(other).with_context(|| format!("calling {endpoint}")),
            },
        }
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
    let signer = Signer::from_environment(region, sign_as).await;
    let target = format!("AWSStepFunctions.{action}");
    let (code, text) = signer.send(endpoint, &target, body.as_bytes()).await?;
    if (200..300).contains(&code) {
        return Ok(text);
    }
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let kind = v["__type"].as_str().unwrap_or("UnknownError");
    let message = v["message"]
        .as_str()
        .or_else(|| v["Message"].as_str())
        .unwrap_or(&text);
    bail!("{action} failed ({code}): {kind}: {message}")
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
