//! The path parser: text to [`Path`], with Jayway's compile errors.

use super::*;

pub(super) fn is_var_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

pub(super) fn is_var_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// A character of an unquoted word in a filter (`true`, `null`, `Receipt`, `AMOUNT_PAID`).
pub(super) fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') || c >= 0x80
}

pub(super) struct Parser<'s> {
    pub(super) s: &'s str,
    pub(super) pos: usize,
    pub(super) in_filter: bool,
    /// Jayway's compile error for the first construct it cannot compile (see [`Path`]).
    pub(super) unsupported: Option<String>,
    /// Where the first unquoted word of the filter being read starts.
    pub(super) bare_word: Option<usize>,
}

impl Parser<'_> {
    pub(super) fn err(&self, what: &str) -> PathSyntaxError {
        PathSyntaxError(format!(
            "Invalid JSONPath '{}': {what} at position {}",
            self.s, self.pos
        ))
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.as_bytes().get(self.pos + k).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    pub(super) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, c: u8) -> Result<(), PathSyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    pub(super) fn segments(&mut self) -> Result<Vec<Seg>, PathSyntaxError> {
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
    pub(super) fn dot_name(&mut self) -> Result<Seg, PathSyntaxError> {
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

    pub(super) fn bracket(&mut self) -> Result<Seg, PathSyntaxError> {
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
    pub(super) fn quoted(&mut self, q: u8) -> Result<String, PathSyntaxError> {
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

    pub(super) fn int(&mut self) -> Result<Option<i64>, PathSyntaxError> {
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

    pub(super) fn index_or_slice(&mut self) -> Result<Seg, PathSyntaxError> {
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

    pub(super) fn starts_with(&self, t: &str) -> bool {
        self.s[self.pos..].starts_with(t)
    }

    pub(super) fn expr(&mut self) -> Result<Expr, PathSyntaxError> {
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

    pub(super) fn and_expr(&mut self) -> Result<Expr, PathSyntaxError> {
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

    pub(super) fn unary(&mut self) -> Result<Expr, PathSyntaxError> {
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

    pub(super) fn op(&mut self) -> Option<Op> {
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

    pub(super) fn operand(&mut self) -> Result<Operand, PathSyntaxError> {
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
    pub(super) fn quoted_literal(&mut self, q: u8) -> Result<String, PathSyntaxError> {
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

    pub(super) fn regex(&mut self) -> Result<Operand, PathSyntaxError> {
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

    pub(super) fn json_literal(&mut self) -> Result<Operand, PathSyntaxError> {
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
