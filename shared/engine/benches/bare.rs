//! The floor the engine is measured against: for each workload, a hand-written serde_json loop
//! that does the same data work per transition with no interpreter (the same path reads, the
//! same values built). With `History::Text` it also renders what AWS records per state (its input
//! and output as JSON text) and keeps it, as an engine that renders history eagerly would; with
//! `History::None` it only does the data work.

use serde_json::{json, Map, Value};

/// What the loop does about history.
#[derive(Clone, Copy, PartialEq)]
pub enum History {
    /// Data work only.
    None,
    /// Also each state's input and output as JSON text, kept.
    Text,
}

struct Recorder {
    mode: History,
    texts: Vec<String>,
}

impl Recorder {
    fn new(mode: History) -> Self {
        Recorder {
            mode,
            texts: Vec::new(),
        }
    }
    /// A state's StateEntered (its input) or StateExited (its output).
    fn record(&mut self, v: &Value) {
        if self.mode == History::Text {
            self.texts
                .push(serde_json::to_string(v).unwrap_or_default());
        }
    }
    /// An event with small details of its own (MapIterationStarted, ...).
    fn small(&mut self, name: &str, index: usize) {
        if self.mode == History::Text {
            self.texts
                .push(format!("{{\"name\":\"{name}\",\"index\":{index}}}"));
        }
    }
}

fn add(v: &Value, k: &str, n: i64) -> Value {
    Value::from(v.get(k).and_then(Value::as_i64).unwrap_or(0) + n)
}

/// Runs the loop of the workload named `name` (its directory's name) on `input`; `None` for a
/// workload it has no loop for.
pub fn run(name: &str, input: &Value, mode: History) -> Option<Value> {
    let mut h = Recorder::new(mode);
    let out = match name.split('-').next()? {
        "W1" => w1(input, &mut h),
        "W2" => w2(input, &mut h),
        "W3" | "W3b" => w3(input, &mut h),
        "W4" => w4(input, &mut h),
        "W5" => w5(input, &mut h),
        "W6" => w6(input, &mut h),
        "W7" => w7(input, &mut h),
        _ => return None,
    };
    std::hint::black_box(&h.texts);
    Some(out)
}

/// 100 Pass states: `{"n.$": "States.MathAdd($.n, 1)", "tag": "sK", "keep.$": "$.keep"}`.
fn w1(input: &Value, h: &mut Recorder) -> Value {
    let mut v = input.clone();
    for k in 0..100 {
        h.record(&v);
        let out = json!({
            "n": add(&v, "n", 1),
            "tag": format!("s{k}"),
            "keep": v.get("keep").cloned().unwrap_or(Value::Null),
        });
        h.record(&out);
        v = out;
    }
    v
}

/// Inc (`{"i.$": "States.MathAdd($.i, 1)"}`) and Check (`$.i < 1000`) 1,000 times, then Done.
fn w2(input: &Value, h: &mut Recorder) -> Value {
    let mut v = input.clone();
    loop {
        h.record(&v);
        let out = json!({ "i": add(&v, "i", 1) });
        h.record(&out);
        v = out;
        h.record(&v);
        let again = v
            .get("i")
            .and_then(Value::as_f64)
            .is_some_and(|i| i < 1000.0);
        h.record(&v);
        if !again {
            break;
        }
    }
    h.record(&v);
    h.record(&v);
    v
}

/// A Map over `$.items`: ItemSelector `{x: item, idx: index}`, then one Pass
/// `{"y.$": "States.MathAdd($.x, 1)", "i.$": "$.idx"}` per item.
fn w3(input: &Value, h: &mut Recorder) -> Value {
    h.record(input);
    let items = input
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut results = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        h.small("M", i);
        let sel = json!({ "x": item, "idx": i });
        h.record(&sel);
        let out = json!({ "y": add(&sel, "x", 1), "i": sel.get("idx").cloned() });
        h.record(&out);
        h.small("M", i);
        results.push(out);
    }
    let out = Value::Array(results);
    h.record(&out);
    out
}

