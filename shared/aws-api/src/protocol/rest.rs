//! restJson1 and restXml: members bound to the URI, the query string, headers, the status code
//! and the payload; the rest in a JSON or XML body.

use super::{
    json, named_shape, scalar_from_text, scalar_text, shape_of, xmlshape, Request, Response,
};
use crate::model::{Operation, ServiceModel, Shape, ShapeType};
use crate::ApiCallError;
use base64::Engine;
use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn missing_label(label: &str) -> ApiCallError {
    ApiCallError::Validation {
        message: format!("{label} must be set: it is part of the request's URI"),
    }
}

pub fn build(
    model: &ServiceModel,
    is_json: bool,
    op: &Operation,
    input: &Value,
) -> Result<Request, ApiCallError> {
    let empty = Shape::default();
    let shape = match &op.input {
        Some(n) => named_shape(model, n)?,
        None => &empty,
    };
    // Borrowed, not cloned: a payload (an S3 part) can be megabytes.
    let no_members = serde_json::Map::new();
    let obj = input.as_object().unwrap_or(&no_members);
    let (template, static_query) = op
        .http
        .request_uri
        .split_once('?')
        .unwrap_or((op.http.request_uri.as_str(), ""));
    let mut req = Request {
        method: op.http.method.clone(),
        ..Request::default()
    };
    for pair in static_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        req.query.push((k.to_string(), v.to_string()));
    }
    // The path: labels filled, `{Key+}` keeping its slashes.
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len());
        let label = &rest[open + 1..close];
        let (label, greedy) = match label.strip_suffix('+') {
            Some(l) => (l, true),
            None => (label, false),
        };
        let (name, m) = shape
            .members
            .iter()
            .find(|(n, m)| {
                m.location.as_deref() == Some("uri")
                    && m.location_name.as_deref().unwrap_or(n) == label
            })
            .ok_or_else(|| missing_label(label))?;
        let ms = shape_of(model, m)?;
        let text = obj
            .get(name)
            .and_then(|v| scalar_text(ms, v, "iso8601"))
            .ok_or_else(|| missing_label(name))?;
        if greedy {
            let parts: Vec<String> = text
                .split('/')
                .map(|s| utf8_percent_encode(s, super::query::STRICT).to_string())
                .collect();
            path.push_str(&parts.join("/"));
        } else {
            path.push_str(&utf8_percent_encode(&text, super::query::STRICT).to_string());
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    path.push_str(rest);
    req.path = path;

    let mut body_members = Map::new();
    let mut has_body_members = false;
    for (name, m) in &shape.members {
        let ms = shape_of(model, m)?;
        let wire = m.location_name.as_deref().unwrap_or(name);
        let value = obj.get(name).filter(|v| !v.is_null());
        match m.location.as_deref() {
            Some("uri") | Some("statusCode") => {}
            Some("querystring") => match (value, ms.shape_type) {
                (Some(Value::Array(items)), ShapeType::List) => {
                    let is = ms
                        .member
                        .as_ref()
                        .map(|lm| shape_of(model, lm))
                        .transpose()?;
                    for i in items {
                        if let Some(t) = is.and_then(|s| scalar_text(s, i, "iso8601")) {
                            req.query.push((wire.to_string(), t));
                        }
                    }
                }
                (Some(Value::Object(map)), ShapeType::Map) => {
                    for (k, v) in map {
                        match v {
                            Value::Array(vs) => {
                                for v in vs {
                                    if let Some(s) = v.as_str() {
                                        req.query.push((k.clone(), s.to_string()));
                                    }
                                }
                            }
                            Value::String(s) => req.query.push((k.clone(), s.clone())),
                            _ => {}
                        }
                    }
                }
                (Some(v), _) => {
                    if let Some(t) = scalar_text(ms, v, "iso8601") {
                        req.query.push((wire.to_string(), t));
                    }
                }
                (None, _) => {}
            },
            Some("header") => {
                let Some(v) = value else { continue };
                let text = if m.jsonvalue {
                    Some(B64.encode(v.to_string()))
                } else if let Value::Array(items) = v {
                    let is = ms
                        .member
                        .as_ref()
                        .map(|lm| shape_of(model, lm))
                        .transpose()?;
                    Some(
                        items
                            .iter()
                            .filter_map(|i| is.and_then(|s| scalar_text(s, i, "rfc822")))
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                } else {
                    let format = m
                        .timestamp_format
                        .as_deref()
                        .or(ms.timestamp_format.as_deref())
                        .unwrap_or("rfc822");
                    scalar_text(ms, v, format)
                };
                if let Some(t) = text {
                    req.headers.push((wire.to_ascii_lowercase(), t));
                }
            }
            Some("headers") => {
                if let Some(Value::Object(map)) = value {
                    for (k, v) in map {
                        if let Some(s) = v.as_str() {
                            req.headers
                                .push((format!("{wire}{k}").to_ascii_lowercase(), s.to_string()));
                        }
                    }
                }
            }
            _ => {
                if shape.payload.as_deref() == Some(name.as_str()) {
                    continue;
                }
                has_body_members = true;
                if let Some(v) = value {
                    body_members.insert(name.clone(), v.clone());
                }
            }
        }
    }

    let content_type_set = req.headers.iter().any(|(k, _)| k == "content-type");
    if let Some(payload) = &shape.payload {
        let m = shape
            .member(payload)
            .ok_or_else(|| ApiCallError::Validation {
                message: format!("the model has no payload member {payload}"),
            })?;
        let ps = shape_of(model, m)?;
        if let Some(v) = obj.get(payload).filter(|v| !v.is_null()) {
            match ps.shape_type {
                ShapeType::Blob => {
                    let text = v.as_str().unwrap_or_default();
                    req.body = if ps.streaming || m.streaming {
                        text.as_bytes().to_vec()
                    } else {
                        B64.decode(text).map_err(|_| ApiCallError::Validation {
                            message: format!("{payload} must be base64 text"),
                        })?
                    };
                    if !content_type_set {
                        req.headers.push((
                            "content-type".to_string(),
                            "application/octet-stream".to_string(),
                        ));
                    }
                }
                ShapeType::String => {
                    req.body = v.as_str().unwrap_or_default().as_bytes().to_vec();
                }
                _ if is_json => {
                    req.body = json::encode(model, ps, Some(m), v)?
                        .to_string()
                        .into_bytes();
                    if !content_type_set {
                        req.headers
                            .push(("content-type".to_string(), "application/json".to_string()));
                    }
                }
                _ => {
                    let tag = m
                        .location_name
                        .as_deref()
                        .or(ps.location_name.as_deref())
                        .unwrap_or(payload);
                    let mut xml = String::new();
                    xmlshape::encode(model, ps, Some(m), tag, v, &mut xml)?;
                    req.body = xml.into_bytes();
                }
            }
        }
    } else if has_body_members {
        let body = Value::Object(body_members);
        if is_json {
            req.body = json::encode(model, shape, None, &body)?
                .to_string()
                .into_bytes();
            if !content_type_set {
                req.headers
                    .push(("content-type".to_string(), "application/json".to_string()));
            }
        } else if body.as_object().is_some_and(|o| !o.is_empty()) {
            let tag = op
                .input_location_name
                .as_deref()
                .or(op.input.as_deref())
                .unwrap_or("Request");
            let mut root = shape.clone();
            root.xml_namespace = op.input_xml_namespace.clone();
            let mut xml = String::new();
            xmlshape::encode(model, &root, None, tag, &body, &mut xml)?;
            req.body = xml.into_bytes();
        }
    }
    Ok(req)
}

fn header_value(model: &ServiceModel, ms: &Shape, jsonvalue: bool, text: &str) -> Value {
    if jsonvalue {
        return B64
            .decode(text)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| Value::from(text));
    }
    if ms.shape_type == ShapeType::List {
        if let Some(is) = ms.member.as_ref().and_then(|m| model.shape(&m.shape)) {
            return Value::Array(
                text.split(',')
                    .map(|p| scalar_from_text(is, p.trim()))
                    .collect(),
            );
        }
    }
    scalar_from_text(ms, text)
}

