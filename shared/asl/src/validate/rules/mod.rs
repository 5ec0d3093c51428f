//! The checks themselves, over the duplicate-preserving tree from [`super::json`].

use super::json::{Json, Node};
use super::{
    resource, Diagnostic, DUPLICATE_STATE_NAME, INVALID_JSON_DESCRIPTION, INVALID_RESOURCE,
    INVALID_STATE_NAME, MISSING_END_STATE, MISSING_TRANSITION_TARGET, SCHEMA_VALIDATION_FAILED,
};
use crate::choice::{operator, OperandType, Operator};
use crate::{intrinsics, jsonata, jsonpath};
use std::collections::{HashMap, HashSet, VecDeque};

mod handlers;
mod map_io;
mod states;

/// Longest state name Step Functions accepts.
const MAX_STATE_NAME: usize = 80;
/// Longest Map `Label`.
const MAX_LABEL: usize = 40;
/// Largest value of the integer timing fields.
const MAX_SECONDS: i64 = 99_999_999;

/// Which query language a state uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ql {
    JsonPath,
    Jsonata,
}

impl Ql {
    fn name(self) -> &'static str {
        match self {
            Ql::JsonPath => "JSONPath",
            Ql::Jsonata => "JSONata",
        }
    }
}

/// Which kind of state list a machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Machine {
    Root,
    Branch,
    Processor,
}

const STATE_TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// The fields each state type accepts: (in both languages, JSONPath only, JSONata only).
fn fields_of(
    ty: &str,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    match ty {
        "Pass" => (
            &["Next", "End", "Assign"],
            &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "Result",
                "ResultPath",
            ],
            &["Output"],
        ),
        "Task" => (
            &[
                "Next",
                "End",
                "Assign",
                "Resource",
                "TimeoutSeconds",
                "HeartbeatSeconds",
                "Retry",
                "Catch",
                "Credentials",
            ],
            &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "TimeoutSecondsPath",
                "HeartbeatSecondsPath",
            ],
            &["Arguments", "Output"],
        ),
        "Choice" => (
            &["Choices", "Default", "Assign"],
            &["InputPath", "OutputPath"],
            &["Output"],
        ),
        "Wait" => (
            &["Next", "End", "Assign", "Seconds", "Timestamp"],
            &["InputPath", "OutputPath", "SecondsPath", "TimestampPath"],
            &["Output"],
        ),
        "Succeed" => (&[], &["InputPath", "OutputPath"], &["Output"]),
        "Fail" => (&["Error", "Cause"], &["ErrorPath", "CausePath"], &[]),
        "Parallel" => (
            &["Next", "End", "Assign", "Branches", "Retry", "Catch"],
            &[
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
            ],
            &["Arguments", "Output"],
        ),
        "Map" => (
            &[
                "Next",
                "End",
                "Assign",
                "Iterator",
                "ItemProcessor",
                "ItemReader",
                "ItemSelector",
                "ItemBatcher",
                "ResultWriter",
                "MaxConcurrency",
                "ToleratedFailurePercentage",
                "ToleratedFailureCount",
                "Label",
                "Retry",
                "Catch",
            ],
            &[
                "InputPath",
                "OutputPath",
                "ItemsPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "MaxConcurrencyPath",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCountPath",
            ],
            &["Items", "Output"],
        ),
        _ => (&[], &[], &[]),
    }
}

/// Runs every check on a parsed definition.
pub fn check(root: &Node) -> Vec<Diagnostic> {
    let mut c = Checker::default();
    c.duplicate_keys(root, "", false);
    c.root(root);
    c.diags
}

#[derive(Default)]
struct Checker {
    diags: Vec<Diagnostic>,
    /// Every state name seen so far in the whole definition.
    names: HashSet<String>,
}

fn join(loc: &str, field: &str) -> String {
    format!("{loc}/{field}")
}

/// Is `s` an RFC 3339 timestamp as Step Functions reads them?
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b'T' || b[10] == b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    let shape = match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    // The shape is not enough: month 13 or hour 25 is refused too.
    shape && crate::choice::timestamp::parse(s).is_some()
}

