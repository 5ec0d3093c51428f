//! DynamoDB's expression language, as much of it as Stepwise writes: condition and filter
//! expressions (comparisons, `BETWEEN`, `IN`, `AND`/`OR`/`NOT`, `attribute_exists`,
//! `attribute_not_exists`, `begins_with`, `contains`, `size`), key conditions (the same grammar),
//! update expressions (`SET` with `+`, `-`, `if_not_exists`, `list_append`; `REMOVE`; `ADD`) and
//! projections. Attribute values are kept in DynamoDB's JSON form (`{"S": "x"}`).

use serde_json::Value;
use std::collections::BTreeMap;

/// An item: attribute name -> attribute value (DynamoDB JSON).
pub type Item = BTreeMap<String, Value>;

/// Why an expression was refused (DynamoDB's `ValidationException`).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Value(String),
    Word(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn lex(text: &str) -> Result<Vec<Tok>, Invalid> {
    let mut out = Vec::new();
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '.';
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '#' | ':' => {
                let start = i;
                i += 1;
                while i < cs.len() && ident(cs[i]) {
                    i += 1;
                }
                let s: String = cs[start..i].iter().collect();
                out.push(if c == '#' {
                    Tok::Name(s)
                } else {
                    Tok::Value(s)
                });
            }
            '=' | '+' | '-' => {
                out.push(Tok::Op(c.to_string()));
                i += 1
            }
            '<' | '>' => {
                let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                if two == "<=" || two == ">=" || two == "<>" {
                    out.push(Tok::Op(two));
                    i += 2;
                } else {
                    out.push(Tok::Op(c.to_string()));
                    i += 1;
                }
            }
            c if ident(c) => {
                let start = i;
                while i < cs.len() && ident(cs[i]) {
                    i += 1;
                }
                out.push(Tok::Word(cs[start..i].iter().collect()));
            }
            other => return Err(Invalid(format!("Invalid character {other:?} in {text:?}"))),
        }
    }
    Ok(out)
}

/// The names and values an expression refers to.
pub struct Ctx<'a> {
    /// `ExpressionAttributeNames`.
    pub names: &'a BTreeMap<String, String>,
    /// `ExpressionAttributeValues`.
    pub values: &'a BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
enum Operand {
    Path(String),
    Value(Value),
    Size(String),
    IfNotExists(String, Box<Operand>),
    ListAppend(Box<Operand>, Box<Operand>),
    Plus(Box<Operand>, Box<Operand>),
    Minus(Box<Operand>, Box<Operand>),
}

#[derive(Debug, Clone)]
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp(Operand, String, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(String),
    NotExists(String),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
}

