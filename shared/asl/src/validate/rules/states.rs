//! The checks of each state and of its type-specific fields.

use super::*;

impl Checker {
    /// Checks one state; returns its transitions (target, location of the field) and whether it
    /// is terminal.
    pub(super) fn state(
        &mut self,
        node: &Node,
        loc: &str,
        top_ql: Ql,
    ) -> (Vec<(String, String)>, bool) {
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

    pub(super) fn task(&mut self, node: &Node, loc: &str, ql: Ql) {
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

    pub(super) fn wait(&mut self, node: &Node, loc: &str, ql: Ql) {
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

    pub(super) fn fail(&mut self, node: &Node, loc: &str, ql: Ql) {
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

    pub(super) fn map(&mut self, node: &Node, loc: &str, ql: Ql, top_ql: Ql) {
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
            if v.members().is_some() {
                self.item_reader(v, &join(loc, "ItemReader"));
            }
        }
        if let Some(v) = node.get("ResultWriter") {
            self.item_io(v, &join(loc, "ResultWriter"), ql, "WriterConfig");
            if v.members().is_some() {
                self.result_writer(v, &join(loc, "ResultWriter"), ql);
            }
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
    pub(super) fn item_io(&mut self, node: &Node, loc: &str, ql: Ql, config: &str) {
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
    pub(super) fn processor(&mut self, node: &Node, loc: &str, top_ql: Ql) {
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
}
