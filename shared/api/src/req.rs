//! Reading request fields with AWS's validation errors, and the small helpers (ARNs, names,
//! pagination tokens, times) the actions share.

use crate::error::{ApiError, ApiResult, Shown};
use serde_json::{Map, Value};

/// A request's fields.
pub struct Req(pub Map<String, Value>);

impl Req {
    /// Parses a request body: a JSON object (an empty body reads as `{}`).
    pub fn parse(body: &[u8]) -> ApiResult<Req> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Req(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Req(m)),
            Ok(_) => Err(ApiError::new(
                "SerializationException",
                "Start of structure or map found where not expected",
            )),
            Err(e) => Err(ApiError::new(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }

    fn ill_typed(field: &str, want: &str) -> ApiError {
        ApiError::new(
            "SerializationException",
            format!("Field '{field}' must be {want}"),
        )
    }

    /// An optional string field.
    pub fn opt_str(&self, field: &str) -> ApiResult<Option<String>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Self::ill_typed(field, "a string")),
        }
    }

    /// A required string field.
    pub fn str(&self, field: &str) -> ApiResult<String> {
        self.opt_str(field)?.ok_or_else(|| ApiError::missing(field))
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, field: &str) -> ApiResult<Option<bool>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Self::ill_typed(field, "a boolean")),
        }
    }

    /// An optional integer field.
    pub fn opt_i64(&self, field: &str) -> ApiResult<Option<i64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::ill_typed(field, "an integer")),
            Some(_) => Err(Self::ill_typed(field, "an integer")),
        }
    }

    /// An optional number field.
    pub fn opt_f64(&self, field: &str) -> ApiResult<Option<f64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(Self::ill_typed(field, "a number")),
        }
    }

    /// An optional list field.
    pub fn opt_list(&self, field: &str) -> ApiResult<Option<Vec<Value>>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(_) => Err(Self::ill_typed(field, "a list")),
        }
    }

    /// An optional object field.
    pub fn opt_obj(&self, field: &str) -> ApiResult<Option<Map<String, Value>>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o.clone())),
            Some(_) => Err(Self::ill_typed(field, "a structure")),
        }
    }

    /// `maxResults` (0 or absent: `default`; 1..=1000).
    pub fn max_results(&self, default: usize) -> ApiResult<usize> {
        match self.opt_i64("maxResults")? {
            None | Some(0) => Ok(default),
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            Some(n) => Err(ApiError::constraint(
                Shown::Text(&n.to_string()),
                "maxResults",
                "Member must have value less than or equal to 1000",
            )),
        }
    }

    /// `nextToken` decoded to an offset (0 when absent).
    pub fn offset(&self) -> ApiResult<usize> {
        self.offset_within(1024)
    }

    /// The offset in `nextToken`, whose length the action bounds by `max_len` (AWS checks the
    /// length before it looks inside).
    pub fn offset_within(&self, max_len: usize) -> ApiResult<usize> {
        match self.opt_str("nextToken")? {
            None => Ok(0),
            Some(t) if t.chars().count() > max_len => Err(ApiError::constraint(
                Shown::Text(&t),
                "nextToken",
                &format!("Member must have length less than or equal to {max_len}"),
            )),
            Some(t) => decode_token(&t),
        }
    }
}

const TOKEN_PREFIX: &str = "AAAAKgAAAAIAAAAAAAAAA";

/// An opaque pagination token for an offset.
pub fn encode_token(offset: usize) -> String {
    format!("{TOKEN_PREFIX}{offset:x}")
}

/// The offset in a pagination token.
pub fn decode_token(token: &str) -> ApiResult<usize> {
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        // AWS does not quote the token back.
        .ok_or_else(|| ApiError::new("InvalidToken", "Invalid Token: 'Invalid token'"))
}

/// Pages a list: the items from `offset`, at most `limit`, and the next token.
pub fn page<T: Clone>(items: &[T], offset: usize, limit: usize) -> (Vec<T>, Option<String>) {
    let end = (offset + limit).min(items.len());
    let slice = if offset < items.len() {
        items[offset..end].to_vec()
    } else {
        Vec::new()
    };
    let next = (end < items.len()).then(|| encode_token(end));
    (slice, next)
}

