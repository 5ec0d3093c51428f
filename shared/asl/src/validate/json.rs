//! A small JSON parser that keeps every member of an object, in order, duplicates included, with
//! the line and column where each value starts. `serde_json::Value` drops duplicate keys, and
//! Step Functions rejects them, so the validator reads the definition with this parser.

/// Nesting deeper than this is reported as a JSON error instead of being parsed (keeps recursion,
/// here and in the validator, bounded).
pub const MAX_DEPTH: usize = 512;

/// A JSON number, as written and as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The text of the number in the definition.
    pub raw: String,
    /// Its value as a float.
    pub value: f64,
    /// Whether it is written without a fraction or an exponent.
    pub integral: bool,
}

impl Number {
    /// The value as an integer when written as one and in range.
    pub fn as_i64(&self) -> Option<i64> {
        if self.integral {
            self.raw.parse::<i64>().ok()
        } else {
            None
        }
    }
}

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Num(Number),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Node>),
    /// An object: every member, in order, duplicates kept.
    Obj(Vec<(String, Node)>),
}

/// A JSON value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Json,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Node {
    /// The members when this is an object.
    pub fn members(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Json::Obj(m) => Some(m),
            _ => None,
        }
    }

    /// The first member named `key` when this is an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items when this is an array.
    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// The number when this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match &self.value {
            Json::Num(n) => Some(n),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Json::Null)
    }

    /// The JSON type name, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Num(_) => "number",
            Json::Str(_) => "string",
            Json::Arr(_) => "array",
            Json::Obj(_) => "object",
        }
    }
}

/// Why a text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at (line {line}, column {column})")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("Unexpected content after the end of the JSON document"));
    }
    Ok(node)
}

/// A character Jackson reads as part of a bare word (Java's identifier characters).
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
}

impl Parser {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn expect_word(&mut self, word: &str, value: Json) -> Result<Json, ParseError> {
        let start = self.pos;
        let matched = word
            .chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(start + i) == Some(&c));
        let after = self.chars.get(start + word.chars().count()).copied();
        if matched && !after.is_some_and(is_token_char) {
            for _ in word.chars() {
                self.bump();
            }
            return Ok(value);
        }
        Err(self.unrecognized_token())
    }

    /// Jackson's error for a bare word that is not `true`, `false` or `null`: it reads the
    /// whole word and reports where it ends.
    fn unrecognized_token(&mut self) -> ParseError {
        let mut token = String::new();
        while let Some(c) = self.peek().filter(|c| is_token_char(*c)) {
            token.push(c);
            self.bump();
        }
        self.error(format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        ))
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!(
                "Document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
            )));
        }
        let (line, column) = (self.line, self.column);
        let value = match self.peek() {
            None => return Err(self.error("Unexpected end-of-input")),
            Some('{') => self.object(depth)?,
            Some('[') => self.array(depth)?,
            Some('"') => Json::Str(self.string()?),
            Some('t') => self.expect_word("true", Json::Bool(true))?,
            Some('f') => self.expect_word("false", Json::Bool(false))?,
            Some('n') => self.expect_word("null", Json::Null)?,
            Some(c) if c == '-' || c.is_ascii_digit() => Json::Num(self.number()?),
            Some(c) if is_token_char(c) => return Err(self.unrecognized_token()),
            Some(c) => return Err(self.error(format!("Unexpected character '{c}'"))),
        };
        Ok(Node {
            value,
            line,
            column,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Json, ParseError> {
        self.bump();
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(Json::Obj(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some('"') {
                return Err(self.error("Expected a double-quoted field name"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.error("Expected ':' after a field name"));
            }
            self.bump();
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some('}') => return Ok(Json::Obj(members)),
                _ => return Err(self.error("Expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, ParseError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(Json::Arr(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return Ok(Json::Arr(items)),
                _ => return Err(self.error("Expected ',' or ']' in an array")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .bump()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("Invalid \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("Unexpected end-of-input in a string")),
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let hi = self.hex4()?;
                        let code = if (0xD800..0xDC00).contains(&hi)
                            && self.peek() == Some('\\')
                            && self.chars.get(self.pos + 1) == Some(&'u')
                        {
                            self.bump();
                            self.bump();
                            let lo = self.hex4()?;
                            if (0xDC00..0xE000).contains(&lo) {
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                out.push('\u{FFFD}');
                                lo
                            }
                        } else {
                            hi
                        };
                        out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    _ => return Err(self.error("Unrecognized character escape")),
                },
                Some(c) if (c as u32) < 0x20 => {
                    return Err(self.error(format!(
                        "Illegal unquoted character (CTRL-CHAR, code {})",
                        c as u32
                    )))
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn digits(&mut self, raw: &mut String) -> usize {
        let mut n = 0;
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            raw.push(c);
            self.bump();
            n += 1;
        }
        n
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let mut raw = String::new();
        let mut integral = true;
        if self.peek() == Some('-') {
            raw.push('-');
            self.bump();
        }
        let int_start = raw.len();
        if self.digits(&mut raw) == 0 {
            return Err(self.error("Expected a digit in a number"));
        }
        if raw[int_start..].len() > 1 && raw[int_start..].starts_with('0') {
            return Err(self.error("Leading zeroes not allowed in a number"));
        }
        if self.peek() == Some('.') {
            integral = false;
            raw.push('.');
            self.bump();
            if self.digits(&mut raw) == 0 {
                return Err(self.error("Expected a digit after the decimal point"));
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            integral = false;
            raw.push('e');
            self.bump();
            if let Some(c @ ('+' | '-')) = self.peek() {
                raw.push(c);
                self.bump();
            }
            if self.digits(&mut raw) == 0 {
                return Err(self.error("Expected a digit in the exponent"));
            }
        }
        let value = raw.parse::<f64>().unwrap_or(f64::NAN);
        Ok(Number {
            raw,
            value,
            integral,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_and_positions() {
        let n = parse("{\"a\": 1,\n \"a\": [true, null, -2.5e3, \"x\\u00e9\"]}").expect("parses");
        let m = n.members().expect("object");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].1.line, 2);
        assert_eq!(m[1].1.column, 7);
        let arr = m[1].1.as_array().expect("array");
        assert_eq!(arr[2].as_number().map(|n| n.value), Some(-2500.0));
        assert_eq!(arr[3].as_str(), Some("xé"));
    }

    #[test]
    fn rejects_bad_json() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "tru",
            "\"\\x\"",
            "{} x",
            "\"a\nb\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 10);
        assert!(parse(&deep).is_err());
    }
}
