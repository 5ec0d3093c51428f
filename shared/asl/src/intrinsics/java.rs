//! How the Java service prints values: `Double.toString`, Jackson's compact JSON and
//! `Map`/`List` `toString` (what `States.Format` interpolates).

use serde_json::{Number, Value};
use std::fmt::Write as _;

/// A number as Java prints it: integers as they are, doubles per `Double.toString`
/// (`1.0`, `0.001`, `1.0E7`, `1.0E-4`).
pub fn number(n: &Number) -> String {
    if n.is_f64() {
        n.as_f64().map_or_else(|| n.to_string(), double)
    } else {
        n.to_string()
    }
}

/// Java's `Double.toString`.
pub fn double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = x.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust's `{:e}` gives the shortest digits, e.g. `1.5e-5`; Java writes `1.5E-5`.
        let s = format!("{x:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

/// Compact JSON as Jackson writes it (doubles per `Double.toString`).
pub fn json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

/// A number as [`number`] prints it, into `out` (an integer without a String of its own).
fn write_number(n: &Number, out: &mut String) {
    if n.is_f64() {
        out.push_str(&number(n));
    } else {
        let _ = write!(out, "{n}");
    }
}

/// A JSON string literal of `s`, escaped as serde_json (and Jackson) escape it.
fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_json_str(s, out),
        Value::Null | Value::Bool(_) => {
            let _ = write!(out, "{v}");
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                write_json(x, out);
            }
            out.push('}');
        }
    }
}

/// A value as Java's `toString` prints the equivalent `String`/`Map`/`List`:
/// `{Arg1=1, Arg2=[a, b]}`.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_plain(v, &mut out);
    out
}

pub(super) fn write_plain(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => write_number(n, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_plain(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_plain(x, out);
            }
            out.push('}');
        }
    }
}

/// Java's `Math.round` for doubles: halves round up (`-1.5` → `-1`).
pub fn round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// `java.util.Random`, so a seeded `States.MathRandom` is reproducible.
pub struct JavaRandom(u64);

impl JavaRandom {
    const MULT: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    /// `new Random(seed)`.
    pub fn new(seed: i64) -> Self {
        JavaRandom((seed as u64 ^ Self::MULT) & Self::MASK)
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.0 = (self.0.wrapping_mul(Self::MULT).wrapping_add(0xB)) & Self::MASK;
        (self.0 >> (48 - bits)) as i32
    }

    /// `nextInt(bound)` for `bound > 0`.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        if bound <= 0 {
            return 0;
        }
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings and keys are escaped exactly as serde_json escapes them: every ASCII character,
    /// quotes and backslashes, and text beyond ASCII.
    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(["", "é\u{2028}😀", "\"\\\"", "\u{7f}\u{1f}x"].map(String::from));
        for t in texts {
            let mut out = String::new();
            write_json_str(&t, &mut out);
            assert_eq!(out, Value::String(t.clone()).to_string(), "{t:?}");
            let obj = serde_json::json!({ t.clone(): [1, 2.5, t.clone(), null, true] });
            assert_eq!(json(&obj), obj.to_string(), "{t:?}");
        }
    }
}