struct Parser<'a, 'c> {
    toks: Vec<Tok>,
    pos: usize,
    ctx: &'a Ctx<'c>,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Result<(), Invalid> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(Invalid(format!("expected {t:?}, found {other:?}"))),
        }
    }
    fn path(&mut self) -> Result<String, Invalid> {
        match self.next() {
            Some(Tok::Name(n)) => self
                .ctx
                .names
                .get(&n)
                .cloned()
                .ok_or_else(|| Invalid(format!("An expression attribute name used in the document path is not defined; attribute name: {n}"))),
            Some(Tok::Word(w)) => {
                if w.contains('.') {
                    return Err(Invalid(format!("nested paths are not simulated: {w}")));
                }
                Ok(w)
            }
            other => Err(Invalid(format!("expected an attribute, found {other:?}"))),
        }
    }
    fn operand(&mut self) -> Result<Operand, Invalid> {
        let first = self.single()?;
        match self.peek() {
            Some(Tok::Op(o)) if o == "+" || o == "-" => {
                let plus = o == "+";
                self.pos += 1;
                let second = self.single()?;
                Ok(if plus {
                    Operand::Plus(Box::new(first), Box::new(second))
                } else {
                    Operand::Minus(Box::new(first), Box::new(second))
                })
            }
            _ => Ok(first),
        }
    }
    fn single(&mut self) -> Result<Operand, Invalid> {
        match self.peek().cloned() {
            Some(Tok::Value(v)) => {
                self.pos += 1;
                self.ctx
                    .values
                    .get(&v)
                    .cloned()
                    .map(Operand::Value)
                    .ok_or_else(|| Invalid(format!("An expression attribute value used in expression is not defined; attribute value: {v}")))
            }
            Some(Tok::Word(w)) if self.toks.get(self.pos + 1) == Some(&Tok::LParen) => {
                self.pos += 2;
                let f = w.to_ascii_lowercase();
                let out = match f.as_str() {
                    "size" => Operand::Size(self.path()?),
                    "if_not_exists" => {
                        let p = self.path()?;
                        self.expect(Tok::Comma)?;
                        Operand::IfNotExists(p, Box::new(self.operand()?))
                    }
                    "list_append" => {
                        let a = self.operand()?;
                        self.expect(Tok::Comma)?;
                        Operand::ListAppend(Box::new(a), Box::new(self.operand()?))
                    }
                    _ => return Err(Invalid(format!("Invalid function name; function: {w}"))),
                };
                self.expect(Tok::RParen)?;
                Ok(out)
            }
            _ => Ok(Operand::Path(self.path()?)),
        }
    }
    fn or(&mut self) -> Result<Cond, Invalid> {
        let mut left = self.and()?;
        while is_kw(self.peek(), "OR") {
            self.pos += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Cond, Invalid> {
        let mut left = self.not()?;
        while is_kw(self.peek(), "AND") {
            self.pos += 1;
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }
    fn not(&mut self) -> Result<Cond, Invalid> {
        if is_kw(self.peek(), "NOT") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Cond, Invalid> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let c = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        if let (Some(Tok::Word(w)), Some(Tok::LParen)) =
            (self.peek().cloned(), self.toks.get(self.pos + 1))
        {
            let f = w.to_ascii_lowercase();
            if matches!(
                f.as_str(),
                "attribute_exists" | "attribute_not_exists" | "begins_with" | "contains"
            ) {
                self.pos += 2;
                let c = match f.as_str() {
                    "attribute_exists" => Cond::Exists(self.path()?),
                    "attribute_not_exists" => Cond::NotExists(self.path()?),
                    _ => {
                        let a = self.operand()?;
                        self.expect(Tok::Comma)?;
                        let b = self.operand()?;
                        if f == "begins_with" {
                            Cond::BeginsWith(a, b)
                        } else {
                            Cond::Contains(a, b)
                        }
                    }
                };
                self.expect(Tok::RParen)?;
                return Ok(c);
            }
        }
        let left = self.operand()?;
        if is_kw(self.peek(), "BETWEEN") {
            self.pos += 1;
            let lo = self.operand()?;
            if !is_kw(self.next().as_ref(), "AND") {
                return Err(Invalid("BETWEEN without AND".into()));
            }
            let hi = self.operand()?;
            return Ok(Cond::Between(left, lo, hi));
        }
        if is_kw(self.peek(), "IN") {
            self.pos += 1;
            self.expect(Tok::LParen)?;
            let mut list = vec![self.operand()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                list.push(self.operand()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In(left, list));
        }
        match self.next() {
            Some(Tok::Op(op)) if ["=", "<>", "<", "<=", ">", ">="].contains(&op.as_str()) => {
                Ok(Cond::Cmp(left, op, self.operand()?))
            }
            other => Err(Invalid(format!("Syntax error; token: {other:?}"))),
        }
    }
}

/// A parsed condition (or filter, or key condition).
pub struct Condition(Cond);

impl Condition {
    /// Parses `text`.
    pub fn parse(text: &str, ctx: &Ctx) -> Result<Self, Invalid> {
        let mut p = Parser {
            toks: lex(text)?,
            pos: 0,
            ctx,
        };
        let c = p.or()?;
        if p.pos != p.toks.len() {
            return Err(Invalid(format!("Syntax error in {text:?}")));
        }
        Ok(Condition(c))
    }

    /// Whether `item` (absent: an empty item) satisfies it.
    pub fn holds(&self, item: &Item) -> bool {
        holds(&self.0, item)
    }

    /// The value the hash key attribute `key` is compared equal to at the top level (a key
    /// condition names its partition so).
    pub fn equality_on(&self, key: &str) -> Option<Value> {
        fn find(c: &Cond, key: &str) -> Option<Value> {
            match c {
                Cond::And(a, b) => find(a, key).or_else(|| find(b, key)),
                Cond::Cmp(Operand::Path(p), op, Operand::Value(v)) if p == key && op == "=" => {
                    Some(v.clone())
                }
                _ => None,
            }
        }
        find(&self.0, key)
    }
}

fn number(v: &Value) -> Option<f64> {
    v.get("N")?.as_str()?.parse().ok()
}

fn eval(o: &Operand, item: &Item) -> Option<Value> {
    match o {
        Operand::Path(p) => item.get(p).cloned(),
        Operand::Value(v) => Some(v.clone()),
        Operand::Size(p) => {
            let v = item.get(p)?;
            let n = if let Some(s) = v.get("S").and_then(Value::as_str) {
                s.len()
            } else if let Some(l) = v.get("L").and_then(Value::as_array) {
                l.len()
            } else if let Some(m) = v.get("M").and_then(Value::as_object) {
                m.len()
            } else {
                return None;
            };
            Some(serde_json::json!({"N": n.to_string()}))
        }
        Operand::IfNotExists(p, other) => item.get(p).cloned().or_else(|| eval(other, item)),
        Operand::ListAppend(a, b) => {
            let mut x = eval(a, item)?.get("L")?.as_array()?.clone();
            x.extend(eval(b, item)?.get("L")?.as_array()?.iter().cloned());
            Some(serde_json::json!({ "L": x }))
        }
        Operand::Plus(a, b) | Operand::Minus(a, b) => {
            let (x, y) = (number(&eval(a, item)?)?, number(&eval(b, item)?)?);
            let r = if matches!(o, Operand::Plus(..)) {
                x + y
            } else {
                x - y
            };
            Some(serde_json::json!({"N": format_number(r)}))
        }
    }
}

/// A number as DynamoDB returns it (integers without a fraction).
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e18 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.get("S"), b.get("S")) {
        return Some(x.as_str()?.cmp(y.as_str()?));
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y);
    }
    if a == b {
        return Some(std::cmp::Ordering::Equal);
    }
    None
}