/// A Parallel of 10 branches of 10 Pass states `{"b": B, "k": K, "v.$": "$.v"}`.
fn w4(input: &Value, h: &mut Recorder) -> Value {
    h.record(input);
    let mut branches: Vec<Value> = vec![input.clone(); 10];
    for k in 0..10 {
        for (b, v) in branches.iter_mut().enumerate() {
            h.record(v);
            let out = json!({ "b": b, "k": k, "v": v.get("v").cloned() });
            h.record(&out);
            *v = out;
        }
    }
    let out = Value::Array(branches);
    h.record(&out);
    out
}

/// 50 Pass states of intrinsics.
fn w5(input: &Value, h: &mut Recorder) -> Value {
    let mut v = input.clone();
    for _ in 0..50 {
        h.record(&v);
        let name = v.get("name").cloned().unwrap_or(Value::Null);
        let n = v.get("n").cloned().unwrap_or(Value::Null);
        let greeting = format!(
            "Hello {} #{}",
            name.as_str().unwrap_or_default(),
            n.as_i64().unwrap_or(0)
        );
        let obj = v.get("obj").cloned().unwrap_or(Value::Null);
        let round: Value = serde_json::from_str(&serde_json::to_string(&obj).unwrap_or_default())
            .unwrap_or(Value::Null);
        let extra = v.get("extra").cloned().unwrap_or(Value::Null);
        let mut merged = obj.as_object().cloned().unwrap_or_default();
        for (k, x) in extra.as_object().into_iter().flatten() {
            merged.insert(k.clone(), x.clone());
        }
        let arr = Value::Array(vec![n.clone(), n.clone(), n.clone()]);
        let len = arr.as_array().map_or(0, Vec::len);
        let parts: Vec<Value> = "a,b,c,d".split(',').map(Value::from).collect();
        let mut out = Map::new();
        out.insert("name".into(), name);
        out.insert("n".into(), add(&v, "n", 1));
        out.insert("greeting".into(), Value::String(greeting));
        out.insert("round".into(), round);
        out.insert("obj".into(), Value::Object(merged));
        out.insert("extra".into(), extra);
        out.insert("len".into(), Value::from(len));
        out.insert("parts".into(), Value::Array(parts));
        let out = Value::Object(out);
        h.record(&out);
        v = out;
    }
    v
}

/// 100 rounds of a Parallel whose one branch fails (caught into `$.err`), Inc and Check.
fn w6(input: &Value, h: &mut Recorder) -> Value {
    let mut v = input.clone();
    loop {
        h.record(&v); // Try entered
        h.record(&v); // Boom entered
        let err = json!({ "Error": "Boom", "Cause": "planned" });
        let mut caught = v.clone();
        if let Value::Object(m) = &mut caught {
            m.insert("err".into(), err);
        }
        h.record(&caught); // Try exited
        h.record(&caught); // Inc entered
        let out = json!({
            "i": add(&caught, "i", 1),
            "last": caught.get("err").and_then(|e| e.get("Error")).cloned(),
        });
        h.record(&out);
        v = out;
        h.record(&v);
        let again = v
            .get("i")
            .and_then(Value::as_f64)
            .is_some_and(|i| i < 100.0);
        h.record(&v);
        if !again {
            break;
        }
    }
    h.record(&v);
    h.record(&v);
    v
}

/// 50 Pass states `{"InputPath": "$", "Result": K, "ResultPath": "$.step"}` on a ~230 KB input.
fn w7(input: &Value, h: &mut Recorder) -> Value {
    let mut v = input.clone();
    for k in 0..50 {
        h.record(&v);
        if let Value::Object(m) = &mut v {
            m.insert("step".into(), Value::from(k));
        }
        h.record(&v);
    }
    v
}
