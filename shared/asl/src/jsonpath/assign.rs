//! Writing at a reference path (`ResultPath`).

use super::*;

/// Writes `value` at the reference path `path` inside `doc`, creating objects on the way
/// (`ResultPath` semantics). Fails with `States.ResultPathMatchFailure` when an existing node in
/// the way is not an object (or, for an index, not an array long enough).
pub fn set<P: AsPath + ?Sized>(doc: &mut Value, path: &P, value: Value) -> Result<(), EvalError> {
    let p = path.compiled().map_err(|e| EvalError::runtime(e.0))?;
    let path = path.text();
    let fail = |doc: &Value| EvalError {
        error: crate::errors::RESULT_PATH_MATCH_FAILURE.into(),
        cause: format!("Unable to apply ReferencePath {path} to input {doc}"),
    };
    if p.root != Root::Input || !p.is_reference() {
        return Err(EvalError::runtime(format!(
            "The ResultPath '{path}' is not a valid reference path"
        )));
    }
    // Check first so a failure leaves `doc` untouched and the cause shows the original input.
    if !settable(doc, &p.segs) {
        return Err(fail(doc));
    }
    let mut node = doc;
    for seg in &p.segs {
        node = match seg {
            // Members found by comparing keys (small objects) and the name copied only when
            // it is added: `entry` hashed and copied it every time.
            Seg::Prop(name) => match node {
                Value::Object(m) => {
                    if member(m, name).is_none() {
                        m.insert(name.clone(), Value::Object(Map::new()));
                    }
                    match member_mut(m, name) {
                        Some(v) => v,
                        None => return Err(fail(&Value::Null)),
                    }
                }
                _ => return Err(EvalError::runtime("ResultPath target is not an object")),
            },
            Seg::Index(i) => match node {
                Value::Array(a) => {
                    let len = a.len();
                    match resolve_index(*i, len) {
                        Some(k) => &mut a[k],
                        None => return Err(EvalError::runtime("ResultPath index out of bounds")),
                    }
                }
                _ => return Err(EvalError::runtime("ResultPath target is not an array")),
            },
            _ => return Err(EvalError::runtime("ResultPath is not a reference path")),
        };
    }
    *node = value;
    Ok(())
}

/// Whether `set` can write along `segs`: every existing node on the way must be an object (or
/// an array holding the index); missing members are created.
fn settable(doc: &Value, segs: &[Seg]) -> bool {
    let mut node = Some(doc);
    for seg in segs {
        node = match (node, seg) {
            (None, Seg::Prop(_)) => None,
            (Some(Value::Object(m)), Seg::Prop(n)) => member(m, n),
            (Some(Value::Array(a)), Seg::Index(i)) => match resolve_index(*i, a.len()) {
                Some(k) => a.get(k),
                None => return false,
            },
            _ => return false,
        };
    }
    true
}
