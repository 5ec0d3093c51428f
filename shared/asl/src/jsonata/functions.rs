//! The JSONata functions Step Functions adds (`$partition`, `$range`, `$hash`, `$random`,
//! `$uuid`, `$parse`) and the deterministic replacements for the impure built-ins (`$millis`,
//! `$eval`).
//!
//! Each function receives its arguments already evaluated; `JValue::Undefined` stands for an
//! argument that evaluated to nothing.

use std::cell::RefCell;
use std::rc::Rc;

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The largest array `$range` and `$partition` build (AWS's `States.ArrayRange` limit is 1000
/// items; JSONata's own range operator allows 10,000,000; this bounds memory).
pub(crate) const MAX_GENERATED_ITEMS: i128 = 1_000_000;

/// A signature mismatch, worded as jsonata-js words T0410.
fn signature_error(index: usize, function: &str) -> EvaluatorError {
    EvaluatorError::TypeError(format!(
        "T0410: Argument {index} of function \"{function}\" does not match function signature"
    ))
}

fn runtime_error(message: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(message.into())
}

/// Checks the argument count against `max`, as jsonata-js signatures do (one too many is a
/// T0410 on the first extra argument).
fn check_arity(args: &[JValue], max: usize, function: &str) -> Result<(), EvaluatorError> {
    if args.len() > max {
        return Err(signature_error(max + 1, function));
    }
    Ok(())
}

/// A deterministic pseudo-random generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)` with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Randomness shared by `$random` and `$uuid` during one evaluation; `None` until seeded from
/// the caller's [`crate::Entropy`].
pub(crate) type SharedRng = Rc<RefCell<Option<SplitMix64>>>;

fn draw(rng: &SharedRng) -> Result<u64, EvaluatorError> {
    rng.borrow_mut()
        .as_mut()
        .map(SplitMix64::next_u64)
        .ok_or_else(|| runtime_error("no entropy available for this evaluation"))
}

/// `$partition(array, size)`: the array cut into chunks of `size` items (the last may be
/// shorter). A non-array value counts as a one-item array, as with JSONata's `<a>` parameters.
pub(crate) fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 2, "partition")?;
    let array = args.first().unwrap_or(&JValue::Undefined);
    let size = args.get(1).unwrap_or(&JValue::Undefined);
    let items: Vec<JValue> = match array {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        v if v.is_function() => return Err(signature_error(1, "partition")),
        other => vec![other.clone()],
    };
    let size = match size {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Number(n) => *n,
        _ => return Err(signature_error(2, "partition")),
    };
    if !size.is_finite() || size.fract() != 0.0 || size < 1.0 {
        return Err(runtime_error(format!(
            "The chunk size of function \"partition\" must be a positive integer, but was {}",
            number_text(size)
        )));
    }
    let size = if size > items.len().max(1) as f64 {
        items.len().max(1)
    } else {
        size as usize
    };
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|chunk| JValue::array(chunk.to_vec()))
            .collect(),
    ))
}

/// `$range(start, end, step)`: the numbers from `start` to `end` inclusive, `step` apart.
/// Arguments are truncated to integers; a one-item result is that item, an empty one is
/// undefined (JSONata's sequence rules).
pub(crate) fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 3, "range")?;
    for (index, value) in args.iter().enumerate() {
        if !value.is_number() && !value.is_undefined() {
            return Err(signature_error(index + 1, "range"));
        }
    }
    if args.len() < 3 || args.iter().any(JValue::is_undefined) {
        return Ok(JValue::Undefined);
    }
    let mut bounds = [0i128; 3];
    for (slot, value) in bounds.iter_mut().zip(args) {
        let n = value.as_f64().unwrap_or(f64::NAN).trunc();
        if !n.is_finite() || n.abs() > 9_007_199_254_740_992.0 {
            return Err(runtime_error(format!(
                "The arguments of function \"range\" must be finite integers, but got {}",
                number_text(n)
            )));
        }
        *slot = n as i128;
    }
    let [start, end, step] = bounds;
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(JValue::Undefined);
    }
    let count = (end - start).abs() / step.abs() + 1;
    if count > MAX_GENERATED_ITEMS {
        return Err(runtime_error(format!(
            "D2014: The size of the sequence allocated by the range operator (function \"range\") must not exceed {MAX_GENERATED_ITEMS}, attempted to allocate {count}"
        )));
    }
    if count == 1 {
        return Ok(JValue::from(start as i64));
    }
    Ok(JValue::array(
        (0..count)
            .map(|index| JValue::from((start + index * step) as i64))
            .collect(),
    ))
}

