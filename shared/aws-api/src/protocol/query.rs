//! awsQuery and ec2Query: `POST /` with a form body (`Action`, `Version`, the input flattened
//! into dotted keys), XML answers.

use super::{named_shape, scalar_text, shape_of, xmlshape, Request, Response};
use crate::model::{Member, Operation, ServiceModel, Shape, ShapeType};
use crate::ApiCallError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// Everything but the unreserved characters is percent-encoded (RFC 3986, as SigV4 expects).
pub const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Form encoding of pairs.
pub fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, STRICT),
                utf8_percent_encode(v, STRICT)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

struct Serializer<'m> {
    model: &'m ServiceModel,
    ec2: bool,
    out: Vec<(String, String)>,
}

impl Serializer<'_> {
    fn member_name(&self, key: &str, m: &Member) -> String {
        if self.ec2 {
            if let Some(q) = &m.query_name {
                return q.clone();
            }
            if let Some(l) = &m.location_name {
                return capitalize(l);
            }
            return key.to_string();
        }
        m.location_name.clone().unwrap_or_else(|| key.to_string())
    }

    fn value(
        &mut self,
        shape: &Shape,
        member: Option<&Member>,
        v: &Value,
        prefix: &str,
    ) -> Result<(), ApiCallError> {
        match shape.shape_type {
            ShapeType::Structure => {
                let Value::Object(obj) = v else { return Ok(()) };
                for (key, val) in obj {
                    if val.is_null() {
                        continue;
                    }
                    let Some(m) = shape.member(key) else { continue };
                    let name = self.member_name(key, m);
                    let p = if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}.{name}")
                    };
                    self.value(shape_of(self.model, m)?, Some(m), val, &p)?;
                }
            }
            ShapeType::List => {
                let (Value::Array(items), Some(lm)) = (v, &shape.member) else {
                    return Ok(());
                };
                let ms = shape_of(self.model, lm)?;
                if items.is_empty() {
                    if !self.ec2 {
                        self.out.push((prefix.to_string(), String::new()));
                    }
                    return Ok(());
                }
                let list_prefix = if self.ec2 {
                    prefix.to_string()
                } else if shape.flattened || member.is_some_and(|m| m.flattened) {
                    match &lm.location_name {
                        Some(n) => match prefix.rsplit_once('.') {
                            Some((head, _)) => format!("{head}.{n}"),
                            None => n.clone(),
                        },
                        None => prefix.to_string(),
                    }
                } else {
                    format!(
                        "{prefix}.{}",
                        lm.location_name.as_deref().unwrap_or("member")
                    )
                };
                for (i, item) in items.iter().enumerate() {
                    self.value(ms, Some(lm), item, &format!("{list_prefix}.{}", i + 1))?;
                }
            }
            ShapeType::Map => {
                let (Value::Object(obj), Some(k), Some(vm)) = (v, &shape.key, &shape.value) else {
                    return Ok(());
                };
                let ks = shape_of(self.model, k)?;
                let vs = shape_of(self.model, vm)?;
                let base = if shape.flattened || member.is_some_and(|m| m.flattened) {
                    prefix.to_string()
                } else {
                    format!("{prefix}.entry")
                };
                let key_suffix = k.location_name.as_deref().unwrap_or("key");
                let value_suffix = vm.location_name.as_deref().unwrap_or("value");
                for (i, (key, val)) in obj.iter().enumerate() {
                    let n = i + 1;
                    self.value(
                        ks,
                        Some(k),
                        &Value::from(key.as_str()),
                        &format!("{base}.{n}.{key_suffix}"),
                    )?;
                    self.value(vs, Some(vm), val, &format!("{base}.{n}.{value_suffix}"))?;
                }
            }
            _ => {
                let format = member
                    .and_then(|m| m.timestamp_format.as_deref())
                    .or(shape.timestamp_format.as_deref())
                    .unwrap_or("iso8601");
                if let Some(text) = scalar_text(shape, v, format) {
                    self.out.push((prefix.to_string(), text));
                }
            }
        }
        Ok(())
    }
}

