//! EventBridge connections, as `http:invoke` tasks use them: the authorization (API key, basic,
//! OAuth client credentials) and the extra invocation parameters a connection adds to each
//! request.
//!
//! A connection is read from one of two places:
//! - a JSON file given on the command line (`--http-connections FILE`): an object whose keys
//!   are connection ARNs or names and whose values have CreateConnection's shape,
//!   `{"AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {...},
//!   "InvocationHttpParameters": {...}}}`;
//! - otherwise EventBridge itself: `DescribeConnection` (events endpoint) and the secret that
//!   holds its credentials (`GetSecretValue` on the connection's `SecretArn`, Secrets Manager
//!   endpoint). The secret's keys are the snake_case forms of the parameters
//!   (`api_key_value`, `password`, `client_secret`), as EventBridge stores them; any value the
//!   secret lacks is taken from what DescribeConnection returned.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stepwise_ports::tasks::TaskFailure;

use crate::wire::{self, AwsEndpoints, HttpRequest, JsonCall, JsonCallError};

/// A connection's authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `API_KEY`: a header with the key.
    ApiKey {
        /// The header name.
        name: String,
        /// The key.
        value: String,
    },
    /// `BASIC`: `Authorization: Basic ...`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `OAUTH_CLIENT_CREDENTIALS`: a bearer token from the authorization endpoint.
    OAuth {
        /// The token endpoint.
        endpoint: String,
        /// Its method (`POST` unless said otherwise).
        method: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// Extra parameters of the token request.
        params: Parameters,
    },
}

/// Header, query string and body parameters (`InvocationHttpParameters`,
/// `OAuthHttpParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Query string parameters.
    pub query: Vec<(String, String)>,
    /// Body parameters.
    pub body: Vec<(String, String)>,
}

/// A resolved connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Its authorization.
    pub authorization: Authorization,
    /// What it adds to every request.
    pub invocation: Parameters,
}

