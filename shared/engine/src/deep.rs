//! JSON text of any nesting depth, read and written without overflowing the stack.
//!
//! Step Functions takes any valid JSON up to 256 KiB as an execution's input, and a state's
//! output can nest as deep as its payload limit allows: `[[[…]]]` of 256 KiB is 131,072 levels.
//! serde_json refuses to read past 128 levels by default and recurses on the thread's stack when
//! it reads or writes, so what the engine produced could be written and then not read back.
//! These functions lift the limit and move the recursion onto heap-allocated stack segments
//! (`serde_stacker`) once the thread's own stack runs low: whatever was written can be read.
//!
//! Cloning, comparing and dropping a [`serde_json::Value`] recurse too; a process that holds
//! deep values runs them on threads of [`STACK_SIZE`] (`stepwise serve` does), and
//! [`on_big_stack`] gives one synchronous call the same room anywhere else.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Stack left below which reading or writing continues on a new segment.
const RED_ZONE: usize = 256 * 1024;
/// The size of each new segment.
const SEGMENT: usize = 16 * 1024 * 1024;

/// A stack on which every operation on a value the payload limits allow fits, in an
/// unoptimized build too (cloning a 131,072-level array takes about 1.6 KiB a level there).
/// Only the pages a deep value touches are ever committed.
pub const STACK_SIZE: usize = 512 * 1024 * 1024;

/// Parses JSON text of any depth into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    from_slice(text.as_bytes())
}

/// Parses JSON bytes of any depth into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {}
        shallow => return shallow,
    }
    // Past 128 levels. Read through `io::Read`, which keeps the position as it goes: the slice
    // reader recomputes it from the start at every level an error unwinds through, which made
    // a 200,000-level unclosed `[[[…` take minutes.
    let mut de = serde_json::Deserializer::from_reader(bytes);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer {
        de: &mut de,
        red_zone: RED_ZONE,
        stack_size: SEGMENT,
    })?;
    de.end()?;
    Ok(value)
}

/// Turns a [`Value`] of any depth into `T`.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(serde_stacker::Deserializer {
        de: value,
        red_zone: RED_ZONE,
        stack_size: SEGMENT,
    })
}

/// Writes `value` as compact JSON text, at any depth.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    // serde_stacker's serializer grows the stack inside arrays but not inside objects, so the
    // whole write runs where a payload's deepest value fits.
    on_big_stack(|| serde_json::to_string(value))
}

/// Writes a [`Value`] as compact JSON text, at any depth, exactly as `serde_json::to_string`
/// does. Unlike [`to_string`] it needs no big stack up front: each array or object level checks
/// the room left and continues on a new segment only when the thread's stack runs low, so a
/// shallow value (nearly every payload) costs no more than a plain write. Setting up a big
/// stack for every write was most of the engine's time per state transition. Written here, not
/// through serde: every state's output is written once for its history, and serde_json's
/// writer spent ~150 instructions on each short key or string (W1: 0.8k of 5.7k a transition).
pub fn value_to_string(value: &Value) -> String {
    // As serde_json starts: most outputs fit without growing.
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

/// The number of UTF-8 bytes of [`value_to_string`]'s text, without building it.
pub fn text_len(value: &Value) -> usize {
    let mut n = Count(0);
    write_value(&mut n, value);
    n.0
}

/// A string as [`value_to_string`] writes it (quoted and escaped), as an object's key too.
pub fn str_to_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_str(&mut out, text);
    out
}

/// Where [`write_value`] puts text: a string, or a count of its bytes.
trait Sink {
    fn put(&mut self, text: &str);
    fn put_byte(&mut self, ascii: u8);
}

impl Sink for String {
    #[inline]
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
    #[inline]
    fn put_byte(&mut self, ascii: u8) {
        self.push(char::from(ascii));
    }
}

struct Count(usize);

impl Sink for Count {
    #[inline]
    fn put(&mut self, text: &str) {
        self.0 += text.len();
    }
    #[inline]
    fn put_byte(&mut self, _: u8) {
        self.0 += 1;
    }
}

fn write_value(out: &mut impl Sink, value: &Value) {
    match value {
        Value::Null => out.put("null"),
        Value::Bool(true) => out.put("true"),
        Value::Bool(false) => out.put("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => stacker::maybe_grow(RED_ZONE, SEGMENT, || {
            out.put_byte(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put_byte(b',');
                }
                write_value(out, item);
            }
            out.put_byte(b']');
        }),
        Value::Object(map) => stacker::maybe_grow(RED_ZONE, SEGMENT, || {
            out.put_byte(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.put_byte(b',');
                }
                write_str(out, key);
                out.put_byte(b':');
                write_value(out, item);
            }
            out.put_byte(b'}');
        }),
    }
}