fn holds(c: &Cond, item: &Item) -> bool {
    use std::cmp::Ordering::*;
    match c {
        Cond::And(a, b) => holds(a, item) && holds(b, item),
        Cond::Or(a, b) => holds(a, item) || holds(b, item),
        Cond::Not(a) => !holds(a, item),
        Cond::Exists(p) => item.contains_key(p),
        Cond::NotExists(p) => !item.contains_key(p),
        Cond::Cmp(a, op, b) => {
            let (Some(x), Some(y)) = (eval(a, item), eval(b, item)) else {
                return op == "<>" && (eval(a, item).is_some() || eval(b, item).is_some());
            };
            match op.as_str() {
                "=" => compare(&x, &y) == Some(Equal),
                "<>" => compare(&x, &y) != Some(Equal),
                "<" => compare(&x, &y) == Some(Less),
                "<=" => matches!(compare(&x, &y), Some(Less | Equal)),
                ">" => compare(&x, &y) == Some(Greater),
                ">=" => matches!(compare(&x, &y), Some(Greater | Equal)),
                _ => false,
            }
        }
        Cond::Between(a, lo, hi) => match (eval(a, item), eval(lo, item), eval(hi, item)) {
            (Some(x), Some(l), Some(h)) => {
                matches!(compare(&x, &l), Some(Greater | Equal))
                    && matches!(compare(&x, &h), Some(Less | Equal))
            }
            _ => false,
        },
        Cond::In(a, list) => {
            let Some(x) = eval(a, item) else { return false };
            list.iter()
                .any(|o| eval(o, item).is_some_and(|y| compare(&x, &y) == Some(Equal)))
        }
        Cond::BeginsWith(a, b) => match (eval(a, item), eval(b, item)) {
            (Some(x), Some(y)) => match (
                x.get("S").and_then(Value::as_str),
                y.get("S").and_then(Value::as_str),
            ) {
                (Some(s), Some(p)) => s.starts_with(p),
                _ => false,
            },
            _ => false,
        },
        Cond::Contains(a, b) => match (eval(a, item), eval(b, item)) {
            (Some(x), Some(y)) => {
                if let (Some(s), Some(p)) = (
                    x.get("S").and_then(Value::as_str),
                    y.get("S").and_then(Value::as_str),
                ) {
                    s.contains(p)
                } else if let Some(l) = x.get("L").and_then(Value::as_array) {
                    l.contains(&y)
                } else {
                    false
                }
            }
            _ => false,
        },
    }
}

/// A parsed update expression.
pub struct Update {
    set: Vec<(String, Operand)>,
    remove: Vec<String>,
    add: Vec<(String, Operand)>,
}