pub fn build(
    model: &ServiceModel,
    ec2: bool,
    op_name: &str,
    op: &Operation,
    input: &Value,
) -> Result<Request, ApiCallError> {
    let mut s = Serializer {
        model,
        ec2,
        out: vec![
            ("Action".to_string(), op_name.to_string()),
            ("Version".to_string(), model.metadata.api_version.clone()),
        ],
    };
    if let Some(name) = &op.input {
        s.value(named_shape(model, name)?, None, input, "")?;
    }
    Ok(Request {
        method: "POST".to_string(),
        path: "/".to_string(),
        query: Vec::new(),
        headers: vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )],
        body: form(&s.out).into_bytes(),
        host_prefix: None,
    })
}

pub fn parse(
    model: &ServiceModel,
    op: &Operation,
    resp: &Response,
) -> (Option<String>, Result<Value, ApiCallError>) {
    let header_id = resp
        .header("x-amzn-requestid")
        .or_else(|| resp.header("x-amz-request-id"))
        .map(str::to_string);
    if !(200..300).contains(&resp.status) {
        let e = xmlshape::error(resp, header_id.clone());
        let id = match &e {
            ApiCallError::Service { request_id, .. } => request_id.clone(),
            _ => header_id,
        };
        return (id, Err(e));
    }
    let text = String::from_utf8_lossy(&resp.body);
    let root = match crate::xml::parse(&text) {
        Ok(r) => r,
        Err(_) if text.trim().is_empty() => return (header_id, Ok(Value::Object(Map::new()))),
        Err(e) => {
            return (
                header_id,
                Err(ApiCallError::Transport {
                    message: format!("the service answered with {e}"),
                }),
            )
        }
    };
    let request_id = root
        .find("RequestId")
        .or_else(|| root.child("requestId"))
        .map(|e| e.text.clone())
        .or(header_id);
    let Some(shape) = op.output.as_deref().and_then(|n| model.shape(n)) else {
        return (request_id, Ok(Value::Object(Map::new())));
    };
    let node = match &op.result_wrapper {
        Some(w) => root.child(w),
        None => Some(&root),
    };
    let out = node
        .map(|n| xmlshape::decode(model, shape, n))
        .unwrap_or_else(|| Value::Object(Map::new()));
    (request_id, Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_style_query_serialization_matches_botocore() {
        let model = crate::service_model("sns").unwrap();
        let op = model.operation("Publish").unwrap();
        let input = serde_json::json!({
            "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Message": "hi there",
            "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}
        });
        let req = build(&model, false, "Publish", op, &input).unwrap();
        let body = String::from_utf8(req.body).unwrap();
        assert!(
            body.starts_with("Action=Publish&Version=2010-03-31&"),
            "{body}"
        );
        assert!(body.contains("Message=hi%20there"), "{body}");
        assert!(body.contains("MessageAttributes.entry.1.Name=a"), "{body}");
        assert!(
            body.contains("MessageAttributes.entry.1.Value.DataType=String"),
            "{body}"
        );
    }

    #[test]
    fn ec2_lists_are_flat_and_names_capitalized() {
        let model = crate::service_model("ec2").unwrap();
        let op = model.operation("DescribeInstances").unwrap();
        let input = serde_json::json!({
            "InstanceIds": ["i-1", "i-2"],
            "Filters": [{"Name": "tag:a", "Values": ["x"]}]
        });
        let req = build(&model, true, "DescribeInstances", op, &input).unwrap();
        let body = String::from_utf8(req.body).unwrap();
        assert!(body.contains("InstanceId.1=i-1&InstanceId.2=i-2"), "{body}");
        assert!(body.contains("Filter.1.Name=tag%3Aa"), "{body}");
        assert!(body.contains("Filter.1.Value.1=x"), "{body}");
    }
}
