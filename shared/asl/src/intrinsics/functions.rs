//! The function bodies. Each takes evaluated arguments and returns the result or the cause of a
//! `States.IntrinsicFailure`.

use super::java;
use super::{Arg, Args, Function, Intrinsic};
use crate::Entropy;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::borrow::Cow;

/// AWS caps the input of Base64Encode, Base64Decode and Hash at 10,000 characters.
const MAX_TEXT: usize = 10_000;
/// AWS caps States.ArrayRange at 1,000 elements.
const MAX_RANGE: usize = 1_000;

type R = Result<Value, String>;

pub(super) fn call(ic: &Intrinsic, a: &mut Args<'_>, entropy: &mut dyn Entropy) -> R {
    let f = ic.function;
    let name = f.name();
    // Arity is checked at parse time; this keeps indexing below panic-free regardless.
    let (min, _) = f.arity();
    if a.len() < min {
        return Err(format!("{name} expects at least {min} argument(s)"));
    }
    match f {
        Function::Format => format(ic, a),
        Function::StringToJson => {
            let s = string(name, "first", &a[0])?;
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&without_integer_negative_zero(s))
                .map_err(|_| format!("The argument '{s}' of {name} could not be parsed as JSON"))
        }
        Function::JsonToString => Ok(Value::String(java::json(&a[0]))),
        Function::Array => Ok(Value::Array(a.drain(..).map(Cow::into_owned).collect())),
        Function::ArrayPartition => {
            let size = integer(name, "second", &a[1])?;
            if size <= 0 {
                return Err(format!(
                    "The chunk size argument of {name} must be a positive integer, but was {size}"
                ));
            }
            let arr = array(name, "first", &a[0])?;
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            Ok(Value::Array(
                arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
            ))
        }
        Function::ArrayContains => {
            let arr = array(name, "first", &a[0])?;
            Ok(Value::Bool(arr.contains(&a[1])))
        }
        Function::ArrayRange => {
            let start = integer(name, "first", &a[0])?;
            let end = integer(name, "second", &a[1])?;
            let step = integer(name, "third", &a[2])?;
            if step == 0 {
                return Err(format!("The step argument of {name} must not be 0"));
            }
            let count = if (step > 0 && start > end) || (step < 0 && start < end) {
                0
            } else {
                (i128::from(end) - i128::from(start)) / i128::from(step) + 1
            };
            if count > MAX_RANGE as i128 {
                return Err(format!(
                    "{name} would return {count} elements, more than the limit of {MAX_RANGE}"
                ));
            }
            Ok(Value::Array(
                (0..count as i64)
                    .map(|i| Value::from(start + i * step))
                    .collect(),
            ))
        }
        Function::ArrayGetItem => {
            let arr = array(name, "first", &a[0])?;
            let idx = integer(name, "second", &a[1])?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "The index {idx} is out of bounds for {name} on an array of length {}",
                        arr.len()
                    )
                })
        }
        Function::ArrayLength => Ok(Value::from(array(name, "first", &a[0])?.len())),
        Function::ArrayUnique => {
            let arr = array(name, "first", &a[0])?;
            let mut out: Vec<Value> = Vec::with_capacity(arr.len());
            for v in arr {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Function::Base64Encode => {
            let s = string(name, "first", &a[0])?;
            limit(name, s)?;
            Ok(Value::String(base64_encode(s.as_bytes())))
        }
        Function::Base64Decode => {
            let s = string(name, "first", &a[0])?;
            limit(name, s)?;
            let bytes = base64_decode(s)
                .ok_or_else(|| format!("The argument '{s}' of {name} is not valid Base64"))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Function::Hash => {
            let data = match &*a[0] {
                Value::String(s) => s.clone(),
                Value::Null => {
                    return Err(format!("The first argument of {name} must not be null"))
                }
                other => java::json(other),
            };
            limit(name, &data)?;
            let alg = string(name, "second", &a[1])?;
            let b = data.as_bytes();
            let digest: Vec<u8> = match alg {
                "MD5" => Md5::digest(b).to_vec(),
                "SHA-1" => Sha1::digest(b).to_vec(),
                "SHA-256" => Sha256::digest(b).to_vec(),
                "SHA-384" => Sha384::digest(b).to_vec(),
                "SHA-512" => Sha512::digest(b).to_vec(),
                other => {
                    return Err(format!(
                        "The hashing algorithm '{other}' of {name} is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                    ))
                }
            };
            Ok(Value::String(
                digest.iter().map(|b| format!("{b:02x}")).collect(),
            ))
        }
        Function::JsonMerge => {
            match &*a[2] {
                Value::Bool(false) => {}
                Value::Bool(true) => {
                    return Err(format!(
                        "{name} supports only shallow merging: the third argument must be false"
                    ))
                }
                _ => return Err(format!("The third argument of {name} must be a boolean")),
            }
            let second = a.swap_remove(1).into_owned();
            let first = a.swap_remove(0).into_owned();
            match (first, second) {
                (Value::Object(mut x), Value::Object(y)) => {
                    for (k, v) in y {
                        x.insert(k, v);
                    }
                    Ok(Value::Object(x))
                }
                _ => Err(format!(
                    "The first two arguments of {name} must be JSON objects"
                )),
            }
        }
        Function::MathRandom => {
            let start = rounded(name, "first", &a[0])?;
            let end = rounded(name, "second", &a[1])?;
            if start >= end {
                return Err(format!(
                    "The start value {start} of {name} must be less than the end value {end}"
                ));
            }
            let span = end - start + 1;
            let r = match a.get(2) {
                Some(seed) => {
                    let seed = rounded(name, "third", seed)?;
                    let bound = i32::try_from(span)
                        .map_err(|_| format!("The range of {name} must fit in a 32-bit integer"))?;
                    i64::from(java::JavaRandom::new(seed).next_int(bound))
                }
                None => (entropy.next_u64() % span as u64) as i64,
            };
            Ok(Value::from(start + r))
        }
        Function::MathAdd => {
            let x = rounded(name, "first", &a[0])?;
            let y = rounded(name, "second", &a[1])?;
            Ok(Value::from(x + y))
        }
        Function::StringSplit => {
            let s = string(name, "first", &a[0])?;
            let d = string(name, "second", &a[1])?;
            // java.util.StringTokenizer: every character of the delimiter splits, and empty
            // tokens are dropped.
            let delims: Vec<char> = d.chars().collect();
            Ok(Value::Array(
                s.split(|c| delims.contains(&c))
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ))
        }
        Function::Uuid => Ok(Value::String(uuid_v4(entropy))),
    }
}

fn format(ic: &Intrinsic, a: &[Cow<'_, Value>]) -> R {
    let name = ic.function.name();
    // A literal template keeps its escapes so `\{` is a brace, not a placeholder.
    let template: &str = match ic.args.first() {
        Some(Arg::Str { raw, .. }) => raw,
        _ => match &*a[0] {
            Value::String(s) => s,
            _ => return Err(format!("The first argument of {name} must be a string")),
        },
    };
    let mut out = String::new();
    let mut next = 1;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\'' | '\\' | '{' | '}')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = a.get(next).ok_or_else(|| {
                    format!(
                        "The number of arguments of {name} does not match the number of placeholders in '{template}'"
                    )
                })?;
                java::write_plain(v, &mut out);
                next += 1;
            }
            _ => out.push(c),
        }
    }
    if next != a.len() {
        return Err(format!(
            "The number of arguments of {name} does not match the number of placeholders in '{template}'"
        ));
    }
    Ok(Value::String(out))
}

