//! The checks themselves, over the duplicate-preserving tree from [`super::json`].

use super::json::{Json, Node};
use super::{
    resource, Diagnostic, DUPLICATE_STATE_NAME, INVALID_JSON_DESCRIPTION, INVALID_RESOURCE,
    INVALID_STATE_NAME, MISSING_END_STATE, MISSING_TRANSITION_TARGET, SCHEMA_VALIDATION_FAILED,
};
use crate::choice::{operator, OperandType, Operator};
use crate::{intrinsics, jsonata, jsonpath};
use std::collections::{HashMap, HashSet, VecDeque};

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

    // ---------------------------------------------------------------- states

    /// Checks one state; returns its transitions (target, location of the field) and whether it
    /// is terminal.
    fn state(&mut self, node: &Node, loc: &str, top_ql: Ql) -> (Vec<(String, String)>, bool) {
        let mut targets = Vec::new();
        if node.members().is_none() {
            self.schema("A state must be a JSON object", loc.to_string());
            return (targets, true);
        }
        let Some(ty_node) = node.get("Type") else {
            self.schema("These fields are required: [Type]", loc.to_string());
            return (targets, true);
        };
        let ty = match ty_node.as_str() {
            Some(t) if STATE_TYPES.contains(&t) => t,
            _ => {
                self.schema(
                    format!(
                        "The value for the field 'Type' must be one of [{}]",
                        STATE_TYPES.join(", ")
                    ),
                    join(loc, "Type"),
                );
                return (targets, true);
            }
        };

        // Query language.
        let ql = match node.get("QueryLanguage") {
            None => top_ql,
            Some(q) => {
                let ql = self.query_language(q, loc);
                if ql == Ql::JsonPath && top_ql == Ql::Jsonata {
                    self.schema(
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                        loc.to_string(),
                    );
                }
                ql
            }
        };

        // Field set.
        let (both, jp, ja) = fields_of(ty);
        for (k, _) in node.members().unwrap_or_default() {
            let k = k.as_str();
            if matches!(k, "Type" | "Comment" | "QueryLanguage") || both.contains(&k) {
                continue;
            }
            let (mine, other) = match ql {
                Ql::JsonPath => (jp, ja),
                Ql::Jsonata => (ja, jp),
            };
            if mine.contains(&k) {
                continue;
            }
            if other.contains(&k) {
                let other_ql = match ql {
                    Ql::JsonPath => Ql::Jsonata,
                    Ql::Jsonata => Ql::JsonPath,
                };
                self.schema(
                    format!(
                        "The QueryLanguage is set to '{}', but field '{k}' is only supported for the '{}' QueryLanguage",
                        ql.name(),
                        other_ql.name()
                    ),
                    loc.to_string(),
                );
            } else {
                self.schema(format!("Field '{k}' is not supported"), loc.to_string());
            }
        }
        if let Some(c) = node.get("Comment") {
            self.expect_string(c, "Comment", &join(loc, "Comment"));
        }

        // Transitions.
        let mut terminal = matches!(ty, "Succeed" | "Fail");
        if both.contains(&"Next") {
            let next = node.get("Next");
            let end = node.get("End");
            match (next, end) {
                (Some(_), Some(_)) => self.schema(
                    "Field 'End' and 'Next' are mutually exclusive",
                    loc.to_string(),
                ),
                (None, None) => {
                    self.schema("These fields are required: [Next or End]", loc.to_string())
                }
                (None, Some(e)) => match e.value {
                    Json::Bool(true) => terminal = true,
                    Json::Bool(false) => {
                        self.schema("These fields are required: [Next or End]", loc.to_string())
                    }
                    _ => self.schema(
                        "The value for the field 'End' must be a BOOLEAN",
                        join(loc, "End"),
                    ),
                },
                (Some(_), None) => {}
            }
            if let Some(n) = next {
                let at = join(loc, "Next");
                if let Some(s) = self.expect_string(n, "Next", &at) {
                    targets.push((s.to_string(), at));
                }
            }
        }

        // Common JSONPath / JSONata fields.
        for (field, value) in node.members().unwrap_or_default() {
            let at = join(loc, field);
            match (field.as_str(), ql) {
                ("InputPath" | "OutputPath", Ql::JsonPath) => self.path_or_null(value, field, &at),
                ("ResultPath", Ql::JsonPath) => self.result_path(value, &at),
                ("Parameters", Ql::JsonPath) => self.payload(value, &at),
                ("ResultSelector", Ql::JsonPath) if self.expect_object(value, field, &at) => {
                    self.payload(value, &at)
                }
                ("Arguments" | "Output", Ql::Jsonata) => self.jsonata_template(value, field, &at),
                ("Assign", _) => self.assign(value, &at, ql),
                _ => {}
            }
        }

        match ty {
            "Task" => self.task(node, loc, ql),
            "Choice" => self.choice(node, loc, ql, &mut targets),
            "Wait" => self.wait(node, loc, ql),
            "Fail" => self.fail(node, loc, ql),
            "Parallel" => match node.get("Branches") {
                None => {
                    self.required(node, &["Branches"], loc);
                }
                Some(b) => match b.as_array() {
                    Some(branches) if !branches.is_empty() => {
                        for (i, branch) in branches.iter().enumerate() {
                            let bloc = format!("{loc}/Branches/{i}");
                            self.machine(branch, &bloc, Machine::Branch, top_ql);
                        }
                    }
                    _ => self.schema(
                        "The value for the field 'Branches' must be a non-empty ARRAY",
                        join(loc, "Branches"),
                    ),
                },
            },
            "Map" => self.map(node, loc, ql, top_ql),
            _ => {}
        }
        if matches!(ty, "Task" | "Parallel" | "Map") {
            if let Some(r) = node.get("Retry") {
                self.retry(r, &join(loc, "Retry"));
            }
            if let Some(c) = node.get("Catch") {
                self.catch(c, &join(loc, "Catch"), ql, &mut targets);
            }
        }
        (targets, terminal)
    }

    fn task(&mut self, node: &Node, loc: &str, ql: Ql) {
        if self.required(node, &["Resource"], loc) {
            let at = join(loc, "Resource");
            if let Some(r) = node
                .get("Resource")
                .and_then(|r| self.expect_string(r, "Resource", &at))
            {
                if let Err(message) = resource::check(r) {
                    self.err(INVALID_RESOURCE, message, at);
                }
            }
        }
        self.exclusive(node, "TimeoutSeconds", "TimeoutSecondsPath", loc);
        self.exclusive(node, "HeartbeatSeconds", "HeartbeatSecondsPath", loc);
        for field in ["TimeoutSeconds", "HeartbeatSeconds"] {
            if let Some(v) = node.get(field) {
                self.integer_field(v, field, &join(loc, field), 1, MAX_SECONDS, ql);
            }
        }
        for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
            if let (Some(v), Ql::JsonPath) = (node.get(field), ql) {
                self.reference_path(v, field, &join(loc, field));
            }
        }
        let int = |f: &str| {
            node.get(f)
                .and_then(|v| v.as_number())
                .and_then(|n| n.as_i64())
        };
        if let (Some(t), Some(h)) = (int("TimeoutSeconds"), int("HeartbeatSeconds")) {
            if h >= t {
                self.schema(
                    "The value for the field 'HeartbeatSeconds' must be smaller than the value for the field 'TimeoutSeconds'",
                    join(loc, "HeartbeatSeconds"),
                );
            }
        }
        if let Some(c) = node.get("Credentials") {
            let at = join(loc, "Credentials");
            if self.expect_object(c, "Credentials", &at) {
                match ql {
                    Ql::JsonPath => self.payload(c, &at),
                    Ql::Jsonata => self.jsonata_template(c, "Credentials", &at),
                }
            }
        }
    }

    fn wait(&mut self, node: &Node, loc: &str, ql: Ql) {
        let present: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .into_iter()
            .filter(|f| node.get(f).is_some())
            .collect();
        if present.len() != 1 {
            self.schema(
                "Exactly one of the fields [Seconds, Timestamp, SecondsPath, TimestampPath] is required",
                loc.to_string(),
            );
        }
        if let Some(v) = node.get("Seconds") {
            self.integer_field(v, "Seconds", &join(loc, "Seconds"), 0, MAX_SECONDS, ql);
        }
        if let Some(v) = node.get("Timestamp") {
            let at = join(loc, "Timestamp");
            if let Some(s) = self.expect_string(v, "Timestamp", &at) {
                if ql == Ql::Jsonata && s.starts_with("{%") {
                    self.jsonata_string(s, "Timestamp", &at, true);
                } else if !is_timestamp(s) {
                    self.schema("String does not match RFC3339 timestamp", at);
                }
            }
        }
        if ql == Ql::JsonPath {
            // AWS accepts any string here (e.g. "timestamp") and fails the state at run time.
            for field in ["SecondsPath", "TimestampPath"] {
                if let Some(v) = node.get(field) {
                    self.expect_string(v, field, &join(loc, field));
                }
            }
        }
    }

    fn fail(&mut self, node: &Node, loc: &str, ql: Ql) {
        self.exclusive(node, "Error", "ErrorPath", loc);
        self.exclusive(node, "Cause", "CausePath", loc);
        for field in ["Error", "Cause"] {
            if let Some(v) = node.get(field) {
                let at = join(loc, field);
                if let Some(s) = self.expect_string(v, field, &at) {
                    if ql == Ql::Jsonata {
                        self.jsonata_string(s, field, &at, false);
                    }
                }
            }
        }
        if ql == Ql::JsonPath {
            for field in ["ErrorPath", "CausePath"] {
                if let Some(v) = node.get(field) {
                    self.path_or_intrinsic(v, field, &join(loc, field));
                }
            }
        }
    }

    fn map(&mut self, node: &Node, loc: &str, ql: Ql, top_ql: Ql) {
        match (node.get("Iterator"), node.get("ItemProcessor")) {
            (Some(_), Some(_)) => {
                self.exclusive(node, "Iterator", "ItemProcessor", loc);
            }
            (None, None) => self.schema(
                "These fields are required: [ItemProcessor]",
                loc.to_string(),
            ),
            (Some(p), None) => self.processor(p, &join(loc, "Iterator"), top_ql),
            (None, Some(p)) => self.processor(p, &join(loc, "ItemProcessor"), top_ql),
        }
        if let (Some(v), Ql::JsonPath) = (node.get("ItemsPath"), ql) {
            self.reference_path(v, "ItemsPath", &join(loc, "ItemsPath"));
        }
        if let (Some(v), Ql::Jsonata) = (node.get("Items"), ql) {
            self.jsonata_template(v, "Items", &join(loc, "Items"));
        }
        if let Some(v) = node.get("ItemSelector") {
            let at = join(loc, "ItemSelector");
            if self.expect_object(v, "ItemSelector", &at) {
                match ql {
                    Ql::JsonPath => self.payload(v, &at),
                    Ql::Jsonata => self.jsonata_template(v, "ItemSelector", &at),
                }
            }
        }
        self.exclusive(node, "ItemSelector", "Parameters", loc);
        self.exclusive(node, "MaxConcurrency", "MaxConcurrencyPath", loc);
        self.exclusive(
            node,
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            loc,
        );
        self.exclusive(
            node,
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            loc,
        );
        for field in ["MaxConcurrency", "ToleratedFailureCount"] {
            if let Some(v) = node.get(field) {
                self.integer_field(v, field, &join(loc, field), 0, i64::MAX, ql);
            }
        }
        if let Some(v) = node.get("ToleratedFailurePercentage") {
            let at = join(loc, "ToleratedFailurePercentage");
            match (v.as_number(), v.as_str(), ql) {
                (Some(n), _, _) if (0.0..=100.0).contains(&n.value) => {}
                (_, Some(s), Ql::Jsonata) => {
                    self.jsonata_string(s, "ToleratedFailurePercentage", &at, true)
                }
                _ => self.schema(
                    "The value for the field 'ToleratedFailurePercentage' must be a number between 0 and 100",
                    at,
                ),
            }
        }
        if ql == Ql::JsonPath {
            for field in [
                "MaxConcurrencyPath",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentagePath",
            ] {
                if let Some(v) = node.get(field) {
                    self.reference_path(v, field, &join(loc, field));
                }
            }
        }
        if let Some(v) = node.get("Label") {
            let at = join(loc, "Label");
            if let Some(s) = self.expect_string(v, "Label", &at) {
                let bad = |c: char| {
                    c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                };
                if s.is_empty() || s.chars().count() > MAX_LABEL || s.chars().any(bad) {
                    self.schema(
                        format!(
                            "The value for the field 'Label' must be at most {MAX_LABEL} characters without whitespace, brackets, wildcards, special or control characters"
                        ),
                        at,
                    );
                }
            }
        }
        if let Some(v) = node.get("ItemReader") {
            self.item_io(v, &join(loc, "ItemReader"), ql, "ReaderConfig");
        }
        if let Some(v) = node.get("ResultWriter") {
            self.item_io(v, &join(loc, "ResultWriter"), ql, "WriterConfig");
        }
        if let Some(v) = node.get("ItemBatcher") {
            let at = join(loc, "ItemBatcher");
            if self.expect_object(v, "ItemBatcher", &at) {
                let mut allowed = vec!["BatchInput", "MaxItemsPerBatch", "MaxInputBytesPerBatch"];
                if ql == Ql::JsonPath {
                    allowed.extend(["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"]);
                }
                self.unsupported(v, &allowed, &at);
                self.exclusive(v, "MaxItemsPerBatch", "MaxItemsPerBatchPath", &at);
                self.exclusive(v, "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", &at);
                for field in ["MaxItemsPerBatch", "MaxInputBytesPerBatch"] {
                    if let Some(n) = v.get(field) {
                        self.integer_field(n, field, &join(&at, field), 1, i64::MAX, ql);
                    }
                }
                if let Some(b) = v.get("BatchInput") {
                    let bat = join(&at, "BatchInput");
                    match ql {
                        Ql::JsonPath => self.payload(b, &bat),
                        Ql::Jsonata => self.jsonata_template(b, "BatchInput", &bat),
                    }
                }
            }
        }
    }

    /// `ItemReader` / `ResultWriter`.
    fn item_io(&mut self, node: &Node, loc: &str, ql: Ql, config: &str) {
        let what = loc.rsplit('/').next().unwrap_or_default().to_string();
        if !self.expect_object(node, &what, loc) {
            return;
        }
        let args = match ql {
            Ql::JsonPath => "Parameters",
            Ql::Jsonata => "Arguments",
        };
        self.unsupported(node, &["Resource", args, config], loc);
        if what == "ItemReader" {
            self.required(node, &["Resource"], loc);
        }
        if let Some(r) = node.get("Resource") {
            self.expect_string(r, "Resource", &join(loc, "Resource"));
        }
        if let Some(p) = node.get(args) {
            match ql {
                Ql::JsonPath => self.payload(p, &join(loc, args)),
                Ql::Jsonata => self.jsonata_template(p, args, &join(loc, args)),
            }
        }
        if let Some(c) = node.get(config) {
            let at = join(loc, config);
            if self.expect_object(c, config, &at) {
                self.exclusive(c, "MaxItems", "MaxItemsPath", &at);
                if let Some(m) = c.get("MaxItems") {
                    self.integer_field(m, "MaxItems", &join(&at, "MaxItems"), 0, i64::MAX, ql);
                }
                if let (Some(m), Ql::JsonPath) = (c.get("MaxItemsPath"), ql) {
                    self.reference_path(m, "MaxItemsPath", &join(&at, "MaxItemsPath"));
                }
            }
        }
    }

    /// `ItemProcessor` / `Iterator`.
    fn processor(&mut self, node: &Node, loc: &str, top_ql: Ql) {
        if let Some(cfg) = node.get("ProcessorConfig") {
            let at = join(loc, "ProcessorConfig");
            if self.expect_object(cfg, "ProcessorConfig", &at) {
                self.unsupported(cfg, &["Mode", "ExecutionType"], &at);
                if let Some(m) = cfg.get("Mode") {
                    if !matches!(m.as_str(), Some("INLINE" | "DISTRIBUTED")) {
                        self.schema(
                            "The value for the field 'Mode' must be one of [INLINE, DISTRIBUTED]",
                            join(&at, "Mode"),
                        );
                    }
                }
                if let Some(e) = cfg.get("ExecutionType") {
                    if !matches!(e.as_str(), Some("STANDARD" | "EXPRESS")) {
                        self.schema(
                            "The value for the field 'ExecutionType' must be one of [STANDARD, EXPRESS]",
                            join(&at, "ExecutionType"),
                        );
                    }
                }
            }
        }
        self.machine(node, loc, Machine::Processor, top_ql);
    }

    // ---------------------------------------------------------------- Retry / Catch

    fn error_equals(&mut self, node: &Node, loc: &str) -> bool {
        let Some(list) = node.get("ErrorEquals") else {
            return false;
        };
        let at = join(loc, "ErrorEquals");
        let Some(items) = list.as_array().filter(|a| !a.is_empty()) else {
            self.schema(
                "The value for the field 'ErrorEquals' must be a non-empty ARRAY of STRING",
                at,
            );
            return false;
        };
        let mut has_all = false;
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(crate::errors::ALL) => has_all = true,
                Some(_) => {}
                None => self.schema(
                    "The value for the field 'ErrorEquals' must be an ARRAY of STRING",
                    join(&at, &i.to_string()),
                ),
            }
        }
        if has_all && items.len() > 1 {
            self.schema(
                "'States.ALL' must appear alone in the field 'ErrorEquals'",
                at,
            );
        }
        has_all
    }

    fn retry(&mut self, node: &Node, loc: &str) {
        let Some(items) = node.as_array() else {
            self.schema(
                "The value for the field 'Retry' must be an ARRAY",
                loc.to_string(),
            );
            return;
        };
        for (i, r) in items.iter().enumerate() {
            let at = join(loc, &i.to_string());
            if !self.expect_object(r, "Retry", &at) {
                continue;
            }
            self.unsupported(
                r,
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ],
                &at,
            );
            self.required(r, &["ErrorEquals"], &at);
            if self.error_equals(r, &at) && i + 1 != items.len() {
                self.schema(
                    "A Retrier with 'States.ALL' in its 'ErrorEquals' must be the last Retrier",
                    at.clone(),
                );
            }
            if let Some(v) = r.get("IntervalSeconds") {
                self.integer_field(
                    v,
                    "IntervalSeconds",
                    &join(&at, "IntervalSeconds"),
                    1,
                    MAX_SECONDS,
                    Ql::JsonPath,
                );
            }
            if let Some(v) = r.get("MaxAttempts") {
                self.integer_field(
                    v,
                    "MaxAttempts",
                    &join(&at, "MaxAttempts"),
                    0,
                    MAX_SECONDS,
                    Ql::JsonPath,
                );
            }
            if let Some(v) = r.get("MaxDelaySeconds") {
                self.integer_field(
                    v,
                    "MaxDelaySeconds",
                    &join(&at, "MaxDelaySeconds"),
                    1,
                    31_622_400,
                    Ql::JsonPath,
                );
            }
            if let Some(v) = r.get("BackoffRate") {
                if !v.as_number().is_some_and(|n| n.value >= 1.0) {
                    self.schema(
                        "The value for the field 'BackoffRate' must be a number greater than or equal to 1.0",
                        join(&at, "BackoffRate"),
                    );
                }
            }
            if let Some(v) = r.get("JitterStrategy") {
                if !matches!(v.as_str(), Some("FULL" | "NONE")) {
                    self.schema(
                        "The value for the field 'JitterStrategy' must be one of [FULL, NONE]",
                        join(&at, "JitterStrategy"),
                    );
                }
            }
            if let Some(c) = r.get("Comment") {
                self.expect_string(c, "Comment", &join(&at, "Comment"));
            }
        }
    }

    fn catch(&mut self, node: &Node, loc: &str, ql: Ql, targets: &mut Vec<(String, String)>) {
        let Some(items) = node.as_array() else {
            self.schema(
                "The value for the field 'Catch' must be an ARRAY",
                loc.to_string(),
            );
            return;
        };
        for (i, c) in items.iter().enumerate() {
            let at = join(loc, &i.to_string());
            if !self.expect_object(c, "Catch", &at) {
                continue;
            }
            let mut allowed = vec!["ErrorEquals", "Next", "Comment", "Assign"];
            allowed.push(match ql {
                Ql::JsonPath => "ResultPath",
                Ql::Jsonata => "Output",
            });
            self.unsupported(c, &allowed, &at);
            self.required(c, &["ErrorEquals", "Next"], &at);
            if self.error_equals(c, &at) && i + 1 != items.len() {
                self.schema(
                    "A Catcher with 'States.ALL' in its 'ErrorEquals' must be the last Catcher",
                    at.clone(),
                );
            }
            if let Some(n) = c.get("Next") {
                let nat = join(&at, "Next");
                if let Some(s) = self.expect_string(n, "Next", &nat) {
                    targets.push((s.to_string(), nat));
                }
            }
            if let (Some(r), Ql::JsonPath) = (c.get("ResultPath"), ql) {
                self.result_path(r, &join(&at, "ResultPath"));
            }
            if let (Some(o), Ql::Jsonata) = (c.get("Output"), ql) {
                self.jsonata_template(o, "Output", &join(&at, "Output"));
            }
            if let Some(a) = c.get("Assign") {
                self.assign(a, &join(&at, "Assign"), ql);
            }
        }
    }

    // ---------------------------------------------------------------- Choice

    fn choice(&mut self, node: &Node, loc: &str, ql: Ql, targets: &mut Vec<(String, String)>) {
        match node.get("Choices") {
            None => {
                self.required(node, &["Choices"], loc);
            }
            Some(c) => match c.as_array() {
                Some(rules) if !rules.is_empty() => {
                    for (i, rule) in rules.iter().enumerate() {
                        let at = format!("{loc}/Choices/{i}");
                        self.choice_rule(rule, &at, true, ql, targets);
                    }
                }
                _ => self.schema(
                    "The value for the field 'Choices' must be a non-empty ARRAY",
                    join(loc, "Choices"),
                ),
            },
        }
        if let Some(d) = node.get("Default") {
            let at = join(loc, "Default");
            if let Some(s) = self.expect_string(d, "Default", &at) {
                targets.push((s.to_string(), at));
            }
        }
    }

    fn choice_rule(
        &mut self,
        rule: &Node,
        loc: &str,
        top: bool,
        ql: Ql,
        targets: &mut Vec<(String, String)>,
    ) {
        if !self.expect_object(rule, "Choices", loc) {
            return;
        }
        if top {
            if self.required(rule, &["Next"], loc) {
                let at = join(loc, "Next");
                if let Some(s) = rule
                    .get("Next")
                    .and_then(|n| self.expect_string(n, "Next", &at))
                {
                    targets.push((s.to_string(), at));
                }
            }
            if let Some(a) = rule.get("Assign") {
                self.assign(a, &join(loc, "Assign"), ql);
            }
        }
        if ql == Ql::Jsonata {
            let allowed: &[&str] = if top {
                &["Condition", "Next", "Comment", "Assign", "Output"]
            } else {
                &["Condition", "Comment"]
            };
            self.unsupported(rule, allowed, loc);
            if self.required(rule, &["Condition"], loc) {
                let at = join(loc, "Condition");
                match rule.get("Condition").map(|c| &c.value) {
                    Some(Json::Bool(_)) => {}
                    Some(Json::Str(s)) => self.jsonata_string(s, "Condition", &at, true),
                    _ => self.schema(
                        "The value for the field 'Condition' must be a BOOLEAN or a JSONata expression",
                        at,
                    ),
                }
            }
            if let (Some(o), true) = (rule.get("Output"), top) {
                self.jsonata_template(o, "Output", &join(loc, "Output"));
            }
            return;
        }

        let mut operators = Vec::new();
        for (k, v) in rule.members().unwrap_or_default() {
            let k = k.as_str();
            match k {
                "Comment" => {
                    self.expect_string(v, "Comment", &join(loc, "Comment"));
                }
                "Variable" => {}
                "Next" | "Assign" if top => {}
                "And" | "Or" | "Not" => operators.push(k),
                _ if operator(k).is_some() => operators.push(k),
                _ => self.schema(format!("Field '{k}' is not supported"), loc.to_string()),
            }
        }
        if operators.len() != 1 {
            self.schema(
                "A Choice Rule must have exactly one comparison operator or one of And, Or, Not",
                loc.to_string(),
            );
        }
        for op in operators {
            let Some(value) = rule.get(op) else { continue };
            let at = join(loc, op);
            match op {
                "And" | "Or" => match value.as_array() {
                    Some(items) if !items.is_empty() => {
                        for (i, r) in items.iter().enumerate() {
                            self.choice_rule(r, &join(&at, &i.to_string()), false, ql, targets);
                        }
                    }
                    _ => self.schema(
                        format!("The value for the field '{op}' must be a non-empty ARRAY"),
                        at,
                    ),
                },
                "Not" => self.choice_rule(value, &at, false, ql, targets),
                _ => {
                    match rule.get("Variable") {
                        None => {
                            self.schema("These fields are required: [Variable]", loc.to_string())
                        }
                        Some(v) => self.reference_path(v, "Variable", &join(loc, "Variable")),
                    }
                    let operand = operator(op).map(Operator::operand);
                    let ok = match operand {
                        Some(OperandType::String) => value.as_str().is_some(),
                        Some(OperandType::Number) => value.as_number().is_some(),
                        Some(OperandType::Boolean) => matches!(value.value, Json::Bool(_)),
                        // The operand's format is only checked when the rule runs.
                        Some(OperandType::Timestamp) => value.as_str().is_some(),
                        Some(OperandType::Path) => {
                            self.reference_path(value, op, &at);
                            true
                        }
                        None => true,
                    };
                    if !ok {
                        let kind = match operand {
                            Some(OperandType::Number) => "a NUMBER",
                            Some(OperandType::Boolean) => "a BOOLEAN",
                            _ => "a STRING",
                        };
                        self.schema(format!("The value for the field '{op}' must be {kind}"), at);
                    }
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