fn key_values(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|p| {
                    let k = p.get("Key")?.as_str()?;
                    let v = match p.get("Value")? {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some((k.to_string(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn parameters(v: Option<&Value>) -> Parameters {
    Parameters {
        headers: key_values(v.and_then(|v| v.get("HeaderParameters"))),
        query: key_values(v.and_then(|v| v.get("QueryStringParameters"))),
        body: key_values(v.and_then(|v| v.get("BodyParameters"))),
    }
}

/// Reads a connection from CreateConnection's shape (`AuthorizationType`, `AuthParameters`);
/// `secret` (the connection's secret, snake_case keys) wins over the values in it.
pub fn connection_from_description(
    description: &Value,
    secret: Option<&Value>,
) -> Result<Connection, String> {
    let kind = description
        .get("AuthorizationType")
        .and_then(Value::as_str)
        .ok_or("the connection has no AuthorizationType")?;
    let params = description
        .get("AuthParameters")
        .cloned()
        .unwrap_or(json!({}));
    let pick = |secret_key: &str, value: Option<&Value>| -> String {
        secret
            .and_then(|s| s.get(secret_key))
            .and_then(Value::as_str)
            .or_else(|| value.and_then(Value::as_str))
            .unwrap_or_default()
            .to_string()
    };
    let authorization = match kind {
        "API_KEY" => {
            let p = params.get("ApiKeyAuthParameters");
            Authorization::ApiKey {
                name: pick("api_key_name", p.and_then(|p| p.get("ApiKeyName"))),
                value: pick("api_key_value", p.and_then(|p| p.get("ApiKeyValue"))),
            }
        }
        "BASIC" => {
            let p = params.get("BasicAuthParameters");
            Authorization::Basic {
                username: pick("username", p.and_then(|p| p.get("Username"))),
                password: pick("password", p.and_then(|p| p.get("Password"))),
            }
        }
        "OAUTH_CLIENT_CREDENTIALS" => {
            let p = params.get("OAuthParameters");
            let client = p.and_then(|p| p.get("ClientParameters"));
            let method = pick("http_method", p.and_then(|p| p.get("HttpMethod")));
            Authorization::OAuth {
                endpoint: pick(
                    "authorization_endpoint",
                    p.and_then(|p| p.get("AuthorizationEndpoint")),
                ),
                method: if method.is_empty() {
                    "POST".into()
                } else {
                    method
                },
                client_id: pick("client_id", client.and_then(|c| c.get("ClientID"))),
                client_secret: pick("client_secret", client.and_then(|c| c.get("ClientSecret"))),
                params: parameters(p.and_then(|p| p.get("OAuthHttpParameters"))),
            }
        }
        other => return Err(format!("unsupported AuthorizationType '{other}'")),
    };
    Ok(Connection {
        authorization,
        invocation: parameters(params.get("InvocationHttpParameters")),
    })
}

/// Where connections come from, with OAuth tokens cached until they expire.
#[derive(Debug)]
pub struct Connections {
    file: Option<HashMap<String, Value>>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

/// Why a connections file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP connections file {path}: {message}")]
pub struct ConnectionsFileError {
    path: String,
    message: String,
}

/// The connection's name in its ARN (`arn:aws:events:R:A:connection/NAME/UUID`).
fn connection_name(arn: &str) -> Option<&str> {
    arn.split_once(":connection/")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
}

impl Connections {
    /// Connections from EventBridge only.
    pub fn from_events() -> Self {
        Connections {
            file: None,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Connections from a JSON file (see the module documentation).
    pub fn from_file(path: &Path) -> Result<Self, ConnectionsFileError> {
        let err = |message: String| ConnectionsFileError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(err(
                "expected an object keyed by connection ARN or name".into()
            ));
        };
        for (k, v) in &map {
            connection_from_description(v, None).map_err(|e| err(format!("'{k}': {e}")))?;
        }
        Ok(Connections {
            file: Some(map.into_iter().collect()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The connection named by `arn`.
    pub async fn resolve(&self, aws: &AwsEndpoints, arn: &str) -> Result<Connection, TaskFailure> {
        if let Some(file) = &self.file {
            let entry = file
                .get(arn)
                .or_else(|| connection_name(arn).and_then(|n| file.get(n)));
            return match entry {
                Some(v) => connection_from_description(v, None).map_err(TaskFailure::runtime),
                None => Err(TaskFailure::runtime(format!(
                    "The connection '{arn}' is not in the HTTP connections file (--http-connections)."
                ))),
            };
        }
        let name = connection_name(arn).unwrap_or(arn);
        let described = aws
            .json_call(
                JsonCall {
                    env_id: "EVENTBRIDGE",
                    host_prefix: "events",
                    signing_name: "events",
                    target: "AWSEvents.DescribeConnection",
                    content_type: "application/x-amz-json-1.1",
                },
                &json!({ "Name": name }),
            )
            .await
            .map_err(|e| connection_failure(arn, e))?;
        let state = described
            .body
            .get("ConnectionState")
            .and_then(Value::as_str);
        if state.is_some_and(|s| s != "AUTHORIZED") {
            return Err(TaskFailure::new(
                "Events.ConnectionResource.InvalidConnectionState",
                format!(
                    "The connection '{arn}' is in state {}.",
                    state.unwrap_or_default()
                ),
            ));
        }
        let secret = match described.body.get("SecretArn").and_then(Value::as_str) {
            Some(secret_arn) => {
                let got = aws
                    .json_call(
                        JsonCall {
                            env_id: "SECRETS_MANAGER",
                            host_prefix: "secretsmanager",
                            signing_name: "secretsmanager",
                            target: "secretsmanager.GetSecretValue",
                            content_type: "application/x-amz-json-1.1",
                        },
                        &json!({ "SecretId": secret_arn }),
                    )
                    .await
                    .map_err(|e| connection_failure(arn, e))?;
                got.body
                    .get("SecretString")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
            }
            None => None,
        };
        connection_from_description(&described.body, secret.as_ref()).map_err(TaskFailure::runtime)
    }

    /// A bearer token for an OAuth connection (cached per connection until it expires).
    pub async fn oauth_token(
        &self,
        arn: &str,
        authorization: &Authorization,
    ) -> Result<String, TaskFailure> {
        let Authorization::OAuth {
            endpoint,
            method,
            client_id,
            client_secret,
            params,
        } = authorization
        else {
            return Err(TaskFailure::runtime("not an OAuth connection"));
        };
        if let Some((token, until)) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
        {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let mut body = params.body.clone();
        if !body.iter().any(|(k, _)| k == "grant_type") {
            body.push(("grant_type".into(), "client_credentials".into()));
        }
        let mut url = endpoint.clone();
        if !params.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&crate::http_invoke::form_encode(&params.query));
        }
        let mut headers = params.headers.clone();
        headers.push((
            "Authorization".into(),
            basic_auth_value(client_id, client_secret),
        ));
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let response = wire::send(HttpRequest {
            method: method.clone(),
            url,
            headers,
            body: Some(crate::http_invoke::form_encode(&body).into_bytes()),
        })
        .await
        .map_err(|e| oauth_failure(arn, &e.message))?;
        if !(200..300).contains(&response.status) {
            return Err(oauth_failure(
                arn,
                &format!("status {}: {}", response.status, response.text()),
            ));
        }
        let parsed: Value = serde_json::from_slice(&response.body)
            .map_err(|e| oauth_failure(arn, &format!("the token response is not JSON: {e}")))?;
        let token = parsed
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| oauth_failure(arn, "the token response has no access_token"))?
            .to_string();
        let lifetime = parsed
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(300)
            .saturating_sub(10);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                arn.to_string(),
                (
                    token.clone(),
                    Instant::now() + Duration::from_secs(lifetime),
                ),
            );
        Ok(token)
    }
}

/// `Basic base64(user:password)`.
pub fn basic_auth_value(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        aws_smithy_types::base64::encode(format!("{user}:{password}"))
    )
}

fn oauth_failure(arn: &str, why: &str) -> TaskFailure {
    TaskFailure::new(
        "Events.ConnectionResource.InvalidConnectionState",
        format!("The OAuth token request of connection '{arn}' failed: {why}"),
    )
}

fn connection_failure(arn: &str, e: JsonCallError) -> TaskFailure {
    match e {
        JsonCallError::Service { code, message, .. } if code == "ResourceNotFoundException" => {
            TaskFailure::new(
                "Events.ConnectionResource.ResourceNotFound",
                format!("The connection '{arn}' was not found: {message}"),
            )
        }
        JsonCallError::Service { code, message, .. } => TaskFailure::new(
            "Events.ConnectionResource.InternalError",
            format!("Reading the connection '{arn}' failed: {code}: {message}"),
        ),
        JsonCallError::Transport { message } => TaskFailure::new(
            "Events.ConnectionResource.InternalError",
            format!("Reading the connection '{arn}' failed: {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_authorization_type() {
        let c = connection_from_description(
            &json!({"AuthorizationType": "API_KEY", "AuthParameters": {
                "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"},
                "InvocationHttpParameters": {"HeaderParameters": [{"Key": "h", "Value": "v"}],
                    "QueryStringParameters": [{"Key": "q", "Value": "1", "IsValueSecret": false}]}}}),
            None,
        )
        .unwrap();
        assert_eq!(
            c.authorization,
            Authorization::ApiKey {
                name: "x-api-key".into(),
                value: "k".into()
            }
        );
        assert_eq!(c.invocation.headers, vec![("h".into(), "v".into())]);
        assert_eq!(c.invocation.query, vec![("q".into(), "1".into())]);

        let c = connection_from_description(
            &json!({"AuthorizationType": "BASIC", "AuthParameters": {
                "BasicAuthParameters": {"Username": "u"}}}),
            Some(&json!({"username": "u", "password": "secret"})),
        )
        .unwrap();
        assert_eq!(
            c.authorization,
            Authorization::Basic {
                username: "u".into(),
                password: "secret".into()
            }
        );
        assert!(connection_from_description(&json!({"AuthorizationType": "NONE"}), None).is_err());
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            connection_name("arn:aws:events:us-east-1:1:connection/my-conn/abc-123"),
            Some("my-conn")
        );
        assert_eq!(connection_name("my-conn"), None);
        assert_eq!(basic_auth_value("u", "p"), "Basic dTpw");
    }
}
