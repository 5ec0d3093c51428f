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

use crate::{EvalError, Scope};
use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// What a path reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state input.
    Input,
    /// `$$`: the Context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone)]
enum Seg {
    /// `.name` or `['name']`.
    Prop(String),
    /// `['a','b']`.
    Props(Vec<String>),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// `[0,2]`.
    Indexes(Vec<i64>),
    /// `[from:to]`.
    Slice(Option<i64>, Option<i64>),
    /// `.*` or `[*]`.
    Wildcard,
    /// `..` followed by a step.
    Scan(Box<Seg>),
    /// `[?(...)]`.
    Filter(Box<Expr>),
    /// `.length()` and the other Jayway functions; always last.
    Func(Func),
    /// `[(@.length-1)]`: a script index, which AWS accepts in a definition but Jayway cannot
    /// compile, so evaluating the path fails.
    Script(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Length,
    Min,
    Max,
    Avg,
    Sum,
    Stddev,
    Keys,
    First,
    Last,
}

impl Seg {
    fn is_definite(&self) -> bool {
        matches!(self, Seg::Prop(_) | Seg::Index(_) | Seg::Func(_))
    }

    /// Jayway's canonical rendering, used in "No results for path" messages.
    fn render(&self, out: &mut String) {
        match self {
            Seg::Prop(p) => {
                let _ = write!(out, "['{p}']");
            }
            Seg::Props(ps) => {
                out.push('[');
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "'{p}'");
                }
                out.push(']');
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Indexes(is) => {
                out.push('[');
                for (n, i) in is.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{i}");
                }
                out.push(']');
            }
            Seg::Slice(a, b) => {
                out.push('[');
                if let Some(a) = a {
                    let _ = write!(out, "{a}");
                }
                out.push(':');
                if let Some(b) = b {
                    let _ = write!(out, "{b}");
                }
                out.push(']');
            }
            Seg::Wildcard => out.push_str("[*]"),
            Seg::Scan(s) => {
                out.push_str("..");
                s.render(out);
            }
            Seg::Filter(_) => out.push_str("[?]"),
            Seg::Func(f) => {
                let _ = write!(out, ".{}()", f.name());
            }
            Seg::Script(s) => {
                let _ = write!(out, "[{s}]");
            }
        }
    }
}

impl Func {
    fn from_name(n: &str) -> Option<Func> {
        Some(match n {
            "length" | "size" => Func::Length,
            "min" => Func::Min,
            "max" => Func::Max,
            "avg" => Func::Avg,
            "sum" => Func::Sum,
            "stddev" => Func::Stddev,
            "keys" => Func::Keys,
            "first" => Func::First,
            "last" => Func::Last,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Func::Length => "length",
            Func::Min => "min",
            Func::Max => "max",
            Func::Avg => "avg",
            Func::Sum => "sum",
            Func::Stddev => "stddev",
            Func::Keys => "keys",
            Func::First => "first",
            Func::Last => "last",
        }
    }

    fn apply(self, v: &Value) -> Option<Value> {
        let nums = || -> Vec<f64> {
            match v {
                Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                _ => Vec::new(),
            }
        };
        match self {
            Func::Length => match v {
                Value::Array(a) => Some(Value::from(a.len())),
                Value::Object(m) => Some(Value::from(m.len())),
                Value::String(s) => Some(Value::from(s.chars().count())),
                _ => None,
            },
            Func::Keys => v
                .as_object()
                .map(|m| Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())),
            Func::First => v.as_array().and_then(|a| a.first().cloned()),
            Func::Last => v.as_array().and_then(|a| a.last().cloned()),
            Func::Min => {
                let n = nums();
                n.iter().copied().reduce(f64::min).map(Value::from)
            }
            Func::Max => {
                let n = nums();
                n.iter().copied().reduce(f64::max).map(Value::from)
            }
            Func::Sum => {
                let n = nums();
                (!n.is_empty()).then(|| Value::from(n.iter().sum::<f64>()))
            }
            Func::Avg => {
                let n = nums();
                (!n.is_empty()).then(|| Value::from(n.iter().sum::<f64>() / n.len() as f64))
            }
            Func::Stddev => {
                let n = nums();
                if n.is_empty() {
                    return None;
                }
                let mean = n.iter().sum::<f64>() / n.len() as f64;
                let var = n.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n.len() as f64;
                Some(Value::from(var.sqrt()))
            }
        }
    }
}

/// A filter expression inside `[?( )]`.
#[derive(Debug, Clone)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Cmp(Operand, Op, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    In,
    Nin,
    SubsetOf,
    AnyOf,
    NoneOf,
    Size,
    Empty,
    Contains,
}

#[derive(Debug, Clone)]
enum Operand {
    /// `@...`: relative to the element under test.
    Current(Vec<Seg>),
    /// `$...`: from the document root.
    Root(Vec<Seg>),
    Lit(Value),
    Regex(Regex),
}

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    root: Root,
    segs: Vec<Seg>,
    /// Set when the path holds something AWS accepts in a definition but Jayway cannot compile
    /// (a script index, an unquoted word in a filter): Jayway's reason, reported when the path
    /// is evaluated.
    unsupported: Option<String>,
}

/// Why a definite path found nothing, in Jayway's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound(pub String);