fn string<'v>(name: &str, which: &str, v: &'v Value) -> Result<&'v str, String> {
    v.as_str().ok_or_else(|| {
        format!(
            "The {which} argument of {name} must be a string, but was a {}",
            crate::json_type_name(v)
        )
    })
}

fn array<'v>(name: &str, which: &str, v: &'v Value) -> Result<&'v Vec<Value>, String> {
    v.as_array().ok_or_else(|| {
        format!(
            "The {which} argument of {name} must be an array, but was a {}",
            crate::json_type_name(v)
        )
    })
}

/// An integer argument; an integral double such as `2.0` is accepted.
fn integer(name: &str, which: &str, v: &Value) -> Result<i64, String> {
    let bad = || format!("The {which} argument of {name} must be an integer, but was {v}");
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
                .ok_or_else(bad),
        },
        _ => Err(bad()),
    }
}

/// A number argument rounded as Java's `Math.round` does; MathAdd and MathRandom round
/// non-integers this way. Values must fit in a 32-bit integer.
fn rounded(name: &str, which: &str, v: &Value) -> Result<i64, String> {
    let x = match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            None => n.as_f64().map(java::round).unwrap_or(i64::MAX),
        },
        _ => {
            return Err(format!(
                "The {which} argument of {name} must be a number, but was a {}",
                crate::json_type_name(v)
            ))
        }
    };
    if i32::try_from(x).is_err() {
        return Err(format!(
            "The {which} argument of {name} must be between -2147483648 and 2147483647, but was {v}"
        ));
    }
    Ok(x)
}

fn limit(name: &str, s: &str) -> Result<(), String> {
    let n = s.encode_utf16().count();
    if n > MAX_TEXT {
        Err(format!(
            "The input of {name} has {n} characters, more than the limit of {MAX_TEXT}"
        ))
    } else {
        Ok(())
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding (`java.util.Base64.getEncoder()`).
pub(super) fn base64_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 as `java.util.Base64.getDecoder()` reads it: standard alphabet, padding optional,
/// nothing after padding, no whitespace.
pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let data_len = bytes.iter().position(|&c| c == b'=').unwrap_or(bytes.len());
    let pad = &bytes[data_len..];
    if pad.iter().any(|&c| c != b'=') || pad.len() > 2 {
        return None;
    }
    if !pad.is_empty() && !(data_len + pad.len()).is_multiple_of(4) {
        return None;
    }
    if data_len % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data_len * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in &bytes[..data_len] {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A version 4 UUID from the execution's entropy.
fn uuid_v4(entropy: &mut dyn Entropy) -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&entropy.next_u64().to_be_bytes());
    b[8..].copy_from_slice(&entropy.next_u64().to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Jackson reads the integer `-0` as `0`; serde_json keeps its sign as the float `-0.0`. Writes
/// each `-0` number token (outside strings, with no fraction or exponent) as `0`.
fn without_integer_negative_zero(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("-0") {
        return std::borrow::Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'-'
            && b.get(i + 1) == Some(&b'0')
            && !b
                .get(i + 2)
                .is_some_and(|n| n.is_ascii_digit() || matches!(n, b'.' | b'e' | b'E'))
        {
            out.push('0');
            i += 2;
            continue;
        }
        // Copy whole UTF-8 sequences: only ASCII bytes are ever inspected above.
        let len = match c {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        out.push_str(&text[i..(i + len).min(text.len())]);
        i += len;
    }
    std::borrow::Cow::Owned(out)
}
