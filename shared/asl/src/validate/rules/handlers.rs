//! The checks of `Retry`, `Catch` and `Choices`.

use super::*;

impl Checker {
    pub(super) fn error_equals(&mut self, node: &Node, loc: &str) -> bool {
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

    pub(super) fn retry(&mut self, node: &Node, loc: &str) {
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

    pub(super) fn catch(
        &mut self,
        node: &Node,
        loc: &str,
        ql: Ql,
        targets: &mut Vec<(String, String)>,
    ) {
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

    pub(super) fn choice(
        &mut self,
        node: &Node,
        loc: &str,
        ql: Ql,
        targets: &mut Vec<(String, String)>,
    ) {
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

    pub(super) fn choice_rule(
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