impl Path {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let b = text.as_bytes();
        if b.first() != Some(&b'$') {
            return Err(PathSyntaxError(format!(
                "The path '{text}' must start with '$'"
            )));
        }
        let (root, start) = if b.get(1) == Some(&b'$') {
            (Root::Context, 2)
        } else if b.get(1).is_some_and(|c| is_var_start(*c)) {
            let end = b[1..]
                .iter()
                .position(|c| !is_var_char(*c))
                .map_or(b.len(), |p| p + 1);
            (Root::Variable(text[1..end].to_string()), end)
        } else {
            (Root::Input, 1)
        };
        let mut p = Parser {
            s: text,
            pos: start,
            in_filter: false,
            unsupported: None,
            bare_word: None,
        };
        let segs = p.segments()?;
        if p.pos != b.len() {
            return Err(p.err("unexpected character"));
        }
        // A function may only close a path.
        if let Some(i) = segs.iter().position(|s| matches!(s, Seg::Func(_))) {
            if i + 1 != segs.len() {
                return Err(p.err("a function must be the last step of a path"));
            }
        }
        Ok(Path {
            text: text.to_string(),
            root,
            segs,
            unsupported: p.unsupported,
        })
    }

    /// The text the path was compiled from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the path reads from.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// True when the path selects at most one node (no wildcard, slice, filter, union or `..`).
    pub fn is_definite(&self) -> bool {
        self.segs.iter().all(Seg::is_definite)
    }

    /// True for a reference path: only names and single indexes, as `ResultPath` needs.
    pub fn is_reference(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Prop(_) | Seg::Index(_)))
    }

    /// Jayway's canonical form (`$['a'][0]`), as AWS prints it in error messages.
    pub fn canonical(&self) -> String {
        let mut out = String::from("$");
        for s in &self.segs {
            s.render(&mut out);
        }
        out
    }

    /// The document the path starts from, or `None` for an unknown variable.
    fn start<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        match &self.root {
            Root::Input => Some(scope.input),
            Root::Context => Some(scope.context),
            Root::Variable(v) => scope.variables.get(v),
        }
    }

    /// Evaluates the path: the node of a definite path (borrowed when possible) or the list of
    /// an indefinite one.
    pub fn eval<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, NotFound> {
        let Some(doc) = self.start(scope) else {
            return Err(NotFound(format!(
                "The variable '{}' is not defined",
                self.text
            )));
        };
        self.eval_in(doc, scope.input)
    }

    /// Evaluates the path against `doc` (the `$` of filters is `root`).
    fn eval_in<'a>(&self, doc: &'a Value, root: &'a Value) -> Result<Cow<'a, Value>, NotFound> {
        if let Some(reason) = &self.unsupported {
            return Err(NotFound(reason.clone()));
        }
        if self.is_definite() {
            return eval_definite(&self.segs, doc, || self.canonical());
        }
        let mut out = Vec::new();
        let (segs, func) = match self.segs.split_last() {
            Some((Seg::Func(f), rest)) => (rest, Some(*f)),
            _ => (&self.segs[..], None),
        };
        walk(segs, Cow::Borrowed(doc), root, &mut out);
        let list = Value::Array(out.into_iter().map(Cow::into_owned).collect());
        match func {
            None => Ok(Cow::Owned(list)),
            Some(f) => f
                .apply(&list)
                .map(Cow::Owned)
                .ok_or_else(|| NotFound(format!("No results for path: {}", self.canonical()))),
        }
    }
}

/// Walks a definite path by reference; the error says where it stopped, as Jayway does.
fn eval_definite<'a>(
    segs: &[Seg],
    doc: &'a Value,
    canonical: impl Fn() -> String,
) -> Result<Cow<'a, Value>, NotFound> {
    let mut node = doc;
    let mut so_far = String::from("$");
    let last = segs.len().saturating_sub(1);
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Prop(p) => match node {
                Value::Object(m) => match m.get(p) {
                    Some(v) => node = v,
                    None if i == last => {
                        return Err(NotFound(format!("No results for path: {}", canonical())))
                    }
                    None => {
                        seg.render(&mut so_far);
                        return Err(NotFound(format!("Missing property in path {so_far}")));
                    }
                },
                other => {
                    let mut frag = String::new();
                    seg.render(&mut frag);
                    return Err(NotFound(format!(
                        "Expected to find an object with property {frag} in path {so_far} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
                        java_class(other)
                    )));
                }
            },
            Seg::Index(idx) => match node {
                Value::Array(a) => match resolve_index(*idx, a.len()) {
                    Some(k) => node = &a[k],
                    None if i == last => {
                        return Err(NotFound(format!("No results for path: {}", canonical())))
                    }
                    None => {
                        seg.render(&mut so_far);
                        return Err(NotFound(format!(
                            "Index out of bounds when evaluating path {so_far}"
                        )));
                    }
                },
                other => {
                    let mut frag = String::new();
                    seg.render(&mut frag);
                    return Err(NotFound(format!(
                        "Filter: {frag} can only be applied to arrays. Current context is: {}",
                        other
                    )));
                }
            },
            Seg::Func(f) => {
                return f.apply(node).map(Cow::Owned).ok_or_else(|| {
                    NotFound(
                        "Aggregation function attempted to calculate value using empty array"
                            .to_string(),
                    )
                })
            }
            _ => return Err(NotFound(format!("No results for path: {}", canonical()))),
        }
        seg.render(&mut so_far);
    }
    Ok(Cow::Borrowed(node))
}

/// The Java class Jackson maps a JSON value to, for Jayway's messages.
fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

fn resolve_index(idx: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let k = if idx < 0 { len + idx } else { idx };
    (0..len).contains(&k).then_some(k as usize)
}

/// Borrows a child of `v`, cloning only when `v` itself is owned.
fn child<'a>(v: &Cow<'a, Value>, f: impl Fn(&Value) -> Option<&Value>) -> Option<Cow<'a, Value>> {
    match v {
        Cow::Borrowed(b) => f(b).map(Cow::Borrowed),
        Cow::Owned(o) => f(o).cloned().map(Cow::Owned),
    }
}

/// All children of `v` (object values or array elements), in order.
fn children<'a>(v: &Cow<'a, Value>) -> Vec<Cow<'a, Value>> {
    match v {
        Cow::Borrowed(Value::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Array(a)) => a.iter().cloned().map(Cow::Owned).collect(),
        Cow::Owned(Value::Object(m)) => m.values().cloned().map(Cow::Owned).collect(),
        _ => Vec::new(),
    }
}

