//! Evaluation of a compiled [`Path`]: definite paths by reference, indefinite ones as lists,
//! filters with Jayway's comparison rules.

use super::*;

/// A compiled JSONPath.
#[derive(Debug, Clone)]
pub struct Path {
    pub(super) text: String,
    pub(super) root: Root,
    pub(super) segs: Vec<Seg>,
    /// Set when the path holds something AWS accepts in a definition but Jayway cannot compile
    /// (a script index, an unquoted word in a filter): Jayway's reason, reported when the path
    /// is evaluated.
    pub(super) unsupported: Option<String>,
    /// Only names (`$.a.b`, `$['a']`, `$$.Map.Item`, `$var.x`): followed by reference in
    /// [`Path::eval`] without the general walk, as most paths of most machines are.
    pub(super) plain: bool,
    /// The member names of a path of names only from the input (`$.a.b`): what a history
    /// records of a ResultPath merge without rendering the whole payload.
    pub(super) members: Option<std::sync::Arc<[String]>>,
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
        let plain = p.unsupported.is_none() && segs.iter().all(|s| matches!(s, Seg::Prop(_)));
        let members = if plain && root == Root::Input && !segs.is_empty() {
            let names = segs.iter().filter_map(|s| match s {
                Seg::Prop(name) => Some(name.clone()),
                _ => None,
            });
            Some(names.collect())
        } else {
            None
        };
        Ok(Path {
            text: text.to_string(),
            root,
            segs,
            unsupported: p.unsupported,
            plain,
            members,
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
    pub(super) fn start<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        match &self.root {
            Root::Input => Some(scope.input),
            Root::Context => Some(scope.context),
            Root::Variable(v) => scope.variables.get(v),
        }
    }

    /// Evaluates the path: the node of a definite path (borrowed when possible) or the list of
    /// an indefinite one.
    #[inline]
    pub fn eval<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, NotFound> {
        match self.plain_lookup(scope) {
            Some(found) => Ok(Cow::Borrowed(found)),
            None => self.walk(scope),
        }
    }

    /// [`Path::eval`] for any path: kept out of line so that the names-only lookup is a few
    /// instructions where it is called.
    #[inline(never)]
    fn walk<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, NotFound> {
        let Some(doc) = self.start(scope) else {
            return Err(NotFound(format!(
                "The variable '{}' is not defined",
                self.text
            )));
        };
        self.eval_in(doc, scope.input)
    }

    /// The node a path of names only finds; `None` for any other path, or when a name is
    /// missing (the general walk then says why, in Jayway's words).
    #[inline]
    pub(super) fn plain_lookup<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        if !self.plain {
            return None;
        }
        let mut node = self.start(scope)?;
        for seg in &self.segs {
            let Seg::Prop(name) = seg else {
                return None;
            };
            node = super::member(node.as_object()?, name)?;
        }
        Some(node)
    }

    /// Evaluates the path against `doc` (the `$` of filters is `root`).
    pub(super) fn eval_in<'a>(
        &self,
        doc: &'a Value,
        root: &'a Value,
    ) -> Result<Cow<'a, Value>, NotFound> {
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
pub(super) fn eval_definite<'a>(
    segs: &[Seg],
    doc: &'a Value,
    canonical: impl Fn() -> String,
) -> Result<Cow<'a, Value>, NotFound> {
    let mut node = doc;
    // The path up to a segment, for the messages: built only on an error (it was an allocation
    // and a formatting per segment of every path evaluated).
    let path_to = |i: usize| {
        let mut so_far = String::from("$");
        for seg in &segs[..i] {
            seg.render(&mut so_far);
        }
        so_far
    };
    let last = segs.len().saturating_sub(1);
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Seg::Prop(p) => match node {
                Value::Object(m) => match super::member(m, p) {
                    Some(v) => node = v,
                    None if i == last => {
                        return Err(NotFound(format!("No results for path: {}", canonical())))
                    }
                    None => {
                        let so_far = path_to(i + 1);
                        return Err(NotFound(format!("Missing property in path {so_far}")));
                    }
                },
                other => {
                    let mut frag = String::new();
                    seg.render(&mut frag);
                    let so_far = path_to(i);
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
                        let so_far = path_to(i + 1);
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
    }
    Ok(Cow::Borrowed(node))
}

/// The Java class Jackson maps a JSON value to, for Jayway's messages.
pub(super) fn java_class(v: &Value) -> &'static str {
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

pub(super) fn resolve_index(idx: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let k = if idx < 0 { len + idx } else { idx };
    (0..len).contains(&k).then_some(k as usize)
}

/// Borrows a child of `v`, cloning only when `v` itself is owned.
pub(super) fn child<'a>(
    v: &Cow<'a, Value>,
    f: impl Fn(&Value) -> Option<&Value>,
) -> Option<Cow<'a, Value>> {
    match v {
        Cow::Borrowed(b) => f(b).map(Cow::Borrowed),
        Cow::Owned(o) => f(o).cloned().map(Cow::Owned),
    }
}

/// All children of `v` (object values or array elements), in order.
pub(super) fn children<'a>(v: &Cow<'a, Value>) -> Vec<Cow<'a, Value>> {
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
pub(super) fn walk<'a>(
    segs: &[Seg],
    node: Cow<'a, Value>,
    root: &'a Value,
    out: &mut Vec<Cow<'a, Value>>,
) {
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

pub(super) fn walk_indexes<'a>(
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

pub(super) fn collect_preorder<'a>(node: Cow<'a, Value>, out: &mut Vec<Cow<'a, Value>>) {
    let kids = children(&node);
    out.push(node);
    for k in kids {
        collect_preorder(k, out);
    }
}

impl Expr {
    pub(super) fn test(&self, current: &Value, root: &Value) -> bool {
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
    pub(super) fn value<'a>(
        &'a self,
        current: &'a Value,
        root: &'a Value,
    ) -> Option<Cow<'a, Value>> {
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
pub(super) fn loose_eq(l: &Value, r: &Value) -> bool {
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

pub(super) fn num_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Structural JSON equality where `1` and `1.0` are the same number.
pub(super) fn json_eq(a: &Value, b: &Value) -> bool {
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

pub(super) fn compare(l: Option<&Value>, op: Op, r: Option<&Value>) -> bool {
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
