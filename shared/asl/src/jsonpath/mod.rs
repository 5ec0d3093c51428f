//! JSONPath as Step Functions reads it.
//!
//! A path starting with `$$` reads the Context object, `$name...` a variable, `$` the state input.
//! Reference paths (`$.a.b`, `$['a']`, `$.a[0]`) select one node; other paths (wildcards, slices,
//! filters such as `$.a[?(@.price > 10)]`, `..`) select a list.
//!
//! The semantics follow Jayway JsonPath, which Step Functions runs: a definite path either finds
//! its node or fails with Jayway's reason ("No results for path: $['a']"), an indefinite path
//! always yields a list (possibly empty), filters compare with Jayway's loose number/string rules
//! and regular expressions must match the whole string. `.[0]` and `.['a']` read as `[0]` and
//! `['a']`, as in Jayway.
//!
//! Two forms that AWS accepts in a definition (published samples use them) but Jayway cannot
//! compile, a script index (`$[(@.length-1)]`) and an unquoted word in a filter
//! (`[?(@.Name==Receipt)]`), pass validation and fail when evaluated, with Jayway's reason.

//!
//! * [`syntax`]: the tree a path compiles to.
//! * [`parser`]: text to [`Path`].
//! * [`eval`]: reading a [`Path`] from a scope or a document.
//! * [`assign`]: writing at a reference path (`ResultPath`).
//! * [`compiled`]: [`JsonPath`], a definition's path compiled once at load.

mod assign;
mod compiled;
mod eval;
mod parser;
mod syntax;

use crate::{EvalError, Scope};
use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

pub use assign::set;
pub use compiled::{AsPath, JsonPath};
use eval::*;
pub use eval::{NotFound, Path};
use parser::*;
use syntax::*;
pub use syntax::{PathSyntaxError, Root};

/// Evaluates `path` in `scope`.
///
/// A definite path gives `Some(node)` or `None` when nothing is there; an indefinite path gives
/// `Some(array of matches)`.
pub fn query<P: AsPath + ?Sized>(
    path: &P,
    scope: &Scope,
) -> Result<Option<Value>, PathSyntaxError> {
    if let Some(found) = fast_query(path.text(), scope) {
        return Ok(found.cloned());
    }
    let p = path.compiled()?;
    Ok(p.eval(scope).ok().map(Cow::into_owned))
}

/// Like [`query`] but borrows the node of a definite path and reports Jayway's reason when the
/// path finds nothing.
pub fn select<'a, P: AsPath + ?Sized>(
    path: &P,
    scope: &Scope<'a>,
) -> Result<Result<Cow<'a, Value>, NotFound>, PathSyntaxError> {
    // A definition's path was compiled with it: evaluating it is quicker than reading its text.
    if let Some(Ok(p)) = path.precompiled() {
        return Ok(p.eval(scope));
    }
    if let Some(Some(v)) = fast_query(path.text(), scope) {
        return Ok(Ok(Cow::Borrowed(v)));
    }
    Ok(path.compiled()?.eval(scope))
}

/// Objects up to this many members are searched by comparing keys, without hashing: serde_json's
/// maps hash with SipHash, which cost more than a dozen comparisons of short keys.
const SCANNED_MEMBERS: usize = 12;

/// `m.get(key)`, without hashing when `m` is small (most payloads' objects are).
pub fn member<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if m.len() <= SCANNED_MEMBERS {
        m.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        m.get(key)
    }
}

/// `m.get_mut(key)`, without hashing when `m` is small.
pub fn member_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    if m.len() <= SCANNED_MEMBERS {
        m.iter_mut()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    } else {
        m.get_mut(key)
    }
}

/// The common case without compiling: `$`, `$$` or `$var` followed by plain `.name` steps.
/// `None` means "not simple, compile it".
fn fast_query<'a>(path: &str, scope: &Scope<'a>) -> Option<Option<&'a Value>> {
    let (mut node, rest) = if let Some(r) = path.strip_prefix("$$") {
        (scope.context, r)
    } else {
        let r = path.strip_prefix('$')?;
        if r.as_bytes().first().is_some_and(|c| is_var_start(*c)) {
            let end = r.bytes().position(|c| !is_var_char(c)).unwrap_or(r.len());
            (scope.variables.get(&r[..end])?, &r[end..])
        } else {
            (scope.input, r)
        }
    };
    if rest.is_empty() {
        return Some(Some(node));
    }
    let rest = rest.strip_prefix('.')?;
    for key in rest.split('.') {
        if key.is_empty()
            || key.bytes().any(|c| {
                matches!(
                    c,
                    b'[' | b']' | b'*' | b'(' | b')' | b'?' | b'@' | b' ' | b'\'' | b'"' | b'\t'
                )
            })
        {
            return None;
        }
        match node.as_object().and_then(|m| member(m, key)) {
            Some(v) => node = v,
            None => return Some(None),
        }
    }
    Some(Some(node))
}

/// Evaluates `path` (which starts with `$`) against one document.
pub fn query_in(path: &str, doc: &Value) -> Result<Option<Value>, PathSyntaxError> {
    let p = Path::parse(path)?;
    if p.root != Root::Input {
        return Err(PathSyntaxError(format!(
            "The path '{path}' must start with '$' followed by '.' or '['"
        )));
    }
    Ok(p.eval_in(doc, doc).ok().map(Cow::into_owned))
}

/// Checks that `path` is a JSONPath Step Functions accepts.
pub fn validate(path: &str) -> Result<(), PathSyntaxError> {
    Path::parse(path).map(|_| ())
}

/// Checks that `path` is a reference path (selects at most one node), as `ResultPath` needs.
pub fn validate_reference_path(path: &str) -> Result<(), PathSyntaxError> {
    let p = Path::parse(path)?;
    if p.is_reference() {
        Ok(())
    } else {
        Err(PathSyntaxError(format!(
            "The value for the field '{path}' must be a valid ReferencePath"
        )))
    }
}

#[cfg(test)]
mod tests;