/// Evaluates an indefinite path, appending every match to `out` (missing branches are skipped,
/// as Jayway does for indefinite paths).
fn walk<'a>(segs: &[Seg], node: Cow<'a, Value>, root: &'a Value, out: &mut Vec<Cow<'a, Value>>) {
    let Some((seg, rest)) = segs.split_first() else {
        out.push(node);
        return;
    };
    match seg {
        Seg::Prop(p) => {
            if let Some(c) = child(&node, |v| v.get(p.as_str()).filter(|_| v.is_object())) {
                walk(rest, c, root, out);
            }
        }
        Seg::Props(ps) => {
            let Some(m) = node.as_object() else { return };
            if rest.is_empty() {
                // Jayway merges a leaf union of names into one object.
                let mut merged = Map::new();
                for p in ps {
                    if let Some(v) = m.get(p) {
                        merged.insert(p.clone(), v.clone());
                    }
                }
                out.push(Cow::Owned(Value::Object(merged)));
            } else {
                for p in ps {
                    if let Some(c) = child(&node, |v| v.get(p.as_str())) {
                        walk(rest, c, root, out);
                    }
                }
            }
        }
        Seg::Index(i) => walk_indexes(std::slice::from_ref(i), rest, node, root, out),
        Seg::Indexes(is) => walk_indexes(is, rest, node, root, out),
        Seg::Slice(from, to) => {
            let Some(len) = node.as_array().map(Vec::len) else {
                return;
            };
            let len = len as i64;
            let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
            let a = from.map_or(0, norm);
            let b = to.map_or(len, norm);
            for k in a..b {
                if let Some(c) = child(&node, |v| v.get(k as usize)) {
                    walk(rest, c, root, out);
                }
            }
        }
        Seg::Wildcard => {
            for c in children(&node) {
                walk(rest, c, root, out);
            }
        }
        Seg::Filter(e) => match &*node {
            Value::Array(_) => {
                for c in children(&node) {
                    if e.test(&c, root) {
                        walk(rest, c, root, out);
                    }
                }
            }
            Value::Object(_) if e.test(&node, root) => walk(rest, node, root, out),
            _ => {}
        },
        Seg::Scan(inner) => {
            let mut nodes = Vec::new();
            collect_preorder(node, &mut nodes);
            let step = std::slice::from_ref(&**inner);
            for n in nodes {
                let mut found = Vec::new();
                match &**inner {
                    // A scanning filter tests each object itself, once.
                    Seg::Filter(e) => {
                        if n.is_object() && e.test(&n, root) {
                            found.push(n);
                        }
                    }
                    _ => walk(step, n, root, &mut found),
                }
                for f in found {
                    walk(rest, f, root, out);
                }
            }
        }
        Seg::Func(f) => {
            if let Some(v) = f.apply(&node) {
                walk(rest, Cow::Owned(v), root, out);
            }
        }
        // Never reached: a path holding a script index fails before it is walked.
        Seg::Script(_) => {}
    }
}

fn walk_indexes<'a>(
    is: &[i64],
    rest: &[Seg],
    node: Cow<'a, Value>,
    root: &'a Value,
    out: &mut Vec<Cow<'a, Value>>,
) {
    let Some(len) = node.as_array().map(Vec::len) else {
        return;
    };
    for i in is {
        if let Some(k) = resolve_index(*i, len) {
            if let Some(c) = child(&node, |v| v.get(k)) {
                walk(rest, c, root, out);
            }
        }
    }
}

fn collect_preorder<'a>(node: Cow<'a, Value>, out: &mut Vec<Cow<'a, Value>>) {
    let kids = children(&node);
    out.push(node);
    for k in kids {
        collect_preorder(k, out);
    }
}

impl Expr {
    fn test(&self, current: &Value, root: &Value) -> bool {
        match self {
            Expr::Or(a, b) => a.test(current, root) || b.test(current, root),
            Expr::And(a, b) => a.test(current, root) && b.test(current, root),
            Expr::Not(e) => !e.test(current, root),
            Expr::Exists(o) => o.value(current, root).is_some(),
            Expr::Cmp(l, op, r) => {
                if let (Op::Match, Operand::Regex(re)) = (op, r) {
                    return matches!(l.value(current, root).as_deref(), Some(Value::String(s)) if re.is_match(s));
                }
                let lv = l.value(current, root);
                let rv = r.value(current, root);
                compare(lv.as_deref(), *op, rv.as_deref())
            }
        }
    }
}

impl Operand {
    fn value<'a>(&'a self, current: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
        let (segs, doc) = match self {
            Operand::Lit(v) => return Some(Cow::Borrowed(v)),
            Operand::Regex(_) => return None,
            Operand::Current(s) => (s, current),
            Operand::Root(s) => (s, root),
        };
        if segs.iter().all(Seg::is_definite) {
            eval_definite(segs, doc, String::new).ok()
        } else {
            let mut out = Vec::new();
            walk(segs, Cow::Borrowed(doc), root, &mut out);
            Some(Cow::Owned(Value::Array(
                out.into_iter().map(Cow::into_owned).collect(),
            )))
        }
    }
}

/// Jayway's loose equality: a number equals a string holding that number, and vice versa.
fn loose_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => num_eq(a, b),
        (Value::Number(a), Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .zip(a.as_f64())
            .is_some_and(|(x, y)| x == y),
        (Value::String(s), Value::Number(n)) => *s == n.to_string(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        _ => json_eq(l, r),
    }
}

