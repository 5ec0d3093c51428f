//! XML bodies read and written by shape (query, EC2 and restXml answers; restXml requests),
//! following botocore's XML parser and serializer: flattened lists and maps, `member`/`entry`
//! wrappers, `locationName` element names, attributes.

use super::{scalar_from_text, scalar_text, shape_of, Response};
use crate::model::{Member, ServiceModel, Shape, ShapeType};
use crate::xml::{escape, Element};
use crate::ApiCallError;
use serde_json::{Map, Value};

fn flattened(m: Option<&Member>, s: &Shape) -> bool {
    s.flattened || m.is_some_and(|m| m.flattened)
}

/// Reads an element as a value of `shape`.
pub fn decode(model: &ServiceModel, shape: &Shape, el: &Element) -> Value {
    match shape.shape_type {
        ShapeType::Structure => {
            let mut out = Map::new();
            for (name, m) in &shape.members {
                if m.location.is_some() {
                    continue;
                }
                let Some(ms) = model.shape(&m.shape) else {
                    continue;
                };
                let tag = m.location_name.as_deref().unwrap_or(name);
                if m.xml_attribute {
                    if let Some((_, v)) = el.attrs.iter().find(|(k, _)| k == tag) {
                        out.insert(name.clone(), scalar_from_text(ms, v));
                    }
                    continue;
                }
                if flattened(Some(m), ms) && ms.shape_type == ShapeType::List {
                    let tag = ms
                        .member
                        .as_ref()
                        .and_then(|lm| lm.location_name.as_deref())
                        .unwrap_or(tag);
                    let items: Vec<&Element> =
                        el.children.iter().filter(|c| c.name == tag).collect();
                    if !items.is_empty() {
                        let list = decode_items(model, ms, &items);
                        out.insert(name.clone(), list);
                    }
                } else if flattened(Some(m), ms) && ms.shape_type == ShapeType::Map {
                    let entries: Vec<&Element> =
                        el.children.iter().filter(|c| c.name == tag).collect();
                    if !entries.is_empty() {
                        out.insert(name.clone(), decode_entries(model, ms, &entries));
                    }
                } else if let Some(child) = el.child(tag) {
                    out.insert(name.clone(), decode(model, ms, child));
                }
            }
            Value::Object(out)
        }
        ShapeType::List => {
            let tag = shape
                .member
                .as_ref()
                .and_then(|m| m.location_name.as_deref())
                .unwrap_or("member");
            let items: Vec<&Element> = el.children.iter().filter(|c| c.name == tag).collect();
            decode_items(model, shape, &items)
        }
        ShapeType::Map => {
            let entries: Vec<&Element> = el.children.iter().filter(|c| c.name == "entry").collect();
            decode_entries(model, shape, &entries)
        }
        _ => scalar_from_text(shape, &el.text),
    }
}

fn decode_items(model: &ServiceModel, list: &Shape, items: &[&Element]) -> Value {
    match list.member.as_ref().and_then(|m| model.shape(&m.shape)) {
        Some(ms) => Value::Array(items.iter().map(|i| decode(model, ms, i)).collect()),
        None => Value::Array(Vec::new()),
    }
}

fn decode_entries(model: &ServiceModel, map: &Shape, entries: &[&Element]) -> Value {
    let (Some(k), Some(v)) = (&map.key, &map.value) else {
        return Value::Object(Map::new());
    };
    let key_tag = k.location_name.as_deref().unwrap_or("key");
    let value_tag = v.location_name.as_deref().unwrap_or("value");
    let mut out = Map::new();
    let Some(vs) = model.shape(&v.shape) else {
        return Value::Object(out);
    };
    for e in entries {
        if let Some(key) = e.child_text(key_tag) {
            let value = e
                .child(value_tag)
                .map(|c| decode(model, vs, c))
                .unwrap_or(Value::Null);
            out.insert(key.to_string(), value);
        }
    }
    Value::Object(out)
}

fn namespace_attr(ns: Option<&crate::model::XmlNamespace>) -> String {
    match ns {
        Some(ns) => match (&ns.prefix, &ns.uri) {
            (Some(p), Some(u)) => format!(" xmlns:{p}=\"{}\"", escape(u)),
            (None, Some(u)) => format!(" xmlns=\"{}\"", escape(u)),
            _ => String::new(),
        },
        None => String::new(),
    }
}