impl Update {
    /// Parses `text`.
    pub fn parse(text: &str, ctx: &Ctx) -> Result<Self, Invalid> {
        let mut p = Parser {
            toks: lex(text)?,
            pos: 0,
            ctx,
        };
        let mut u = Update {
            set: Vec::new(),
            remove: Vec::new(),
            add: Vec::new(),
        };
        while let Some(t) = p.next() {
            let Tok::Word(w) = t else {
                return Err(Invalid(format!("Syntax error in update {text:?}")));
            };
            let clause = w.to_ascii_uppercase();
            loop {
                match clause.as_str() {
                    "SET" => {
                        let path = p.path()?;
                        p.expect(Tok::Op("=".into()))?;
                        u.set.push((path, p.operand()?));
                    }
                    "REMOVE" => u.remove.push(p.path()?),
                    "ADD" => {
                        let path = p.path()?;
                        u.add.push((path, p.single()?));
                    }
                    _ => return Err(Invalid(format!("Invalid UpdateExpression clause {w}"))),
                }
                if p.peek() == Some(&Tok::Comma) {
                    p.pos += 1;
                } else {
                    break;
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in u
            .set
            .iter()
            .map(|(n, _)| n)
            .chain(u.remove.iter())
            .chain(u.add.iter().map(|(n, _)| n))
        {
            if !seen.insert(name.clone()) {
                return Err(Invalid(format!(
                    "Invalid UpdateExpression: Two document paths overlap with each other; path: [{name}]"
                )));
            }
        }
        Ok(u)
    }

    /// Applies it to `item` (every operand read from the item before the update).
    pub fn apply(&self, item: &mut Item) -> Result<(), Invalid> {
        let before = item.clone();
        for (p, o) in &self.set {
            let v = eval(o, &before)
                .ok_or_else(|| Invalid("The provided expression refers to an attribute that does not exist in the item".into()))?;
            item.insert(p.clone(), v);
        }
        for p in &self.remove {
            item.remove(p);
        }
        for (p, o) in &self.add {
            let add = eval(o, &before)
                .and_then(|v| number(&v))
                .ok_or_else(|| Invalid("ADD takes a number".into()))?;
            let old = before.get(p).and_then(number).unwrap_or(0.0);
            item.insert(
                p.clone(),
                serde_json::json!({"N": format_number(old + add)}),
            );
        }
        Ok(())
    }
}

/// The attributes a projection keeps.
pub fn projection(text: &str, ctx: &Ctx) -> Result<Vec<String>, Invalid> {
    let mut p = Parser {
        toks: lex(text)?,
        pos: 0,
        ctx,
    };
    let mut out = vec![p.path()?];
    while p.peek() == Some(&Tok::Comma) {
        p.pos += 1;
        out.push(p.path()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx_parts() -> (BTreeMap<String, String>, BTreeMap<String, Value>) {
        let names = BTreeMap::from([("#w".to_string(), "writer".to_string())]);
        let values = BTreeMap::from([
            (":seen".to_string(), json!({"N": "3"})),
            (":me".to_string(), json!({"S": "x"})),
            (":p".to_string(), json!({"S": "EV#"})),
            (":one".to_string(), json!({"N": "1"})),
        ]);
        (names, values)
    }

    #[test]
    fn conditions_and_updates_evaluate_as_dynamodb_does() {
        let (names, values) = ctx_parts();
        let ctx = Ctx {
            names: &names,
            values: &values,
        };
        let mut item = Item::from([
            ("version".to_string(), json!({"N": "3"})),
            ("writer".to_string(), json!({"S": "x"})),
            ("SK".to_string(), json!({"S": "EV#001"})),
        ]);
        assert!(Condition::parse("version = :seen AND #w = :me", &ctx)
            .unwrap()
            .holds(&item));
        // The item has no PK: attribute_not_exists holds, attribute_exists does not.
        assert!(Condition::parse("attribute_not_exists(PK)", &ctx)
            .unwrap()
            .holds(&item));
        assert!(!Condition::parse("attribute_exists(PK)", &ctx)
            .unwrap()
            .holds(&item));
        assert!(Condition::parse("begins_with(SK, :p)", &ctx)
            .unwrap()
            .holds(&item));
        assert!(!Condition::parse("NOT (version = :seen)", &ctx)
            .unwrap()
            .holds(&item));
        Update::parse("SET version = version + :one, a = :me REMOVE #w", &ctx)
            .unwrap()
            .apply(&mut item)
            .unwrap();
        assert_eq!(item["version"], json!({"N": "4"}));
        assert!(!item.contains_key("writer"));
        assert!(Update::parse("SET a = :me REMOVE a", &ctx).is_err());
        assert!(Condition::parse("version = :nope", &ctx).is_err());
    }
}