fn num_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Structural JSON equality where `1` and `1.0` are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn compare(l: Option<&Value>, op: Op, r: Option<&Value>) -> bool {
    use std::cmp::Ordering;
    let ord = |l: Option<&Value>, r: Option<&Value>| -> Option<Ordering> {
        match (l?, r?) {
            (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        }
    };
    let list = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        }
    };
    match op {
        Op::Eq => match (l, r) {
            (Some(a), Some(b)) => loose_eq(a, b),
            _ => false,
        },
        Op::Ne => !compare(l, Op::Eq, r),
        Op::Lt => ord(l, r) == Some(Ordering::Less),
        Op::Le => matches!(ord(l, r), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ord(l, r) == Some(Ordering::Greater),
        Op::Ge => matches!(ord(l, r), Some(Ordering::Greater | Ordering::Equal)),
        Op::Match => false,
        Op::In => l.is_some_and(|a| list(r).iter().any(|x| loose_eq(a, x))),
        Op::Nin => !compare(l, Op::In, r),
        Op::SubsetOf => match l {
            Some(Value::Array(a)) => {
                let rs = list(r);
                a.iter().all(|x| rs.iter().any(|y| loose_eq(x, y)))
            }
            _ => false,
        },
        Op::AnyOf => match l {
            Some(Value::Array(a)) => {
                let rs = list(r);
                a.iter().any(|x| rs.iter().any(|y| loose_eq(x, y)))
            }
            _ => false,
        },
        Op::NoneOf => match l {
            Some(Value::Array(a)) => {
                let rs = list(r);
                !a.iter().any(|x| rs.iter().any(|y| loose_eq(x, y)))
            }
            _ => false,
        },
        Op::Size => {
            let Some(n) = r.and_then(Value::as_f64) else {
                return false;
            };
            match l {
                Some(Value::String(s)) => s.chars().count() as f64 == n,
                Some(Value::Array(a)) => a.len() as f64 == n,
                Some(Value::Object(m)) => m.len() as f64 == n,
                _ => false,
            }
        }
        Op::Empty => {
            let Some(want) = r.and_then(Value::as_bool) else {
                return false;
            };
            match l {
                Some(Value::String(s)) => s.is_empty() == want,
                Some(Value::Array(a)) => a.is_empty() == want,
                Some(Value::Object(m)) => m.is_empty() == want,
                _ => false,
            }
        }
        Op::Contains => match (l, r) {
            (Some(Value::String(a)), Some(Value::String(b))) => a.contains(b.as_str()),
            (Some(Value::Array(a)), Some(b)) => a.iter().any(|x| loose_eq(x, b)),
            _ => false,
        },
    }
}

fn is_var_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_var_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// A character of an unquoted word in a filter (`true`, `null`, `Receipt`, `AMOUNT_PAID`).
fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') || c >= 0x80
}

