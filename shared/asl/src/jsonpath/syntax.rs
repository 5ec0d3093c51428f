//! The syntax tree of a compiled path: its root, steps, filter expressions and functions.

use super::*;

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
pub(super) enum Seg {
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
pub(super) enum Func {
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
    pub(super) fn is_definite(&self) -> bool {
        matches!(self, Seg::Prop(_) | Seg::Index(_) | Seg::Func(_))
    }

    /// Jayway's canonical rendering, used in "No results for path" messages.
    pub(super) fn render(&self, out: &mut String) {
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
    pub(super) fn from_name(n: &str) -> Option<Func> {
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

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn apply(self, v: &Value) -> Option<Value> {
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
pub(super) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Operand),
    Cmp(Operand, Op, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
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
pub(super) enum Operand {
    /// `@...`: relative to the element under test.
    Current(Vec<Seg>),
    /// `$...`: from the document root.
    Root(Vec<Seg>),
    Lit(Value),
    Regex(Regex),
}