/// `$hash(value, algorithm)`: the lowercase hex digest of a string with MD5, SHA-1, SHA-256,
/// SHA-384 or SHA-512.
pub(crate) fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 2, "hash")?;
    let data = match args.first().unwrap_or(&JValue::Undefined) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s.clone(),
        _ => return Err(signature_error(1, "hash")),
    };
    let algorithm = match args.get(1).unwrap_or(&JValue::Undefined) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s.clone(),
        _ => return Err(signature_error(2, "hash")),
    };
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match &*algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(runtime_error(format!(
                "The hash algorithm '{other}' of function \"hash\" is not supported. Supported algorithms: MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )))
        }
    };
    Ok(JValue::from(hex(&digest)))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// `$random([seed])`: a number in `[0, 1)`; with an integer seed, always the same number for
/// that seed; without, drawn from the evaluation's entropy.
pub(crate) fn random(args: &[JValue], rng: &SharedRng) -> Result<JValue, EvaluatorError> {
    check_arity(args, 1, "random")?;
    match args.first() {
        None | Some(JValue::Undefined) => {
            let bits = draw(rng)?;
            Ok(JValue::Number((bits >> 11) as f64 / (1u64 << 53) as f64))
        }
        Some(JValue::Number(seed)) => {
            if !seed.is_finite() || seed.fract() != 0.0 {
                return Err(runtime_error(format!(
                    "The seed of function \"random\" must be an integer, but was {}",
                    number_text(*seed)
                )));
            }
            let mut generator = SplitMix64::new((*seed as i64) as u64);
            Ok(JValue::Number(generator.next_f64()))
        }
        Some(_) => Err(signature_error(1, "random")),
    }
}

/// `$uuid()`: a version 4 UUID drawn from the evaluation's entropy.
pub(crate) fn uuid(args: &[JValue], rng: &SharedRng) -> Result<JValue, EvaluatorError> {
    check_arity(args, 0, "uuid")?;
    let high = draw(rng)?;
    let low = draw(rng)?;
    Ok(JValue::from(format_uuid_v4(high, low)))
}

/// Formats 128 random bits as a version 4, variant 1 UUID.
pub(crate) fn format_uuid_v4(high: u64, low: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `$parse(json)`: the JSON value a string holds.
pub(crate) fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity(args, 1, "parse")?;
    let text = match args.first().unwrap_or(&JValue::Undefined) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s.clone(),
        _ => return Err(signature_error(1, "parse")),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        runtime_error(format!(
            "The argument of function \"parse\" is not a valid JSON string: {e}"
        ))
    })?;
    if depth_exceeds(&value, super::MAX_VALUE_DEPTH) {
        return Err(runtime_error(
            "The argument of function \"parse\" is nested too deeply",
        ));
    }
    Ok(JValue::from(value))
}

/// Whether `value` nests deeper than `limit` levels (iterative, so it cannot overflow).
pub(crate) fn depth_exceeds(value: &serde_json::Value, limit: usize) -> bool {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > limit {
            return true;
        }
        match v {
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            serde_json::Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    false
}

/// `$millis()` fixed at the evaluation's clock reading (the state's entered time), so
/// evaluation stays pure; `$now()` is rewritten to `$fromMillis($millis(), ...)`.
pub(crate) fn millis(args: &[JValue], now_millis: Option<i64>) -> Result<JValue, EvaluatorError> {
    check_arity(args, 0, "millis")?;
    now_millis
        .map(JValue::from)
        .ok_or_else(|| runtime_error("The current time is not available to this expression"))
}

/// `$eval` is not available in Step Functions (use `$parse`).
pub(crate) fn eval_unsupported(_args: &[JValue]) -> Result<JValue, EvaluatorError> {
    Err(runtime_error(
        "The function \"eval\" is not supported by Step Functions; use $parse instead",
    ))
}

/// A number as JavaScript prints it (integers without a fraction).
fn number_text(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i128)
    } else {
        format!("{n}")
    }
}
