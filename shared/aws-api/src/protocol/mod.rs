//! The wire protocols: an input (JSON spelled as the model spells it) becomes an HTTP request,
//! and an HTTP answer becomes the output (JSON spelled as the model spells it) or the service's
//! error.
//!
//! botocore's protocol names: `json` (awsJson1_0/1_1), `rest-json` (restJson1), `rest-xml`
//! (restXml), `query` (awsQuery), `ec2` (ec2Query).

mod json;
mod query;
mod rest;
mod xmlshape;

pub use query::STRICT;

use crate::model::{Member, Operation, ServiceModel, Shape, ShapeType};
use crate::ApiCallError;
use serde_json::Value;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::OffsetDateTime;

/// The protocols the caller speaks, preferred first (botocore's order).
const SUPPORTED: [&str; 5] = ["json", "rest-json", "rest-xml", "query", "ec2"];

/// The protocol to speak with a service: the first of its protocols the caller supports.
pub fn protocol_of(model: &ServiceModel) -> Option<&'static str> {
    let listed: Vec<&str> = if model.metadata.protocols.is_empty() {
        vec![model.metadata.protocol.as_str()]
    } else {
        model
            .metadata
            .protocols
            .iter()
            .map(String::as_str)
            .collect()
    };
    SUPPORTED.into_iter().find(|p| listed.contains(p))
}

/// A request before the endpoint and signature are added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path (percent-encoded, starting with `/`).
    pub path: String,
    /// The query string's pairs, not yet encoded.
    pub query: Vec<(String, String)>,
    /// Headers beyond host and signature.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The operation's host prefix with its labels filled (`data.`).
    pub host_prefix: Option<String>,
}

/// An answer as received.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serializes an input for the service's protocol.
pub fn build(
    model: &ServiceModel,
    protocol: &str,
    op_name: &str,
    op: &Operation,
    input: &Value,
) -> Result<Request, ApiCallError> {
    let mut req = match protocol {
        "json" => json::build(model, op_name, op, input)?,
        "query" | "ec2" => query::build(model, protocol == "ec2", op_name, op, input)?,
        _ => rest::build(model, protocol == "rest-json", op, input)?,
    };
    if let Some(prefix) = &op.host_prefix {
        req.host_prefix = Some(host_prefix(model, op, prefix, input)?);
    }
    Ok(req)
}

/// Parses an answer: the output on success, the service's error otherwise. The request id is
/// returned with either.
pub fn parse(
    model: &ServiceModel,
    protocol: &str,
    op: &Operation,
    resp: &Response,
) -> (Option<String>, Result<Value, ApiCallError>) {
    match protocol {
        "json" => json::parse(model, op, resp),
        "query" | "ec2" => query::parse(model, op, resp),
        _ => rest::parse(model, protocol == "rest-json", op, resp),
    }
}

fn host_prefix(
    model: &ServiceModel,
    op: &Operation,
    template: &str,
    input: &Value,
) -> Result<String, ApiCallError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len());
        let label = &rest[open + 1..close];
        let value = input.get(label).and_then(Value::as_str).unwrap_or_default();
        let valid = !value.is_empty()
            && value.len() <= 63
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(ApiCallError::Validation {
                message: format!(
                    "{label} must be a valid host label (letters, digits and '-') for {} {}",
                    model.name,
                    op.input.as_deref().unwrap_or_default()
                ),
            });
        }
        out.push_str(value);
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

/// The shape a member refers to (a missing shape is a broken model: an error, not a panic).
pub fn shape_of<'m>(model: &'m ServiceModel, m: &Member) -> Result<&'m Shape, ApiCallError> {
    model
        .shape(&m.shape)
        .ok_or_else(|| ApiCallError::Validation {
            message: format!("the model of {} has no shape {}", model.name, m.shape),
        })
}

/// A named shape.
pub fn named_shape<'m>(model: &'m ServiceModel, name: &str) -> Result<&'m Shape, ApiCallError> {
    model.shape(name).ok_or_else(|| ApiCallError::Validation {
        message: format!("the model of {} has no shape {name}", model.name),
    })
}

/// Whether a shape is a scalar number type.
pub fn is_integer(t: ShapeType) -> bool {
    matches!(
        t,
        ShapeType::Integer
            | ShapeType::Long
            | ShapeType::Short
            | ShapeType::Byte
            | ShapeType::BigInteger
    )
}

/// An input timestamp (epoch seconds as a number, or ISO 8601 / RFC 822 text).
pub fn timestamp_in(v: &Value) -> Option<OffsetDateTime> {
    match v {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9).round() as i128).ok()
        }
        Value::String(s) => parse_time_text(s),
        _ => None,
    }
}

/// Parses timestamp text from a service or an input: ISO 8601 (with or without an offset or a
/// fraction), RFC 822 or epoch seconds.
pub fn parse_time_text(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t);
    }
    if let Some(base) = s.strip_suffix(" GMT").or_else(|| s.strip_suffix(" UTC")) {
        if let Ok(t) = OffsetDateTime::parse(&format!("{base} +0000"), &Rfc2822) {
            return Some(t);
        }
    }
    if let Ok(secs) = s.parse::<f64>() {
        return OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9).round() as i128).ok();
    }
    None
}

/// A timestamp as the caller's output carries it: epoch seconds, with a fraction when there is
/// one.
pub fn timestamp_out(t: OffsetDateTime) -> Value {
    let nanos = t.unix_timestamp_nanos();
    if nanos % 1_000_000_000 == 0 {
        Value::from(t.unix_timestamp())
    } else {
        let millis = (nanos / 1_000_000) as f64 / 1000.0;
        serde_json::Number::from_f64(millis)
            .map(Value::Number)
            .unwrap_or_else(|| Value::from(t.unix_timestamp()))
    }
}

