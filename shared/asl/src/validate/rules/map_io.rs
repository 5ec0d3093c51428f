//! A distributed Map's data fields: `ItemReader`'s `Resource` and `ReaderConfig`, and
//! `ResultWriter`'s `Resource` and `WriterConfig` (their shape; `item_io` in `states.rs` checks
//! what both share). The resources are S3 actions Step Functions calls itself, so anything else
//! is `INVALID_RESOURCE` with AWS's wording for an unrecognised resource.

use super::*;

/// Whether `resource` is one of `actions` (`arn:PARTITION:states:::s3:ACTION`). An ARN whose
/// partition is not one of AWS's (a template's placeholder) is left alone, as Task resources are.
fn s3_action_ok(resource: &str, actions: &[&str]) -> bool {
    let Some((partition, rest)) = resource
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
    else {
        return false;
    };
    if !matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    ) {
        return true;
    }
    rest.strip_prefix("states:::s3:")
        .is_some_and(|action| actions.contains(&action))
}

impl Checker {
    /// One of `allowed`, as AWS words an enum field.
    fn one_of(&mut self, node: &Node, field: &str, allowed: &[&str], loc: &str) {
        let Some(s) = self.expect_string(node, field, loc) else {
            return;
        };
        if !allowed.contains(&s) {
            self.schema(
                format!(
                    "The value for the field '{field}' must be one of [{}]",
                    allowed.join(", ")
                ),
                loc.to_string(),
            );
        }
    }

    fn unrecognised_resource(&mut self, resource: &str, loc: &str) {
        self.err(
            INVALID_RESOURCE,
            format!(
                "The resource provided {resource} is not recognized. The value is not a valid \
                 resource ARN, or the resource is not available in this region."
            ),
            loc.to_string(),
        );
    }

    /// `ItemReader.Resource` and `ReaderConfig` beyond MaxItems(Path).
    pub(super) fn item_reader(&mut self, node: &Node, loc: &str) {
        if let Some(r) = node.get("Resource").and_then(Node::as_str) {
            if !s3_action_ok(r, &["getObject", "listObjectsV2"]) {
                self.unrecognised_resource(r, &join(loc, "Resource"));
            }
        }
        let Some(c) = node.get("ReaderConfig") else {
            return;
        };
        if c.members().is_none() {
            return;
        }
        let at = join(loc, "ReaderConfig");
        self.unsupported(
            c,
            &[
                "InputType",
                "CSVHeaderLocation",
                "CSVHeaders",
                "CSVDelimiter",
                "MaxItems",
                "MaxItemsPath",
                "ManifestType",
            ],
            &at,
        );
        if let Some(t) = c.get("InputType") {
            self.one_of(
                t,
                "InputType",
                &["CSV", "JSON", "JSONL", "MANIFEST"],
                &join(&at, "InputType"),
            );
        }
        if let Some(h) = c.get("CSVHeaderLocation") {
            self.one_of(
                h,
                "CSVHeaderLocation",
                &["FIRST_ROW", "GIVEN"],
                &join(&at, "CSVHeaderLocation"),
            );
        }
        if let Some(d) = c.get("CSVDelimiter") {
            self.one_of(
                d,
                "CSVDelimiter",
                &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
                &join(&at, "CSVDelimiter"),
            );
        }
        if let Some(m) = c.get("ManifestType") {
            self.one_of(
                m,
                "ManifestType",
                &["S3_INVENTORY", "ATHENA_DATA"],
                &join(&at, "ManifestType"),
            );
        }
        let given = c.get("CSVHeaderLocation").and_then(Node::as_str) == Some("GIVEN");
        match c.get("CSVHeaders") {
            Some(h) => {
                // An array's members must be strings; anything else is left alone: public
                // definitions hold placeholders ("__TBD__") their tests substitute.
                let hat = join(&at, "CSVHeaders");
                for (i, item) in h.as_array().unwrap_or_default().iter().enumerate() {
                    self.expect_string(item, "CSVHeaders", &join(&hat, &i.to_string()));
                }
            }
            None if given => {
                self.schema("These fields are required: [CSVHeaders]", at.clone());
            }
            None => {}
        }
    }

    /// `ResultWriter.Resource` and `WriterConfig`; at least one of them.
    pub(super) fn result_writer(&mut self, node: &Node, loc: &str, ql: Ql) {
        let args = match ql {
            Ql::JsonPath => "Parameters",
            Ql::Jsonata => "Arguments",
        };
        if let Some(r) = node.get("Resource").and_then(Node::as_str) {
            if !s3_action_ok(r, &["putObject"]) {
                self.unrecognised_resource(r, &join(loc, "Resource"));
            }
            if node.get(args).is_none() {
                self.schema(
                    format!("These fields are required: [{args}]"),
                    loc.to_string(),
                );
            }
        } else if node.get("WriterConfig").is_none() {
            self.schema("These fields are required: [Resource]", loc.to_string());
        }
        if let Some(c) = node.get("WriterConfig") {
            if c.members().is_none() {
                return;
            }
            let at = join(loc, "WriterConfig");
            self.unsupported(c, &["OutputType", "Transformation"], &at);
            if let Some(t) = c.get("OutputType") {
                self.one_of(
                    t,
                    "OutputType",
                    &["JSON", "JSONL"],
                    &join(&at, "OutputType"),
                );
            }
            if let Some(t) = c.get("Transformation") {
                self.one_of(
                    t,
                    "Transformation",
                    &["NONE", "COMPACT", "FLATTEN"],
                    &join(&at, "Transformation"),
                );
            }
        }
    }
}
