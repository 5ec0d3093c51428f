//! awsJson1_0 / awsJson1_1 (`POST /` with `X-Amz-Target`), and the JSON bodies of restJson1.

use super::{
    named_shape, shape_of, timestamp_in, timestamp_out, timestamp_text, Request, Response,
};
use crate::model::{Member, Operation, ServiceModel, Shape, ShapeType};
use crate::ApiCallError;
use serde_json::{Map, Value};

/// Encodes a value of `shape` as its JSON wire form (body member names, timestamps).
pub fn encode(
    model: &ServiceModel,
    shape: &Shape,
    member: Option<&Member>,
    v: &Value,
) -> Result<Value, ApiCallError> {
    Ok(match shape.shape_type {
        ShapeType::Structure if !shape.document => {
            let mut out = Map::new();
            if let Value::Object(obj) = v {
                for (k, val) in obj {
                    if val.is_null() {
                        continue;
                    }
                    let Some(m) = shape.member(k) else { continue };
                    let key = m.location_name.clone().unwrap_or_else(|| k.clone());
                    out.insert(key, encode(model, shape_of(model, m)?, Some(m), val)?);
                }
            }
            Value::Object(out)
        }
        ShapeType::List => match (v, &shape.member) {
            (Value::Array(items), Some(m)) => {
                let ms = shape_of(model, m)?;
                Value::Array(
                    items
                        .iter()
                        .map(|i| encode(model, ms, Some(m), i))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => v.clone(),
        },
        ShapeType::Map => match (v, &shape.value) {
            (Value::Object(obj), Some(m)) => {
                let ms = shape_of(model, m)?;
                let mut out = Map::new();
                for (k, val) in obj {
                    out.insert(k.clone(), encode(model, ms, Some(m), val)?);
                }
                Value::Object(out)
            }
            _ => v.clone(),
        },
        ShapeType::Timestamp => {
            let format = member
                .and_then(|m| m.timestamp_format.as_deref())
                .or(shape.timestamp_format.as_deref())
                .unwrap_or("unixTimestamp");
            match timestamp_in(v) {
                Some(t) if format == "unixTimestamp" => timestamp_out(t),
                Some(t) => Value::from(timestamp_text(t, format)),
                None => v.clone(),
            }
        }
        _ => v.clone(),
    })
}

/// Decodes a JSON wire value of `shape` into the output form (member names as the model
/// spells them, timestamps as epoch seconds); members the model does not know are dropped, as
/// the SDKs drop them.
pub fn decode(model: &ServiceModel, shape: &Shape, v: &Value) -> Value {
    match (shape.shape_type, v) {
        (ShapeType::Structure, Value::Object(obj)) if !shape.document => {
            let mut out = Map::new();
            for (name, m) in &shape.members {
                if m.location.is_some() {
                    continue;
                }
                let key = m.location_name.as_deref().unwrap_or(name);
                if let (Some(val), Some(ms)) = (obj.get(key), model.shape(&m.shape)) {
                    if !val.is_null() {
                        out.insert(name.clone(), decode(model, ms, val));
                    }
                }
            }
            Value::Object(out)
        }
        (ShapeType::List, Value::Array(items)) => {
            match shape.member.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => Value::Array(items.iter().map(|i| decode(model, ms, i)).collect()),
                None => v.clone(),
            }
        }
        (ShapeType::Map, Value::Object(obj)) => {
            match shape.value.as_ref().and_then(|m| model.shape(&m.shape)) {
                Some(ms) => Value::Object(
                    obj.iter()
                        .map(|(k, val)| (k.clone(), decode(model, ms, val)))
                        .collect(),
                ),
                None => v.clone(),
            }
        }
        (ShapeType::Timestamp, _) => timestamp_in(v).map(timestamp_out).unwrap_or(v.clone()),
        _ => v.clone(),
    }
}

pub fn build(
    model: &ServiceModel,
    op_name: &str,
    op: &Operation,
    input: &Value,
) -> Result<Request, ApiCallError> {
    let body = match &op.input {
        Some(name) => encode(model, named_shape(model, name)?, None, input)?,
        None => Value::Object(Map::new()),
    };
    let version = model.metadata.json_version.as_deref().unwrap_or("1.0");
    let mut headers = vec![(
        "content-type".to_string(),
        format!("application/x-amz-json-{version}"),
    )];
    if let Some(prefix) = &model.metadata.target_prefix {
        headers.push(("x-amz-target".to_string(), format!("{prefix}.{op_name}")));
    }
    Ok(Request {
        method: "POST".to_string(),
        path: "/".to_string(),
        query: Vec::new(),
        headers,
        body: body.to_string().into_bytes(),
        host_prefix: None,
    })
}

pub fn parse(
    model: &ServiceModel,
    op: &Operation,
    resp: &Response,
) -> (Option<String>, Result<Value, ApiCallError>) {
    let request_id = resp
        .header("x-amzn-requestid")
        .or_else(|| resp.header("x-amz-request-id"))
        .map(str::to_string);
    if !(200..300).contains(&resp.status) {
        return (request_id.clone(), Err(error(model, resp, request_id)));
    }
    let body: Value = if resp.body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&resp.body) {
            Ok(v) => v,
            Err(e) => {
                return (
                    request_id,
                    Err(ApiCallError::Transport {
                        message: format!("the service answered with malformed JSON: {e}"),
                    }),
                )
            }
        }
    };
    let out = match op.output.as_deref().and_then(|n| model.shape(n)) {
        Some(shape) => decode(model, shape, &body),
        None => Value::Object(Map::new()),
    };
    (request_id, Ok(out))
}

/// The error of a JSON answer (awsJson and restJson1): the code from `x-amzn-ErrorType`,
/// `__type` or `code` (namespace and `:suffix` removed; the `x-amzn-query-error` code for
/// services that keep their query protocol's codes), the message from `message`/`Message`.
pub fn error(model: &ServiceModel, resp: &Response, request_id: Option<String>) -> ApiCallError {
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let raw = resp
        .header("x-amzn-errortype")
        .map(str::to_string)
        .or_else(|| body["__type"].as_str().map(str::to_string))
        .or_else(|| body["code"].as_str().map(str::to_string))
        .or_else(|| body["Code"].as_str().map(str::to_string));
    let Some(raw) = raw else {
        return super::unreadable_error(resp.status, &resp.body);
    };
    let mut code = clean_code(&raw);
    if model.metadata.aws_query_compatible.is_some() {
        if let Some(q) = resp.header("x-amzn-query-error") {
            if let Some((c, _)) = q.split_once(';') {
                code = c.to_string();
            }
        }
    }
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| body[*k].as_str())
        .unwrap_or_default()
        .to_string();
    ApiCallError::Service {
        status: resp.status,
        code,
        message,
        request_id,
    }
}

/// `aws.protocoltests#FooError:http://...` -> `FooError`.
pub fn clean_code(raw: &str) -> String {
    let code = raw.split(':').next().unwrap_or(raw);
    let code = code.rsplit('#').next().unwrap_or(code);
    code.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_lose_their_namespace_and_suffix() {
        assert_eq!(
            clean_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            clean_code("ValidationException:http://internal.amazon.com/"),
            "ValidationException"
        );
    }
}
