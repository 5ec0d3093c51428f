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

/// Writes a [`Value`] as compact JSON text, at any depth. Unlike [`to_string`] it needs no big
/// stack up front: each array or object level checks the room left and continues on a new
/// segment only when the thread's stack runs low, so a shallow value (nearly every payload)
/// costs no more than `serde_json::to_string`. Setting up a big stack for every write was most
/// of the engine's time per state transition.
pub fn value_to_string(value: &Value) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Grown(value))
}

/// The number of UTF-8 bytes of [`value_to_string`]'s text, without building it.
pub fn text_len(value: &Value) -> Result<usize, serde_json::Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    serde_json::to_writer(&mut n, &Grown(value))?;
    Ok(n.0)
}

/// A value serialized with a stack check at each level of nesting.
struct Grown<'a>(&'a Value);

impl Serialize for Grown<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Array(items) => stacker::maybe_grow(RED_ZONE, SEGMENT, || {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Grown(item))?;
                }
                seq.end()
            }),
            Value::Object(map) => stacker::maybe_grow(RED_ZONE, SEGMENT, || {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, &Grown(v))?;
                }
                m.end()
            }),
            // Scalars written here rather than through `Value::serialize`, which the compiler
            // may leave out of line (a call per scalar).
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(text) => s.serialize_str(text),
        }
    }
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
            let grown = value_to_string(&value).expect("deep value writes");
            assert_eq!(grown, text);
            assert_eq!(text_len(&value).expect("deep value measures"), text.len());
            let as_value = to_value(&value).expect("to_value");
            let again: Value = from_value(as_value).expect("from_value");
            on_big_stack(move || {
                assert!(again == value);
                drop(again);
                drop(value);
            });
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
