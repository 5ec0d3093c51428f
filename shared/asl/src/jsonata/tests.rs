use super::*;
use serde_json::json;

struct Counter(u64);
impl Entropy for Counter {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x1234_5678_9abc_def1);
        self.0
    }
}

fn states(input: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "states".into(),
        json!({"input": input, "context": {"State": {"EnteredTime": "2024-01-02T03:04:05.678Z"}}}),
    );
    m
}

fn eval(expr: &str) -> Result<Option<Value>, EvalError> {
    evaluate(expr, &states(json!({})), &mut Counter(1))
}

#[test]
fn probe() {
    for e in [
        "1+1",
        "$states.input",
        "[1..5]",
        "$range(0,9,3)",
        "$now()",
        "$millis()",
        "$eval('1')",
        "$uuid()",
        "$random()",
        "$random(3)",
        "$hash('a','MD5')",
        "$partition([1,2,3],2)",
        "$parse('{\"a\":1}')",
        "$",
        "foo",
        "1.5",
        "[]",
        "{}",
        "function($x){$x}",
        "$states.input.missing",
        "$exists(null)",
    ] {
        println!("{e} => {:?}", eval(e));
    }
}