struct Parser<'s> {
    s: &'s str,
    pos: usize,
    in_filter: bool,
    /// Jayway's compile error for the first construct it cannot compile (see [`Path`]).
    unsupported: Option<String>,
    /// Where the first unquoted word of the filter being read starts.
    bare_word: Option<usize>,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> PathSyntaxError {
        PathSyntaxError(format!(
            "Invalid JSONPath '{}': {what} at position {}",
            self.s, self.pos
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.as_bytes().get(self.pos + k).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), PathSyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn segments(&mut self) -> Result<Vec<Seg>, PathSyntaxError> {
        let mut segs = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'.' if self.peek_at(1) == Some(b'.') => {
                    self.pos += 2;
                    let inner = match self.peek() {
                        Some(b'[') => self.bracket()?,
                        Some(b'*') => {
                            self.pos += 1;
                            Seg::Wildcard
                        }
                        _ => self.dot_name()?,
                    };
                    if matches!(inner, Seg::Func(_)) {
                        return Err(self.err("a function cannot follow '..'"));
                    }
                    segs.push(Seg::Scan(Box::new(inner)));
                }
                b'.' => {
                    self.pos += 1;
                    if self.eat(b'*') {
                        segs.push(Seg::Wildcard);
                    } else if self.peek() == Some(b'[') {
                        // Jayway reads `.[0]` and `.['a']` as `[0]` and `['a']`.
                        segs.push(self.bracket()?);
                    } else {
                        segs.push(self.dot_name()?);
                    }
                }
                b'[' => segs.push(self.bracket()?),
                _ if self.in_filter => break,
                _ => return Err(self.err("unexpected character")),
            }
        }
        Ok(segs)
    }

    /// A name after `.`, or a function call `name()`.
    fn dot_name(&mut self) -> Result<Seg, PathSyntaxError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let stop = match c {
                b'.' | b'[' | b'(' => true,
                b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b',' | b'\t' => {
                    if self.in_filter {
                        true
                    } else if c == b' ' || c == b'\t' {
                        return Err(self.err(
                            "use bracket notation ['my prop'] if your property contains blank characters",
                        ));
                    } else {
                        false
                    }
                }
                _ => false,
            };
            if stop {
                break;
            }
            self.pos += 1;
        }
        let name = &self.s[start..self.pos];
        if name.is_empty() {
            return Err(self.err("empty property name"));
        }
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.skip_ws();
            self.expect(b')')?;
            return Func::from_name(name)
                .map(Seg::Func)
                .ok_or_else(|| self.err(&format!("function {name}() is not supported")));
        }
        Ok(Seg::Prop(name.to_string()))
    }

    fn bracket(&mut self) -> Result<Seg, PathSyntaxError> {
        let open = self.pos;
        self.expect(b'[')?;
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'?') => {
                self.pos += 1;
                self.skip_ws();
                self.expect(b'(')?;
                let outer = self.bare_word.take();
                let e = self.expr();
                let bare = std::mem::replace(&mut self.bare_word, outer);
                let e = e?;
                self.skip_ws();
                self.expect(b')')?;
                self.skip_ws();
                self.expect(b']')?;
                if let Some(at) = bare {
                    // Jayway reads an unquoted word as a number literal and fails to compile
                    // the filter.
                    let filter = &self.s[open..self.pos];
                    let c = self.s[at..].chars().next().unwrap_or(' ');
                    self.unsupported.get_or_insert_with(|| {
                        format!(
                            "Failed to parse filter: {filter}, error on position: {}, char: {c}",
                            at - open
                        )
                    });
                }
                return Ok(Seg::Filter(Box::new(e)));
            }
            Some(b'(') => {
                let start = self.pos;
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    match c {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if depth != 0 {
                    return Err(self.err("unbalanced parentheses in a script expression"));
                }
                self.unsupported.get_or_insert_with(|| {
                    format!(
                        "Could not parse token starting at position {open}. Expected ?, ', 0-9, * "
                    )
                });
                Seg::Script(self.s[start..self.pos].to_string())
            }
            Some(b'*') => {
                self.pos += 1;
                Seg::Wildcard
            }
            Some(q @ (b'\'' | b'"')) => {
                let mut names = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() != Some(q) {
                        return Err(self.err("expected a quoted property name"));
                    }
                    names.push(self.quoted(q)?);
                    self.skip_ws();
                    if !self.eat(b',') {
                        break;
                    }
                }
                if names.len() == 1 {
                    Seg::Prop(names.remove(0))
                } else {
                    Seg::Props(names)
                }
            }
            Some(c) if c == b'-' || c == b':' || c.is_ascii_digit() => self.index_or_slice()?,
            _ => return Err(self.err("unsupported bracket expression")),
        };
        self.skip_ws();
        self.expect(b']')?;
        Ok(seg)
    }

    /// A quoted name; only the escaped delimiter is unescaped (AWS keeps other backslashes).
    fn quoted(&mut self, q: u8) -> Result<String, PathSyntaxError> {
        self.pos += 1;
        let mut out = String::new();
        let start = self.pos;
        let b = self.s.as_bytes();
        let mut seg_start = start;
        while let Some(c) = self.peek() {
            if c == b'\\' && self.peek_at(1) == Some(q) {
                out.push_str(&self.s[seg_start..self.pos]);
                out.push(q as char);
                self.pos += 2;
                seg_start = self.pos;
            } else if c == b'\\' && self.peek_at(1).is_some() {
                self.pos += 2;
            } else if c == q {
                out.push_str(&self.s[seg_start..self.pos]);
                self.pos += 1;
                return Ok(out);
            } else {
                self.pos += 1;
            }
        }
        let _ = b;
        Err(self.err("unterminated quoted name"))
    }

    fn int(&mut self) -> Result<Option<i64>, PathSyntaxError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let t = &self.s[start..self.pos];
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>()
            .map(Some)
            .map_err(|_| self.err("invalid array index"))
    }

    fn index_or_slice(&mut self) -> Result<Seg, PathSyntaxError> {
        let first = self.int()?;
        self.skip_ws();
        if self.eat(b':') {
            let second = self.int()?;
            return Ok(Seg::Slice(first, second));
        }
        let first = first.ok_or_else(|| self.err("expected an array index"))?;
        let mut all = vec![first];
        while self.eat(b',') {
            all.push(
                self.int()?
                    .ok_or_else(|| self.err("expected an array index"))?,
            );
            self.skip_ws();
        }
        Ok(if all.len() == 1 {
            Seg::Index(first)
        } else {
            Seg::Indexes(all)
        })
    }

    fn starts_with(&self, t: &str) -> bool {
        self.s[self.pos..].starts_with(t)
    }

    fn expr(&mut self) -> Result<Expr, PathSyntaxError> {
        let mut left = self.and_expr()?;
        loop {
            self.skip_ws();
            if self.starts_with("||") {
                self.pos += 2;
                let right = self.and_expr()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and_expr(&mut self) -> Result<Expr, PathSyntaxError> {
        let mut left = self.unary()?;
        loop {
            self.skip_ws();
            if self.starts_with("&&") {
                self.pos += 2;
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, PathSyntaxError> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.peek_at(1) != Some(b'=') {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(b'(') {
            let e = self.expr()?;
            self.skip_ws();
            self.expect(b')')?;
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let Some(op) = self.op() else {
            return match left {
                Operand::Current(_) | Operand::Root(_) => Ok(Expr::Exists(left)),
                _ => Err(self.err("expected a comparison operator")),
            };
        };
        self.skip_ws();
        let right = self.operand()?;
        if op == Op::Match && !matches!(right, Operand::Regex(_)) {
            return Err(self.err("=~ needs a /regular expression/"));
        }
        Ok(Expr::Cmp(left, op, right))
    }

    fn op(&mut self) -> Option<Op> {
        const SYMBOLS: [(&str, Op); 8] = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=~", Op::Match),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("=", Op::Eq),
        ];
        for (t, op) in SYMBOLS {
            if self.starts_with(t) {
                self.pos += t.len();
                return Some(op);
            }
        }
        const WORDS: [(&str, Op); 9] = [
            ("subsetof", Op::SubsetOf),
            ("anyof", Op::AnyOf),
            ("noneof", Op::NoneOf),
            ("contains", Op::Contains),
            ("empty", Op::Empty),
            ("size", Op::Size),
            ("nin", Op::Nin),
            ("in", Op::In),
            ("IN", Op::In),
        ];
        for (t, op) in WORDS {
            if self.starts_with(t)
                && !self
                    .s
                    .as_bytes()
                    .get(self.pos + t.len())
                    .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                self.pos += t.len();
                return Some(op);
            }
        }
        None
    }

    fn operand(&mut self) -> Result<Operand, PathSyntaxError> {
        self.skip_ws();
        let was = self.in_filter;
        match self.peek() {
            Some(b'@') => {
                self.pos += 1;
                self.in_filter = true;
                let segs = self.segments();
                self.in_filter = was;
                Ok(Operand::Current(segs?))
            }
            Some(b'$') => {
                self.pos += 1;
                self.in_filter = true;
                let segs = self.segments();
                self.in_filter = was;
                Ok(Operand::Root(segs?))
            }
            Some(q @ (b'\'' | b'"')) => Ok(Operand::Lit(Value::String(self.quoted_literal(q)?))),
            Some(b'/') => self.regex(),
            Some(b'[' | b'{') => self.json_literal(),
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| {
                    c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')
                }) {
                    self.pos += 1;
                }
                serde_json::from_str::<Value>(&self.s[start..self.pos])
                    .ok()
                    .filter(Value::is_number)
                    .map(Operand::Lit)
                    .ok_or_else(|| self.err("invalid number"))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = self.pos;
                while self.peek().is_some_and(is_word_char) {
                    self.pos += 1;
                }
                let word = &self.s[start..self.pos];
                Ok(Operand::Lit(match word {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => {
                        // An unquoted word (`@.Name == Receipt`): AWS accepts it in a
                        // definition; Jayway cannot compile it (see `bracket`).
                        self.bare_word.get_or_insert(start);
                        Value::String(word.to_string())
                    }
                }))
            }
            _ => Err(self.err("expected a value")),
        }
    }

    /// A string literal in a filter: `\x` stands for `x`.
    fn quoted_literal(&mut self, q: u8) -> Result<String, PathSyntaxError> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else if c as u32 == q as u32 {
                self.pos += i + 1;
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        Err(self.err("unterminated string"))
    }

    fn regex(&mut self) -> Result<Operand, PathSyntaxError> {
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b'\\' {
                self.pos += 2;
                continue;
            }
            if c == b'/' {
                break;
            }
            self.pos += 1;
        }
        if self.peek() != Some(b'/') {
            return Err(self.err("unterminated regular expression"));
        }
        let pat = &self.s[start..self.pos];
        self.pos += 1;
        let mut flags = String::new();
        while let Some(c) = self.peek().filter(u8::is_ascii_alphabetic) {
            match c {
                b'i' => flags.push('i'),
                b'm' => flags.push('m'),
                b's' => flags.push('s'),
                b'x' => flags.push('x'),
                _ => {}
            }
            self.pos += 1;
        }
        let prefix = if flags.is_empty() {
            String::new()
        } else {
            format!("(?{flags})")
        };
        // Java's Matcher.matches(): the whole string must match.
        Regex::new(&format!("{prefix}^(?:{pat})$"))
            .map(Operand::Regex)
            .map_err(|e| self.err(&format!("invalid regular expression: {e}")))
    }

    fn json_literal(&mut self) -> Result<Operand, PathSyntaxError> {
        let start = self.pos;
        let mut depth = 0i32;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match quote {
                Some(q) => {
                    if c == b'\\' {
                        self.pos += 1;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    b'\'' | b'"' => quote = Some(c),
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                },
            }
        }
        let text = self.s.get(start..self.pos).unwrap_or("");
        serde_json::from_str::<Value>(text)
            .or_else(|_| serde_json::from_str::<Value>(&text.replace('\'', "\"")))
            .map(Operand::Lit)
            .map_err(|_| self.err("invalid JSON literal"))
    }
}

/// Evaluates `path` in `scope`.
///
/// A definite path gives `Some(node)` or `None` when nothing is there; an indefinite path gives
/// `Some(array of matches)`.
pub fn query(path: &str, scope: &Scope) -> Result<Option<Value>, PathSyntaxError> {
    if let Some(found) = fast_query(path, scope) {
        return Ok(found.cloned());
    }
    let p = Path::parse(path)?;
    Ok(p.eval(scope).ok().map(Cow::into_owned))
}

/// Like [`query`] but borrows the node of a definite path and reports Jayway's reason when the
/// path finds nothing.
pub fn select<'a>(
    path: &str,
    scope: &Scope<'a>,
) -> Result<Result<Cow<'a, Value>, NotFound>, PathSyntaxError> {
    if let Some(Some(v)) = fast_query(path, scope) {
        return Ok(Ok(Cow::Borrowed(v)));
    }
    Ok(Path::parse(path)?.eval(scope))
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
        match node.as_object().and_then(|m| m.get(key)) {
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

/// Writes `value` at the reference path `path` inside `doc`, creating objects on the way
/// (`ResultPath` semantics). Fails with `States.ResultPathMatchFailure` when an existing node in
/// the way is not an object (or, for an index, not an array long enough).
pub fn set(doc: &mut Value, path: &str, value: Value) -> Result<(), EvalError> {
    let fail = |doc: &Value| EvalError {
        error: crate::errors::RESULT_PATH_MATCH_FAILURE.into(),
        cause: format!("Unable to apply ReferencePath {path} to input {doc}"),
    };
    let p = Path::parse(path).map_err(|e| EvalError::runtime(e.0))?;
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
            Seg::Prop(name) => match node {
                Value::Object(m) => m
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new())),
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
            (Some(Value::Object(m)), Seg::Prop(n)) => m.get(n),
            (Some(Value::Array(a)), Seg::Index(i)) => match resolve_index(*i, a.len()) {
                Some(k) => a.get(k),
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope_query(path: &str, input: &Value) -> Option<Value> {
        let ctx = json!({"Execution": {"Id": "arn:x", "Input": {"a": 1}}, "State": {"Name": "S"}});
        let vars: Map<String, Value> = json!({"x": {"a": [1, 2]}, "n": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let scope = Scope {
            input,
            context: &ctx,
            variables: &vars,
        };
        query(path, &scope).expect("path parses")
    }

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "LOTR", "isbn": "0-395", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "expensive": 10,
            "a b": "space",
            "it's": 1,
            "Test\\\"\"Name\"": "Value\"\\",
            "nums": [1, 2, 3, 4, 5],
            "users": [{"status": 0, "year": 1997}, {"status": 1, "year": 1998}],
            "nested": {"x": null, "s": "str"}
        })
    }

    #[test]
    fn queries() {
        let doc = store();
        let cases: Vec<(&str, Option<Value>)> = vec![
            ("$", Some(doc.clone())),
            ("$.expensive", Some(json!(10))),
            ("$.store.bicycle.color", Some(json!("red"))),
            ("$['store']['bicycle']['color']", Some(json!("red"))),
            (
                "$[\"store\"].bicycle",
                Some(json!({"color": "red", "price": 19.95})),
            ),
            ("$['a b']", Some(json!("space"))),
            ("$['it\\'s']", Some(json!(1))),
            ("$['Test\\\"\"Name\"']", Some(json!("Value\"\\"))),
            ("$.nums[0]", Some(json!(1))),
            ("$.nums[-1]", Some(json!(5))),
            ("$.nums[9]", None),
            ("$.nums[0:2]", Some(json!([1, 2]))),
            ("$.nums[-2:]", Some(json!([4, 5]))),
            ("$.nums[:2]", Some(json!([1, 2]))),
            ("$.nums[3:]", Some(json!([4, 5]))),
            ("$.nums[0,2]", Some(json!([1, 3]))),
            ("$.nums[*]", Some(json!([1, 2, 3, 4, 5]))),
            ("$.nums.length()", Some(json!(5))),
            ("$.nums.sum()", Some(json!(15.0))),
            (
                "$.store.book[*].author",
                Some(json!([
                    "Nigel Rees",
                    "Evelyn Waugh",
                    "Herman Melville",
                    "J. R. R. Tolkien"
                ])),
            ),
            ("$..isbn", Some(json!(["0-553", "0-395"]))),
            (
                "$.store..price",
                Some(json!([8.95, 12.99, 8.99, 22.99, 19.95])),
            ),
            (
                "$.store.book[?(@.price > 10)].title",
                Some(json!(["Sword", "LOTR"])),
            ),
            (
                "$.store.book[?(@.price < $.expensive)].title",
                Some(json!(["Sayings", "Moby Dick"])),
            ),
            (
                "$.store.book[?(@.isbn)].title",
                Some(json!(["Moby Dick", "LOTR"])),
            ),
            (
                "$.store.book[?(!@.isbn)].title",
                Some(json!(["Sayings", "Sword"])),
            ),
            (
                "$.store.book[?(@.category == 'fiction' && @.price < 10)].title",
                Some(json!(["Moby Dick"])),
            ),
            (
                "$.store.book[?(@.category == 'reference' || @.price > 20)].title",
                Some(json!(["Sayings", "LOTR"])),
            ),
            (
                "$.store.book[?(@.author =~ /.*REES/i)].title",
                Some(json!(["Sayings"])),
            ),
            ("$.store.book[?(@.author =~ /Rees/)].title", Some(json!([]))),
            (
                "$.store.book[?(@.category in ['reference'])].title",
                Some(json!(["Sayings"])),
            ),
            (
                "$.store.book[?(@.category nin ['fiction'])].title",
                Some(json!(["Sayings"])),
            ),
            (
                "$.store.book[?(@.title size 4)].title",
                Some(json!(["LOTR"])),
            ),
            (
                "$.users[?(@.status == 0)]",
                Some(json!([{"status": 0, "year": 1997}])),
            ),
            ("$.users[?(@.status == '1')].year", Some(json!([1998]))),
            ("$.users[?(@.year >= 1998)].year", Some(json!([1998]))),
            ("$.users[?(@.nope)]", Some(json!([]))),
            ("$.store.book.length()", Some(json!(4))),
            (
                "$.store.bicycle['color','price']",
                Some(json!([{"color": "red", "price": 19.95}])),
            ),
            ("$.store.*.color", Some(json!(["red"]))),
            ("$.missing", None),
            ("$.missing.deeper", None),
            ("$.expensive.deeper", None),
            ("$.nested.x", Some(Value::Null)),
            ("$.nested.x.y", None),
            ("$.nested.s[0]", None),
            ("$$.Execution.Id", Some(json!("arn:x"))),
            (
                "$$",
                Some(
                    json!({"Execution": {"Id": "arn:x", "Input": {"a": 1}}, "State": {"Name": "S"}}),
                ),
            ),
            ("$$.Execution.Input.a", Some(json!(1))),
            ("$x", Some(json!({"a": [1, 2]}))),
            ("$x.a[1]", Some(json!(2))),
            ("$x.a[*]", Some(json!([1, 2]))),
            ("$n", Some(json!(5))),
            ("$undefinedVar", None),
        ];
        for (path, want) in cases {
            assert_eq!(scope_query(path, &doc), want, "path {path}");
        }
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "a",
            "$.",
            "$.a.",
            "$[",
            "$['a'",
            "$.a[?(@.b >)]",
            "$.a[x]",
            "$.a b",
            "$..",
            "$.a.length().b",
            "$.a.nofunc()",
            "$.a[?(@.b =~ 'x')]",
            "$.a[?(@.b =~ /(/)]",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should not parse");
        }
        for good in [
            "$",
            "$$",
            "$.a",
            "$$.Map.Item.Value",
            "$var",
            "$var.a[0]",
            "$..a",
            "$.a[*]",
            "$.delivery-partner",
        ] {
            assert!(validate(good).is_ok(), "{good:?} should parse");
        }
    }

    #[test]
    fn dot_before_bracket_reads_as_the_bracket() {
        let doc = json!([{"body": "b0", "OU": 2}, {"body": "b1", "OU": 0}]);
        let cases: Vec<(&str, Option<Value>)> = vec![
            ("$.[0]", Some(json!({"body": "b0", "OU": 2}))),
            ("$.[0].body", Some(json!("b0"))),
            ("$.[-1].body", Some(json!("b1"))),
            ("$.[?(@.OU > 0)]", Some(json!([{"body": "b0", "OU": 2}]))),
            (
                "$.[*].['body', 'OU']",
                Some(json!([{"body": "b0", "OU": 2}, {"body": "b1", "OU": 0}])),
            ),
            ("$.[*].['body']", Some(json!(["b0", "b1"]))),
        ];
        for (path, want) in cases {
            assert_eq!(query_in(path, &doc), Ok(want), "path {path}");
        }
        let snaps = json!({"Snapshots": [{"State": "completed"}]});
        assert_eq!(
            query_in("$.Snapshots.[0].State", &snaps),
            Ok(Some(json!("completed")))
        );
        assert!(validate_reference_path("$.a.[0]").is_ok());
        assert_eq!(
            Path::parse("$.a.[0]").map(|p| p.canonical()),
            Ok("$['a'][0]".to_string())
        );
    }

    /// A script index and an unquoted word in a filter pass validation (AWS accepts them in a
    /// definition) but, as in Jayway, fail when the path is evaluated.
    #[test]
    fn accepted_but_not_evaluable() {
        let doc = json!({"Labels": [{"Name": "Receipt"}], "a": [{"bar": 1}, {"bar": 2}]});
        let vars = Map::new();
        let scope = Scope {
            input: &doc,
            context: &Value::Null,
            variables: &vars,
        };
        let cases = [
            (
                "$.Labels[?(@.Name==Receipt)]",
                "Failed to parse filter: [?(@.Name==Receipt)], error on position: 11, char: R",
            ),
            (
                "$.x[?(@.Type.Text == AMOUNT_PAID)].Value",
                "Failed to parse filter: [?(@.Type.Text == AMOUNT_PAID)], error on position: 18, char: A",
            ),
            (
                "$[(@.length-1)].bar",
                "Could not parse token starting at position 1. Expected ?, ', 0-9, * ",
            ),
            (
                "$.a[(@.length - 1)]",
                "Could not parse token starting at position 3. Expected ?, ', 0-9, * ",
            ),
        ];
        for (path, reason) in cases {
            assert_eq!(validate(path), Ok(()), "{path}");
            assert!(validate_reference_path(path).is_err(), "{path}");
            let p = Path::parse(path).expect("parses");
            assert_eq!(
                p.eval(&scope).map_err(|e| e.0),
                Err(reason.to_string()),
                "{path}"
            );
            assert_eq!(query(path, &scope), Ok(None), "{path}");
        }
        // Keywords stay literals.
        assert_eq!(
            query_in("$.a[?(@.bar != null)].bar", &doc),
            Ok(Some(json!([1, 2])))
        );
        for bad in [
            "$[(@.length-1]",
            "$.a[?(@.b == trueish x)]",
            "$.a[?(Receipt)]",
        ] {
            assert!(validate(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn reference_paths() {
        for ok in ["$", "$.a", "$.a.b", "$['a'].b[0]", "$$.Execution"] {
            assert!(validate_reference_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "$.a[*]",
            "$..a",
            "$.a[0:1]",
            "$.a[?(@.b)]",
            "$.a[0,1]",
            "$.a.length()",
        ] {
            assert!(validate_reference_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn not_found_reasons() {
        let doc = json!({"a": {"b": 1}, "n": 5, "arr": [1]});
        let vars = Map::new();
        let scope = Scope {
            input: &doc,
            context: &Value::Null,
            variables: &vars,
        };
        let reason = |p: &str| Path::parse(p).map(|p| p.eval(&scope).err().map(|e| e.0));
        assert_eq!(
            reason("$.x"),
            Ok(Some("No results for path: $['x']".into()))
        );
        assert_eq!(
            reason("$.a.c"),
            Ok(Some("No results for path: $['a']['c']".into()))
        );
        assert_eq!(
            reason("$.x.y"),
            Ok(Some("Missing property in path $['x']".into()))
        );
        assert_eq!(
            reason("$.arr[3]"),
            Ok(Some("No results for path: $['arr'][3]".into()))
        );
        assert_eq!(
            reason("$.arr[3].x"),
            Ok(Some(
                "Index out of bounds when evaluating path $['arr'][3]".into()
            ))
        );
        assert!(
            matches!(reason("$.n.x"), Ok(Some(m)) if m.starts_with("Expected to find an object with property ['x'] in path $['n']"))
        );
        assert_eq!(reason("$.a.b"), Ok(None));
    }

    #[test]
    fn result_path_set() {
        let cases: Vec<(Value, &str, Option<Value>)> = vec![
            (json!({"a": 1}), "$.b", Some(json!({"a": 1, "b": "R"}))),
            (json!({"a": 1}), "$.a", Some(json!({"a": "R"}))),
            (json!({}), "$.x.y.z", Some(json!({"x": {"y": {"z": "R"}}}))),
            (
                json!({"x": {"k": 1}}),
                "$.x.y",
                Some(json!({"x": {"k": 1, "y": "R"}})),
            ),
            (json!({"x": [1, 2]}), "$.x[1]", Some(json!({"x": [1, "R"]}))),
            (json!({"x": null}), "$.x.y", None),
            (json!({"x": 5}), "$.x.y", None),
            (json!("str"), "$.x", None),
            (json!([1]), "$.x", None),
            (json!({"x": [1]}), "$.x[4]", None),
            (
                json!({"a": 1}),
                "$['b c']",
                Some(json!({"a": 1, "b c": "R"})),
            ),
        ];
        for (mut doc, path, want) in cases {
            let before = doc.clone();
            let r = set(&mut doc, path, json!("R"));
            match want {
                Some(w) => {
                    assert_eq!(r, Ok(()), "{path}");
                    assert_eq!(doc, w, "{path}");
                }
                None => {
                    let e = r.expect_err(path);
                    assert_eq!(e.error, crate::errors::RESULT_PATH_MATCH_FAILURE);
                    assert_eq!(
                        e.cause,
                        format!("Unable to apply ReferencePath {path} to input {before}")
                    );
                }
            }
        }
    }

    #[test]
    fn query_in_reads_one_document() {
        let doc = json!({"a": [1, {"b": 2}]});
        assert_eq!(query_in("$.a[1].b", &doc), Ok(Some(json!(2))));
        assert!(query_in("$$.a", &doc).is_err());
    }
}