/// A blob payload as the output carries it: a streaming body as UTF-8 text when it is valid
/// UTF-8, base64 otherwise; a non-streaming blob as base64.
fn blob_out(bytes: &[u8], streaming: bool) -> Value {
    if streaming {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Value::from(s);
        }
    }
    Value::from(B64.encode(bytes))
}

pub fn parse(
    model: &ServiceModel,
    is_json: bool,
    op: &Operation,
    resp: &Response,
) -> (Option<String>, Result<Value, ApiCallError>) {
    let header_id = resp
        .header("x-amzn-requestid")
        .or_else(|| resp.header("x-amz-request-id"))
        .map(str::to_string);
    if !(200..300).contains(&resp.status) {
        let e = if is_json {
            json::error(model, resp, header_id.clone())
        } else {
            xmlshape::error(resp, header_id.clone())
        };
        let id = match &e {
            ApiCallError::Service { request_id, .. } => request_id.clone(),
            _ => header_id,
        };
        return (id, Err(e));
    }
    let Some(shape) = op.output.as_deref().and_then(|n| model.shape(n)) else {
        return (header_id, Ok(Value::Object(Map::new())));
    };
    let mut out = Map::new();
    for (name, m) in &shape.members {
        let Some(ms) = model.shape(&m.shape) else {
            continue;
        };
        let wire = m
            .location_name
            .as_deref()
            .unwrap_or(name)
            .to_ascii_lowercase();
        match m.location.as_deref() {
            Some("statusCode") => {
                out.insert(name.clone(), Value::from(resp.status));
            }
            Some("header") => {
                if let Some(text) = resp.header(&wire) {
                    out.insert(name.clone(), header_value(model, ms, m.jsonvalue, text));
                }
            }
            Some("headers") => {
                let map: Map<String, Value> = resp
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix(&wire)
                            .map(|rest| (rest.to_string(), Value::from(v.as_str())))
                    })
                    .collect();
                if !map.is_empty() {
                    out.insert(name.clone(), Value::Object(map));
                }
            }
            _ => {}
        }
    }
    let body_result = if let Some(payload) = &shape.payload {
        let Some(m) = shape.member(payload) else {
            return (header_id, Ok(Value::Object(out)));
        };
        let Some(ps) = model.shape(&m.shape) else {
            return (header_id, Ok(Value::Object(out)));
        };
        match ps.shape_type {
            ShapeType::Blob => {
                out.insert(
                    payload.clone(),
                    blob_out(&resp.body, ps.streaming || m.streaming),
                );
                Ok(())
            }
            ShapeType::String => {
                out.insert(
                    payload.clone(),
                    Value::from(String::from_utf8_lossy(&resp.body).into_owned()),
                );
                Ok(())
            }
            _ if resp.body.iter().all(u8::is_ascii_whitespace) => Ok(()),
            _ => body_value(model, is_json, ps, &resp.body).map(|v| {
                out.insert(payload.clone(), v);
            }),
        }
    } else if resp.body.iter().all(u8::is_ascii_whitespace) {
        Ok(())
    } else {
        body_value(model, is_json, shape, &resp.body).map(|v| {
            if let Value::Object(fields) = v {
                out.extend(fields);
            }
        })
    };
    match body_result {
        Ok(()) => (header_id, Ok(Value::Object(out))),
        Err(e) => (header_id, Err(e)),
    }
}

fn body_value(
    model: &ServiceModel,
    is_json: bool,
    shape: &Shape,
    body: &[u8],
) -> Result<Value, ApiCallError> {
    if is_json {
        let v: Value = serde_json::from_slice(body).map_err(|e| ApiCallError::Transport {
            message: format!("the service answered with malformed JSON: {e}"),
        })?;
        Ok(json::decode(model, shape, &v))
    } else {
        let text = String::from_utf8_lossy(body);
        let root = crate::xml::parse(&text).map_err(|e| ApiCallError::Transport {
            message: format!("the service answered with {e}"),
        })?;
        Ok(xmlshape::decode(model, shape, &root))
    }
}
