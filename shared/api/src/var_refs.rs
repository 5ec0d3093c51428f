//! DescribeStateMachine's `variableReferences`: for each state (at any depth: the states of
//! Parallel branches and Map item processors are listed by name beside the top-level ones), the
//! variables it reads, sorted. AWS leaves the field out when no state reads a variable.
//!
//! What counts as a read, as AWS's recordings show it: in JSONPath, a `$name` path in a field
//! that takes a path (`InputPath`, `ItemsPath`, `SecondsPath`, a Choice rule's `Variable` and
//! `…Path` operands, `ErrorPath`, `MaxItemsPath`, …; never `ResultPath`), or in a `….$` field of
//! a payload template or `Assign` (a path or the arguments of an intrinsic function); a plain
//! string that looks like `$name` is a literal. In JSONata, a `$name` in a `{% … %}` expression
//! that is not a function call, `$states`, or a variable the expression binds itself.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The `variableReferences` object of a definition, or `None` when no state reads a variable
/// (or the definition is not a JSON object).
pub(crate) fn variable_references(definition: &str) -> Option<Value> {
    let def: Value = stepwise_engine::deep::from_str(definition).ok()?;
    let mut out = Map::new();
    machine(&def, &mut out);
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Every state of a machine (a definition, a branch, an item processor), and those inside.
fn machine(m: &Value, out: &mut Map<String, Value>) {
    let Some(states) = m.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, st) in states {
        let mut refs = BTreeSet::new();
        walk(st, None, &mut refs);
        if !refs.is_empty() {
            out.insert(
                name.clone(),
                Value::Array(refs.into_iter().map(Value::String).collect()),
            );
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(p) = st.get(key) {
                machine(p, out);
            }
        }
        if let Some(bs) = st.get("Branches").and_then(Value::as_array) {
            for b in bs {
                machine(b, out);
            }
        }
    }
}

/// The reads in one state's fields (not those of the states it contains, nor literal `Result`).
fn walk(v: &Value, key: Option<&str>, refs: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if matches!(
                    k.as_str(),
                    "ItemProcessor" | "Iterator" | "Branches" | "Result"
                ) {
                    continue;
                }
                walk(x, Some(k), refs);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk(x, key, refs);
            }
        }
        Value::String(s) => {
            if let Some(expr) = s
                .trim()
                .strip_prefix("{%")
                .and_then(|r| r.strip_suffix("%}"))
            {
                jsonata(expr, refs);
            } else if key.is_some_and(takes_path) {
                path(s, refs);
            }
        }
        _ => {}
    }
}

/// Whether a field's string value is a path (or an intrinsic call) rather than a literal.
fn takes_path(key: &str) -> bool {
    key.ends_with(".$") || key == "Variable" || key.ends_with("Path") && key != "ResultPath"
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `$name` reads in a path or an intrinsic call (quoted arguments skipped; `$`, `$.x`, `$$`
/// and `$[0]` are the input or the context, not variables).
fn path(s: &str, refs: &mut BTreeSet<String>) {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut quoted = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if c == '\'' {
            quoted = !quoted;
        } else if c == '$' && !quoted {
            if chars.get(i + 1) == Some(&'$') {
                i += 2;
                continue;
            }
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && ident_char(chars[end]) {
                end += 1;
            }
            if end > start {
                refs.insert(chars[start..end].iter().collect());
            }
            i = end;
            continue;
        }
        i += 1;
    }
}

/// `$name` reads in a JSONata expression: not `$name(` (a function), not `$states`, not a
/// variable bound in the expression (`$x := …`, a `function($x)` parameter).
fn jsonata(expr: &str, refs: &mut BTreeSet<String>) {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
    let mut bound = BTreeSet::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    let mut in_params = false;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' if expr[..char_offset(&chars, i)]
                .trim_end()
                .ends_with("function") =>
            {
                in_params = true;
            }
            ')' => in_params = false,
            '$' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && ident_char(chars[end]) {
                    end += 1;
                }
                if end > start {
                    let name: String = chars[start..end].iter().collect();
                    let rest: String = chars[end..].iter().collect();
                    let rest = rest.trim_start();
                    if in_params || rest.starts_with(":=") {
                        bound.insert(name);
                    } else if !rest.starts_with('(') && name != "states" {
                        found.push(name);
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    refs.extend(found.into_iter().filter(|n| !bound.contains(n)));
}

/// The byte offset of the `i`th char.
fn char_offset(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

#[cfg(test)]
mod tests {
    use super::variable_references;
    use serde_json::json;

    fn refs(def: serde_json::Value) -> Option<serde_json::Value> {
        variable_references(&def.to_string())
    }

    #[test]
    fn jsonpath_reads_are_paths_and_template_fields_not_literals() {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"result": "$lit"}, "Assign": {"r": "x"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"r.$": "$result", "f.$": "States.Format('{} $no', $name, $$.Execution.Id, $.x)"},
                  "InputPath": "$in", "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$guess", "StringEqualsPath": "$answer"}, "Next": "D"}], "Default": "D"},
            "D": {"Type": "Map", "ItemsPath": "$items", "ItemProcessor": {"StartAt": "E", "States": {
                "E": {"Type": "Fail", "ErrorPath": "$err"}}}, "End": true}}});
        assert_eq!(
            refs(def),
            Some(
                json!({"B": ["in", "name", "result"], "C": ["answer", "guess"], "D": ["items"], "E": ["err"]})
            )
        );
    }

    #[test]
    fn jsonata_reads_skip_functions_states_and_bound_names() {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Output": "{% ($y := 2; $not($states.input.a) and $x > $y and '$q' = \"$r\") %}", "End": true},
            "B": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.done %}", "Next": "A"}]}}});
        assert_eq!(refs(def), Some(json!({"A": ["x"]})));
    }

    #[test]
    fn none_when_nothing_reads_a_variable() {
        let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x.$": "$.a"}, "End": true}}});
        assert_eq!(refs(def), None);
    }
}