/// A number as serde_json writes it: integers with itoa, as it does; a float through
/// serde_json itself (its float format; rare in payloads).
fn write_number(out: &mut impl Sink, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        out.put(itoa::Buffer::new().format(u));
    } else if let Some(i) = n.as_i64() {
        out.put(itoa::Buffer::new().format(i));
    } else {
        out.put(&n.to_string());
    }
}

/// What a byte of a string is written as: 0 itself, `u` as `\u00XX`, else `\` and that byte
/// (serde_json's escapes).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

fn write_str(out: &mut impl Sink, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_byte(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[b as usize];
        if escape == 0 {
            continue;
        }
        // Escaped bytes are ASCII: the slices end on character boundaries.
        if start < i {
            out.put(&text[start..i]);
        }
        out.put_byte(b'\\');
        if escape == b'u' {
            out.put("u00");
            out.put_byte(HEX[(b >> 4) as usize]);
            out.put_byte(HEX[(b & 0xF) as usize]);
        } else {
            out.put_byte(escape);
        }
        start = i + 1;
    }
    if start < bytes.len() {
        out.put(&text[start..]);
    }
    out.put_byte(b'"');
}

/// `value` as a [`Value`], at any depth.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    on_big_stack(|| serde_json::to_value(value))
}

/// Runs `f` with at least half of [`STACK_SIZE`] of stack left: directly on a thread started
/// with [`STACK_SIZE`], else on a new stack segment of that size (only the pages `f` touches
/// are committed). For a synchronous call that writes, clones, compares or drops values that
/// may be deep.
pub fn on_big_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(STACK_SIZE / 2, STACK_SIZE, f)
}

/// How deeply `value` nests (a scalar is 0, `[]` is 1), counted without recursion.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize, object: bool) -> String {
        if object {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        } else {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
    }

    /// Reads and writes back what serde_json's defaults refuse (128 levels) and what a 256 KiB
    /// payload can hold (131,072 levels), on a thread of the test harness's own (small) stack.
    #[test]
    fn reads_and_writes_any_depth_a_payload_can_hold() {
        for (depth, object) in [
            (129, false),
            (10_000, true),
            (43_690, true),
            (131_072, false),
        ] {
            let text = nested(depth, object);
            assert!(serde_json::from_str::<Value>(&text).is_err() || depth < 128);
            let value: Value = from_str(&text).expect("deep text parses");
            assert_eq!(self::depth(&value), depth);
            let back = to_string(&value).expect("deep value writes");
            assert_eq!(back, text);
            assert_eq!(value_to_string(&value), text);
            assert_eq!(text_len(&value), text.len());
            let as_value = to_value(&value).expect("to_value");
            let again: Value = from_value(as_value).expect("from_value");
            on_big_stack(move || {
                assert!(again == value);
                drop(again);
                drop(value);
            });
        }
    }

    /// The engine's own writer gives serde_json's text, byte for byte, and its length: every
    /// escape, integers at both ends, floats, keys in their order, empty containers.
    #[test]
    fn values_are_written_as_serde_json_writes_them() {
        let every_control: String = (0u8..0x20).map(char::from).collect();
        let cases = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(0),
            serde_json::json!(-1),
            serde_json::json!(i64::MIN),
            serde_json::json!(u64::MAX),
            serde_json::json!(1.5),
            serde_json::json!(-0.0),
            serde_json::json!(1e300),
            serde_json::json!(5e-324),
            serde_json::json!(0.1),
            serde_json::json!(123456789.125),
            serde_json::json!(""),
            serde_json::json!("plain"),
            serde_json::json!("quote \" and back\\slash / \u{7f}"),
            serde_json::json!(every_control),
            serde_json::json!("\u{8}\u{c}\n\r\t end"),
            serde_json::json!("ünïcødé \u{1F600} 漢字 \u{2028}"),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!([[], {}, [[]], {"": {}}]),
            serde_json::json!({"z": 1, "a": [1, "two", null, {"k\"ey": false}], "m": {"n": 2.25}}),
            serde_json::json!({"n": 100, "tag": "s99", "keep": {"a": [1, 2, 3]}}),
        ];
        for value in cases {
            let want = serde_json::to_string(&value).expect("serde writes it");
            assert_eq!(value_to_string(&value), want);
            assert_eq!(text_len(&value), want.len(), "{want}");
            if let Value::String(s) = &value {
                assert_eq!(str_to_string(s), want);
            }
        }
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        for text in ["[", "[1,]", "{\"a\":}", "[[[[", "]", "1 2", ""] {
            assert!(from_str::<Value>(text).is_err(), "{text}");
        }
        assert!(from_str::<Value>(&"[".repeat(200_000)).is_err());
    }
}
