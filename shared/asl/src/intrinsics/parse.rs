//! The intrinsic function call parser.

use super::{Arg, Function, Intrinsic};
use crate::jsonpath::Path;
use serde_json::Value;

/// AWS allows at most 10 nested intrinsic functions in one field.
const MAX_DEPTH: usize = 10;

pub(super) fn parse(expr: &str) -> Result<Intrinsic, String> {
    let mut p = P { s: expr, pos: 0 };
    p.ws();
    let call = p.call(1)?;
    p.ws();
    if p.pos != expr.len() {
        return Err(p.err("unexpected text after the function call"));
    }
    Ok(call)
}

struct P<'s> {
    s: &'s str,
    pos: usize,
}

impl P<'_> {
    fn err(&self, what: &str) -> String {
        format!(
            "The value '{}' is not a valid intrinsic function: {what} at position {}",
            self.s, self.pos
        )
    }

    fn rest(&self) -> &str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn call(&mut self, depth: usize) -> Result<Intrinsic, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("more than 10 nested intrinsic functions"));
        }
        if !self.rest().starts_with("States.") {
            return Err(self.err("expected 'States.'"));
        }
        self.pos += "States.".len();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name = &self.s[start..self.pos];
        let function = Function::from_name(name).ok_or_else(|| {
            format!("The function 'States.{name}' is not a supported intrinsic function")
        })?;
        self.ws();
        if self.peek() != Some(b'(') {
            return Err(self.err("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg(depth)?);
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected ',' or ')'")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            return Err(format!(
                "The function {} expects {expected} argument(s) but got {}",
                function.name(),
                args.len()
            ));
        }
        Ok(Intrinsic { function, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        match self.peek() {
            Some(b'\'') => self.string(),
            Some(b'$') => self.path(),
            Some(b'S') if self.rest().starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call(depth + 1)?)))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            _ => {
                for (w, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest().starts_with(w)
                        && !self
                            .s
                            .as_bytes()
                            .get(self.pos + w.len())
                            .is_some_and(|c| c.is_ascii_alphanumeric())
                    {
                        self.pos += w.len();
                        return Ok(Arg::Literal(v));
                    }
                }
                Err(self.err("expected an argument"))
            }
        }
    }

    /// `'...'`: `\'`, `\\`, `\{` and `\}` stand for the escaped character; no other escape exists.
    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1;
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('\'' | '\\' | '{' | '}'))) => value.push(e),
                    // AWS refuses any other escape (`\"` among them) when the definition is created.
                    Some((_, e)) => return Err(self.err(&format!("illegal escape '\\{e}'"))),
                    None => break,
                },
                '\'' => {
                    let raw = self.s[start..start + i].to_string();
                    self.pos = start + i + 1;
                    let json = Value::String(value.clone());
                    return Ok(Arg::Str { value, raw, json });
                }
                _ => value.push(c),
            }
        }
        Err(self.err("unterminated string literal"))
    }

    fn number(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            self.pos += 1;
        }
        let text = &self.s[start..self.pos];
        serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_number)
            .map(Arg::Literal)
            .ok_or_else(|| self.err(&format!("invalid number '{text}'")))
    }

    /// A JSONPath runs to the next `,` or `)` outside brackets, parentheses and quotes.
    fn path(&mut self) -> Result<Arg, String> {
        let start = self.pos;
        let mut depth = 0i32;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
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
                    b'[' | b'(' => depth += 1,
                    b']' => depth -= 1,
                    b')' if depth == 0 => break,
                    b')' => depth -= 1,
                    b',' if depth == 0 => break,
                    _ => {}
                },
            }
            self.pos += 1;
        }
        let text = self.s.get(start..self.pos).unwrap_or("").trim_end();
        Path::parse(text)
            .map(Arg::Path)
            .map_err(|e| format!("Invalid JSONPath argument '{text}': {e}"))
    }
}