/// Characters a name may not hold besides whitespace and control characters.
fn reserved(c: char) -> bool {
    matches!(
        c,
        '<' | '>'
            | '{'
            | '}'
            | '['
            | ']'
            | '?'
            | '*'
            | '"'
            | '#'
            | '%'
            | '\\'
            | '^'
            | '|'
            | '~'
            | '`'
            | '$'
            | '&'
            | ','
            | ';'
            | ':'
            | '/'
    )
}

/// Checks a resource name as Step Functions does (1-80 characters, none of the reserved ones).
pub fn check_name(name: &str, _what: &str) -> ApiResult<()> {
    // A `match` of the reserved characters rather than a search of a string of them for each
    // character: this runs for every StartExecution.
    let bad = name.is_empty()
        || name.chars().count() > 80
        || name.chars().any(|c| {
            c.is_whitespace() || c.is_control() || reserved(c) || ('\u{7f}'..='\u{9f}').contains(&c)
        });
    if bad {
        return Err(ApiError::new(
            "InvalidName",
            format!("Invalid Name: '{name}'"),
        ));
    }
    Ok(())
}

/// Seconds since the epoch, as the API's timestamps.
pub fn ts(ms: i64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

/// A parsed Step Functions ARN: `arn:PARTITION:states:REGION:ACCOUNT:TYPE:NAME[:QUALIFIER...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arn {
    /// `stateMachine`, `execution`, `express`, `activity`, ...
    pub resource_type: String,
    /// The parts after the type.
    pub parts: Vec<String>,
    /// `arn:PARTITION:states:REGION:ACCOUNT`.
    pub prefix: String,
}

impl Arn {
    /// Parses a Step Functions ARN of one of the `types`.
    pub fn parse(arn: &str, types: &[&str]) -> ApiResult<Arn> {
        let f: Vec<&str> = arn.split(':').collect();
        // A region and a 12-digit account, as every Step Functions ARN has.
        if f.len() < 7
            || f[0] != "arn"
            || !f[1].starts_with("aws")
            || f[2] != "states"
            || f[3].is_empty()
            || f[4].len() != 12
            || !f[4].bytes().all(|c| c.is_ascii_digit())
            || !types.contains(&f[5])
            || f[6..].iter().any(|p| p.is_empty())
        {
            return Err(ApiError::invalid_arn(arn));
        }
        Ok(Arn {
            resource_type: f[5].to_string(),
            parts: f[6..].iter().map(|s| s.to_string()).collect(),
            prefix: f[..5].join(":"),
        })
    }

    /// The unqualified state machine ARN.
    pub fn state_machine(&self) -> String {
        format!("{}:stateMachine:{}", self.prefix, self.parts[0])
    }
}

pub use stepwise_runtime::ids::{
    fresh_seed as seed, new_execution_name as execution_name, new_uuid as uuid,
};

#[cfg(test)]
mod tests {
    use super::check_name;

    /// Names are refused for exactly the characters and lengths the search of the reserved
    /// characters' string refused them for.
    #[test]
    fn names_are_checked_as_the_reserved_characters_say() {
        let bad_char = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                || ('\u{7f}'..='\u{9f}').contains(&c)
        };
        for b in 0u8..128 {
            let c = char::from(b);
            for name in [c.to_string(), format!("ok{c}"), format!("{c}-x")] {
                assert_eq!(check_name(&name, "test").is_err(), bad_char(c), "{name:?}");
            }
        }
        assert!(check_name(&"a".repeat(80), "test").is_ok());
        assert!(check_name(&"a".repeat(81), "test").is_err());
        assert!(check_name("", "test").is_err());
        assert!(check_name(&"é".repeat(80), "test").is_ok());
        assert!(check_name(&"é".repeat(81), "test").is_err());
        assert!(check_name("a\u{85}b", "test").is_err());
    }
}