/// A `{% ... %}` string's expression, or `None` when the string is not one.
fn jsonata_expr(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}")
}

impl Checker {
    fn err(&mut self, code: &str, message: impl Into<String>, location: impl Into<String>) {
        // AWS names the definition's root `/`.
        let mut location = location.into();
        if location.is_empty() {
            location.push('/');
        }
        self.diags.push(Diagnostic::error(code, message, location));
    }

    fn schema(&mut self, message: impl Into<String>, location: impl Into<String>) {
        self.err(SCHEMA_VALIDATION_FAILED, message, location);
    }

    // ---------------------------------------------------------------- JSON-level

    /// Reports members repeated in one object. Repeats inside a `States` object are duplicate
    /// state names.
    fn duplicate_keys(&mut self, node: &Node, loc: &str, in_states: bool) {
        match &node.value {
            Json::Obj(members) => {
                let mut seen = HashSet::new();
                for (k, v) in members {
                    if !seen.insert(k.as_str()) {
                        if in_states {
                            self.err(
                                DUPLICATE_STATE_NAME,
                                format!("Duplicate State name: '{k}'"),
                                join(loc, k),
                            );
                        } else {
                            self.err(
                                INVALID_JSON_DESCRIPTION,
                                format!(
                                    "Duplicate field '{k}' at (line {}, column {})",
                                    v.line, v.column
                                ),
                                loc.to_string(),
                            );
                        }
                    }
                    self.duplicate_keys(v, &join(loc, k), k == "States" && !in_states);
                }
            }
            Json::Arr(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.duplicate_keys(v, &join(loc, &i.to_string()), false);
                }
            }
            _ => {}
        }
    }

    // ---------------------------------------------------------------- generic field helpers

    fn expect_string<'a>(&mut self, node: &'a Node, field: &str, loc: &str) -> Option<&'a str> {
        match node.as_str() {
            Some(s) => Some(s),
            None => {
                self.schema(
                    format!("The value for the field '{field}' must be a STRING"),
                    loc.to_string(),
                );
                None
            }
        }
    }

    /// An integer in `min..=max`, or (in JSONata) a `{% %}` expression.
    fn integer_field(&mut self, node: &Node, field: &str, loc: &str, min: i64, max: i64, ql: Ql) {
        if ql == Ql::Jsonata {
            if let Some(s) = node.as_str() {
                self.jsonata_string(s, field, loc, true);
                return;
            }
        }
        let kind = if min > 0 {
            "POSITIVE_INTEGER"
        } else {
            "NON_NEGATIVE_INTEGER"
        };
        // Step Functions reads these with scalar coercion: "120" is read as 120.
        let value = match &node.value {
            Json::Num(n) => n.as_i64(),
            Json::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<i64>().ok()
            }
            _ => None,
        };
        match value {
            Some(v) if v < min || v > max => self.schema(
                format!("The value for the field '{field}' must be between {min} and {max}"),
                loc.to_string(),
            ),
            Some(_) => {}
            None => self.schema(
                format!("The value for the field '{field}' must be a {kind}"),
                loc.to_string(),
            ),
        }
    }

    /// At most one of `a` and `b`.
    fn exclusive(&mut self, obj: &Node, a: &str, b: &str, loc: &str) -> bool {
        if obj.get(a).is_some() && obj.get(b).is_some() {
            self.schema(
                format!("Field '{a}' and '{b}' are mutually exclusive"),
                loc.to_string(),
            );
            return false;
        }
        true
    }

    fn unsupported(&mut self, obj: &Node, allowed: &[&str], loc: &str) {
        for (k, _) in obj.members().unwrap_or_default() {
            if !allowed.contains(&k.as_str()) {
                self.schema(format!("Field '{k}' is not supported"), loc.to_string());
            }
        }
    }

    fn required(&mut self, obj: &Node, fields: &[&str], loc: &str) -> bool {
        let missing: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| obj.get(f).is_none())
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.schema(
            format!("These fields are required: [{}]", missing.join(", ")),
            loc.to_string(),
        );
        false
    }

    fn expect_object(&mut self, node: &Node, what: &str, loc: &str) -> bool {
        if node.members().is_some() {
            return true;
        }
        self.schema(
            format!("The value for the field '{what}' must be an OBJECT"),
            loc.to_string(),
        );
        false
    }

    // ---------------------------------------------------------------- paths and expressions

    /// `InputPath`, `OutputPath`: null or any JSONPath.
    fn path_or_null(&mut self, node: &Node, field: &str, loc: &str) {
        if node.is_null() {
            return;
        }
        if let Some(s) = self.expect_string(node, field, loc) {
            if !s.starts_with('$') || jsonpath::validate(s).is_err() {
                self.schema(
                    format!("The value for the field '{field}' must be a valid JSONPath"),
                    loc.to_string(),
                );
            }
        }
    }

    /// A reference path (`ItemsPath`, `SecondsPath`, Choice `Variable`, ...).
    fn reference_path(&mut self, node: &Node, field: &str, loc: &str) {
        if let Some(s) = self.expect_string(node, field, loc) {
            if !s.starts_with('$') || jsonpath::validate_reference_path(s).is_err() {
                self.schema(
                    format!("The value for the field '{field}' must be a valid Reference Path"),
                    loc.to_string(),
                );
            }
        }
    }

    /// `ResultPath`: null or a reference path into the state input (no context, no variable).
    fn result_path(&mut self, node: &Node, loc: &str) {
        if node.is_null() {
            return;
        }
        if let Some(s) = self.expect_string(node, "ResultPath", loc) {
            let rooted = s == "$" || s.starts_with("$.") || s.starts_with("$[");
            if !rooted || jsonpath::validate_reference_path(s).is_err() {
                self.schema(
                    "The value for the field 'ResultPath' must be a valid JSONPath",
                    loc.to_string(),
                );
            }
        }
    }

    /// A reference path or an intrinsic function call (`ErrorPath`, `CausePath`).
    fn path_or_intrinsic(&mut self, node: &Node, field: &str, loc: &str) {
        if let Some(s) = self.expect_string(node, field, loc) {
            if !self.path_or_intrinsic_ok(s) {
                self.schema(
                    format!(
                        "The value for the field '{field}' must be a valid JSONPath or a valid \
                         intrinsic function call"
                    ),
                    loc.to_string(),
                );
            }
        }
    }

    fn path_or_intrinsic_ok(&self, s: &str) -> bool {
        if s.starts_with('$') {
            jsonpath::validate(s).is_ok()
        } else if intrinsics::is_intrinsic(s) {
            intrinsics::validate(s).is_ok()
        } else {
            false
        }
    }

    /// A JSONPath payload template (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath
    /// `Assign`, `Credentials`): `.$` fields must hold a path or an intrinsic, and a field may not
    /// appear both with and without `.$`.
    fn payload(&mut self, node: &Node, loc: &str) {
        match &node.value {
            Json::Obj(members) => {
                let mut seen: HashMap<&str, ()> = HashMap::new();
                for (k, v) in members {
                    let bare = k.strip_suffix(".$").unwrap_or(k);
                    if seen.insert(bare, ()).is_some() {
                        self.schema(
                            format!("The field '{bare}' is defined more than once"),
                            loc.to_string(),
                        );
                    }
                    if k.ends_with(".$") {
                        let ok = v.as_str().is_some_and(|s| self.path_or_intrinsic_ok(s));
                        if !ok {
                            self.schema(
                                format!(
                                    "The value for the field '{k}' must be a valid JSONPath or a \
                                     valid intrinsic function call"
                                ),
                                loc.to_string(),
                            );
                        }
                    } else {
                        self.payload(v, &join(loc, k));
                    }
                }
            }
            Json::Arr(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.payload(v, &join(loc, &i.to_string()));
                }
            }
            _ => {}
        }
    }

    /// A `{% %}` string in a JSONata state. `required` means the field takes only an expression
    /// when it is a string (e.g. `TimeoutSeconds`).
    fn jsonata_string(&mut self, s: &str, field: &str, loc: &str, required: bool) {
        match jsonata_expr(s) {
            Some(expr) => {
                if let Err(e) = jsonata::check_syntax(expr) {
                    self.schema(
                        format!("The value for the field '{field}' must be a valid JSONata expression: {e}"),
                        loc.to_string(),
                    );
                }
            }
            None if s.starts_with("{%") => self.schema(
                format!(
                    "The value for the field '{field}' is not a valid JSONata expression: it must \
                     end with '%}}'"
                ),
                loc.to_string(),
            ),
            None if required => self.schema(
                format!("The value for the field '{field}' must be a JSONata expression"),
                loc.to_string(),
            ),
            None => {}
        }
    }

    /// A JSONata template (`Arguments`, `Output`, JSONata `Assign`, ...): every `{% %}` string in
    /// it must parse.
    fn jsonata_template(&mut self, node: &Node, field: &str, loc: &str) {
        match &node.value {
            Json::Str(s) => self.jsonata_string(s, field, loc, false),
            Json::Obj(members) => {
                for (k, v) in members {
                    self.jsonata_template(v, k, &join(loc, k));
                }
            }
            Json::Arr(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.jsonata_template(v, field, &join(loc, &i.to_string()));
                }
            }
            _ => {}
        }
    }

    fn assign(&mut self, node: &Node, loc: &str, ql: Ql) {
        if !self.expect_object(node, "Assign", loc) {
            return;
        }
        match ql {
            Ql::JsonPath => self.payload(node, loc),
            Ql::Jsonata => self.jsonata_template(node, "Assign", loc),
        }
    }

    // ---------------------------------------------------------------- machines

    fn query_language(&mut self, node: &Node, loc: &str) -> Ql {
        match node.as_str() {
            Some("JSONPath") => Ql::JsonPath,
            Some("JSONata") => Ql::Jsonata,
            _ => {
                self.schema(
                    "The value for the field 'QueryLanguage' must be one of [JSONPath, JSONata]",
                    join(loc, "QueryLanguage"),
                );
                Ql::Jsonata
            }
        }
    }

    fn root(&mut self, root: &Node) {
        if root.members().is_none() {
            // Not an object: AWS gives no location.
            self.diags.push(Diagnostic::error(
                SCHEMA_VALIDATION_FAILED,
                "Definition must be a valid JSON object",
                "",
            ));
            return;
        }
        let top_ql = match root.get("QueryLanguage") {
            Some(q) => self.query_language(q, ""),
            None => Ql::JsonPath,
        };
        if let Some(v) = root.get("Version") {
            self.expect_string(v, "Version", "/Version");
        }
        if let Some(t) = root.get("TimeoutSeconds") {
            self.integer_field(
                t,
                "TimeoutSeconds",
                "/TimeoutSeconds",
                1,
                MAX_SECONDS,
                Ql::JsonPath,
            );
        }
        self.machine(root, "", Machine::Root, top_ql);
    }

    fn machine(&mut self, node: &Node, loc: &str, kind: Machine, top_ql: Ql) {
        if node.members().is_none() {
            self.schema("A state machine must be a JSON object", loc.to_string());
            return;
        }
        let allowed: &[&str] = match kind {
            Machine::Root => &[
                "Comment",
                "StartAt",
                "States",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
            Machine::Branch => &["Comment", "StartAt", "States"],
            Machine::Processor => &["Comment", "StartAt", "States", "ProcessorConfig"],
        };
        self.unsupported(node, allowed, loc);
        if let Some(c) = node.get("Comment") {
            self.expect_string(c, "Comment", &join(loc, "Comment"));
        }
        // AWS names them in this order.
        self.required(node, &["States", "StartAt"], loc);
        let start = node
            .get("StartAt")
            .and_then(|s| self.expect_string(s, "StartAt", &join(loc, "StartAt")));
        let Some(states_node) = node.get("States") else {
            return;
        };
        let states_loc = join(loc, "States");
        let Some(states) = states_node.members() else {
            self.schema(
                "The value for the field 'States' must be an OBJECT",
                states_loc,
            );
            return;
        };
        if states.is_empty() {
            self.schema(
                "The field 'States' must have at least one state",
                states_loc.clone(),
            );
        }

        // Each state, then the graph of this scope.
        let mut edges: Vec<(String, Vec<(String, String)>)> = Vec::new();
        let mut has_terminal = false;
        let mut local: HashSet<&str> = HashSet::new();
        for (name, state) in states {
            let state_loc = join(&states_loc, name);
            if local.insert(name.as_str()) && !self.names.insert(name.clone()) {
                self.err(
                    DUPLICATE_STATE_NAME,
                    format!("Duplicate State name: '{name}'"),
                    state_loc.clone(),
                );
            }
            if name.chars().count() > MAX_STATE_NAME {
                self.err(
                    INVALID_STATE_NAME,
                    format!(
                        "State name '{name}' is too long: it must be at most {MAX_STATE_NAME} characters"
                    ),
                    state_loc.clone(),
                );
            } else if name.is_empty() || name.chars().any(char::is_control) {
                self.err(
                    INVALID_STATE_NAME,
                    format!("State name '{name}' is not valid"),
                    state_loc.clone(),
                );
            }
            let (targets, terminal) = self.state(state, &state_loc, top_ql);
            has_terminal |= terminal;
            edges.push((name.clone(), targets));
        }

        let names: HashSet<&str> = states.iter().map(|(k, _)| k.as_str()).collect();
        if let Some(start) = start {
            if !names.contains(start) {
                self.err(
                    MISSING_TRANSITION_TARGET,
                    format!("Missing 'StartAt' target: {start}"),
                    join(loc, "StartAt"),
                );
            }
        }
        for (_, targets) in &edges {
            for (target, at) in targets {
                if !names.contains(target.as_str()) {
                    let field = at.rsplit('/').next().unwrap_or("Next");
                    self.err(
                        MISSING_TRANSITION_TARGET,
                        format!("Missing '{field}' target: {target}"),
                        at.clone(),
                    );
                }
            }
        }
        if !has_terminal && !states.is_empty() {
            self.err(
                MISSING_END_STATE,
                "Workflow has no terminal state",
                loc.to_string(),
            );
        }
        if let Some(start) = start.filter(|s| names.contains(s)) {
            let mut reached: HashSet<&str> = HashSet::new();
            let mut queue = VecDeque::from([start]);
            reached.insert(start);
            while let Some(s) = queue.pop_front() {
                if let Some((_, targets)) = edges.iter().find(|(n, _)| n == s) {
                    for (t, _) in targets {
                        if names.contains(t.as_str()) && reached.insert(t.as_str()) {
                            queue.push_back(t.as_str());
                        }
                    }
                }
            }
            let mut reported = HashSet::new();
            for (name, _) in states {
                if !reached.contains(name.as_str()) && reported.insert(name.as_str()) {
                    self.err(
                        MISSING_TRANSITION_TARGET,
                        format!("State \"{name}\" is not reachable."),
                        join(&states_loc, name),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_timestamp;

    #[test]
    fn timestamps() {
        assert!(is_timestamp("2016-03-14T01:59:00Z"));
        assert!(is_timestamp("2016-03-14T01:59:00.123+01:00"));
        assert!(!is_timestamp("2016-03-14 01:59:00Z"));
        assert!(!is_timestamp("2016-03-14T01:59:00"));
        assert!(!is_timestamp("é"));
        assert!(!is_timestamp("2016-13-05T21:29:29Z"));
        assert!(!is_timestamp("2016-12-05T25:29:29Z"));
        assert!(!is_timestamp("2016-02-30T21:29:29Z"));
    }
}