/// Writes a value of `shape` as the element `name` (restXml requests).
pub fn encode(
    model: &ServiceModel,
    shape: &Shape,
    member: Option<&Member>,
    name: &str,
    v: &Value,
    out: &mut String,
) -> Result<(), ApiCallError> {
    let ns = namespace_attr(
        member
            .and_then(|m| m.xml_namespace.as_ref())
            .or(shape.xml_namespace.as_ref()),
    );
    match shape.shape_type {
        ShapeType::Structure => {
            let Value::Object(obj) = v else {
                return Ok(());
            };
            let mut attrs = String::new();
            let mut body = String::new();
            for (mname, m) in &shape.members {
                let Some(val) = obj.get(mname).filter(|v| !v.is_null()) else {
                    continue;
                };
                if m.location.is_some() {
                    continue;
                }
                let ms = shape_of(model, m)?;
                let tag = m.location_name.as_deref().unwrap_or(mname);
                if m.xml_attribute {
                    if let Some(text) = scalar_text(ms, val, "iso8601") {
                        attrs.push_str(&format!(" {tag}=\"{}\"", escape(&text)));
                    }
                    if let Some(ns) = &m.xml_namespace {
                        if let (Some(p), Some(u)) = (&ns.prefix, &ns.uri) {
                            attrs.push_str(&format!(" xmlns:{p}=\"{}\"", escape(u)));
                        }
                    }
                    continue;
                }
                encode(model, ms, Some(m), tag, val, &mut body)?;
            }
            out.push_str(&format!("<{name}{ns}{attrs}>{body}</{name}>"));
        }
        ShapeType::List => {
            let (Value::Array(items), Some(lm)) = (v, &shape.member) else {
                return Ok(());
            };
            let ms = shape_of(model, lm)?;
            if flattened(member, shape) {
                let tag = lm.location_name.as_deref().unwrap_or(name);
                for i in items {
                    encode(model, ms, Some(lm), tag, i, out)?;
                }
            } else {
                let tag = lm.location_name.as_deref().unwrap_or("member");
                out.push_str(&format!("<{name}{ns}>"));
                for i in items {
                    encode(model, ms, Some(lm), tag, i, out)?;
                }
                out.push_str(&format!("</{name}>"));
            }
        }
        ShapeType::Map => {
            let (Value::Object(obj), Some(k), Some(vm)) = (v, &shape.key, &shape.value) else {
                return Ok(());
            };
            let ks = shape_of(model, k)?;
            let vs = shape_of(model, vm)?;
            let key_tag = k.location_name.as_deref().unwrap_or("key");
            let value_tag = vm.location_name.as_deref().unwrap_or("value");
            let flat = flattened(member, shape);
            if !flat {
                out.push_str(&format!("<{name}{ns}>"));
            }
            for (key, val) in obj {
                out.push_str(if flat { "" } else { "<entry>" });
                if flat {
                    out.push_str(&format!("<{name}>"));
                }
                encode(model, ks, Some(k), key_tag, &Value::from(key.as_str()), out)?;
                encode(model, vs, Some(vm), value_tag, val, out)?;
                if flat {
                    out.push_str(&format!("</{name}>"));
                } else {
                    out.push_str("</entry>");
                }
            }
            if !flat {
                out.push_str(&format!("</{name}>"));
            }
        }
        _ => {
            let format = member
                .and_then(|m| m.timestamp_format.as_deref())
                .or(shape.timestamp_format.as_deref())
                .unwrap_or("iso8601");
            let text = scalar_text(shape, v, format).unwrap_or_default();
            out.push_str(&format!("<{name}{ns}>{}</{name}>", escape(&text)));
        }
    }
    Ok(())
}

/// The error of an XML answer: `<ErrorResponse><Error>` (query), `<Response><Errors><Error>`
/// (EC2) or `<Error>` (S3); a bodiless answer (HEAD) is named after its status.
pub fn error(resp: &Response, header_request_id: Option<String>) -> ApiCallError {
    let text = String::from_utf8_lossy(&resp.body);
    let Ok(root) = crate::xml::parse(&text) else {
        let mut e = super::unreadable_error(resp.status, &resp.body);
        if let ApiCallError::Service { request_id, .. } = &mut e {
            *request_id = header_request_id;
        }
        return e;
    };
    let err = root.find("Error").unwrap_or(&root);
    let request_id = root
        .find("RequestId")
        .or_else(|| root.find("RequestID"))
        .map(|e| e.text.clone())
        .or(header_request_id);
    match err.child_text("Code") {
        Some(code) => ApiCallError::Service {
            status: resp.status,
            code: code.trim().to_string(),
            message: err.child_text("Message").unwrap_or_default().to_string(),
            request_id,
        },
        None => {
            let mut e = super::unreadable_error(resp.status, &resp.body);
            if let ApiCallError::Service { request_id: r, .. } = &mut e {
                *r = request_id;
            }
            e
        }
    }
}