/// A timestamp on the wire in the given format (`iso8601`, `rfc822`, `unixTimestamp`).
pub fn timestamp_text(t: OffsetDateTime, format: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    match format {
        "rfc822" => {
            let fmt = time::macros::format_description!(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
            );
            t.format(&fmt).unwrap_or_default()
        }
        "unixTimestamp" => match timestamp_out(t) {
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        },
        _ => {
            let millis = t.millisecond();
            let fmt =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
            let base = t.format(&fmt).unwrap_or_default();
            if millis == 0 {
                format!("{base}Z")
            } else {
                format!("{base}.{millis:03}Z")
            }
        }
    }
}

/// The text of a scalar input for a query string, header or form field.
pub fn scalar_text(shape: &Shape, v: &Value, ts_format: &str) -> Option<String> {
    match (shape.shape_type, v) {
        (ShapeType::Timestamp, v) => timestamp_in(v).map(|t| timestamp_text(t, ts_format)),
        (_, Value::String(s)) => Some(s.clone()),
        (_, Value::Bool(b)) => Some(b.to_string()),
        (_, Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// A scalar read back from wire text (XML, headers): numbers, booleans, timestamps typed.
pub fn scalar_from_text(shape: &Shape, text: &str) -> Value {
    match shape.shape_type {
        t if is_integer(t) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(text)),
        ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::from(text)),
        ShapeType::Boolean => Value::Bool(text.trim() == "true"),
        ShapeType::Timestamp => parse_time_text(text)
            .map(timestamp_out)
            .unwrap_or_else(|| Value::from(text)),
        _ => Value::from(text),
    }
}

/// A fresh idempotency token (a random UUID, as the SDKs generate).
pub fn idempotency_token() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The input with missing idempotency tokens filled (top-level members, as the SDKs do);
/// borrowed when none is missing, as a payload (an S3 part) can be megabytes.
pub fn fill_idempotency_tokens<'a>(
    model: &ServiceModel,
    op: &Operation,
    input: &'a Value,
) -> std::borrow::Cow<'a, Value> {
    let Some(shape) = op.input.as_deref().and_then(|n| model.shape(n)) else {
        return std::borrow::Cow::Borrowed(input);
    };
    let Value::Object(map) = input else {
        return std::borrow::Cow::Borrowed(input);
    };
    let missing: Vec<&String> = shape
        .members
        .iter()
        .filter(|(name, m)| m.idempotency_token && !map.contains_key(name.as_str()))
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut map = map.clone();
    for name in missing {
        map.insert(name.clone(), Value::from(idempotency_token()));
    }
    std::borrow::Cow::Owned(Value::Object(map))
}

/// An error answer that could not be read: named after its status, as the SDKs do.
pub fn unreadable_error(status: u16, body: &[u8]) -> ApiCallError {
    let code = match status {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequestsException",
        500 => "InternalFailure",
        503 => "ServiceUnavailable",
        _ => "UnknownError",
    };
    ApiCallError::Service {
        status,
        code: code.to_string(),
        message: String::from_utf8_lossy(body).chars().take(500).collect(),
        request_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_the_wire_formats() {
        let t = parse_time_text("2026-12-02T05:05:57Z").unwrap();
        assert_eq!(timestamp_out(t), Value::from(1796187957));
        assert_eq!(timestamp_text(t, "iso8601"), "2026-12-02T05:05:57Z");
        assert_eq!(timestamp_text(t, "rfc822"), "Wed, 02 Dec 2026 05:05:57 GMT");
        assert_eq!(timestamp_text(t, "unixTimestamp"), "1796187957");
        assert_eq!(parse_time_text("Wed, 02 Dec 2026 05:05:57 GMT"), Some(t));
        assert_eq!(parse_time_text("2026-12-02T05:05:57"), Some(t));
        assert_eq!(parse_time_text("1796187957"), Some(t));
        let frac = parse_time_text("2026-12-02T05:05:57.250+00:00").unwrap();
        assert_eq!(timestamp_out(frac), serde_json::json!(1796187957.25));
        assert_eq!(timestamp_text(frac, "iso8601"), "2026-12-02T05:05:57.250Z");
        assert_eq!(parse_time_text("yesterday"), None);
    }

    #[test]
    fn an_input_is_copied_only_to_fill_a_missing_idempotency_token() {
        let model = crate::service_model("dynamodb").unwrap();
        let op = model.operation("TransactWriteItems").unwrap();
        let given = serde_json::json!({"TransactItems": [], "ClientRequestToken": "t"});
        let filled = fill_idempotency_tokens(&model, op, &given);
        assert!(matches!(filled, std::borrow::Cow::Borrowed(_)));
        let missing = serde_json::json!({"TransactItems": []});
        let filled = fill_idempotency_tokens(&model, op, &missing);
        assert!(matches!(filled, std::borrow::Cow::Owned(_)));
        assert_eq!(
            filled["ClientRequestToken"].as_str().map(str::len),
            Some(36)
        );
        let s3 = crate::service_model("s3").unwrap();
        let part = serde_json::json!({"Bucket": "b", "Key": "k", "Body": "x".repeat(1 << 20)});
        let filled = fill_idempotency_tokens(&s3, s3.operation("UploadPart").unwrap(), &part);
        assert!(matches!(filled, std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn idempotency_tokens_are_version_4_uuids() {
        let t = idempotency_token();
        assert_eq!(t.len(), 36);
        assert_eq!(&t[14..15], "4");
    }
}
