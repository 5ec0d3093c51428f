//! A distributed Map's data fields, typed at load: `ItemReader` (where the items come from),
//! `ItemBatcher` (items grouped into one child input) and `ResultWriter` (where the results go).
//! The static validator checks their shape with AWS's diagnostics; these types only keep what
//! the interpreter evaluates.

use crate::model::{QueryLanguage, ValueOrPath};
use crate::payload::Template;
use serde_json::{Map, Value};

/// `ItemReader`: an S3 call (`arn:aws:states:::s3:getObject` or `...:s3:listObjectsV2`) whose
/// result, read as `ReaderConfig` says, is the Map's items.
#[derive(Debug, Clone)]
pub struct ItemReaderSpec {
    /// `Resource`, as written.
    pub resource: String,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): the call's request.
    pub arguments: Option<Template>,
    /// `ReaderConfig`.
    pub config: ReaderConfigSpec,
}

/// `ReaderConfig` of an `ItemReader`.
#[derive(Debug, Clone, Default)]
pub struct ReaderConfigSpec {
    /// `InputType`: `CSV`, `JSON`, `JSONL`, `MANIFEST` (none for `listObjectsV2`).
    pub input_type: Option<String>,
    /// `CSVHeaderLocation`: `FIRST_ROW` (default) or `GIVEN`.
    pub csv_header_location: Option<String>,
    /// `CSVHeaders`, with `GIVEN`.
    pub csv_headers: Option<Vec<String>>,
    /// `CSVDelimiter`: `COMMA` (default), `PIPE`, `SEMICOLON`, `SPACE`, `TAB`.
    pub csv_delimiter: Option<String>,
    /// `ManifestType`: `S3_INVENTORY` (default for `MANIFEST`) or `ATHENA_DATA`.
    pub manifest_type: Option<String>,
    /// `MaxItems` or `MaxItemsPath`.
    pub max_items: Option<ValueOrPath>,
}

/// `ItemBatcher`: several items per child, as `{"Items": [...], "BatchInput": ...}`.
#[derive(Debug, Clone)]
pub struct ItemBatcherSpec {
    /// `MaxItemsPerBatch` or its Path form.
    pub max_items_per_batch: Option<ValueOrPath>,
    /// `MaxInputBytesPerBatch` or its Path form.
    pub max_input_bytes_per_batch: Option<ValueOrPath>,
    /// `BatchInput`: a payload template on the Map's input.
    pub batch_input: Option<Template>,
}

/// `ResultWriter`: the children's results written to S3 (`arn:aws:states:::s3:putObject`),
/// formatted as `WriterConfig` says.
#[derive(Debug, Clone)]
pub struct ResultWriterSpec {
    /// `Resource`, when the results go to S3.
    pub resource: Option<String>,
    /// `Parameters` or `Arguments`: `Bucket` and `Prefix`.
    pub arguments: Option<Template>,
    /// `WriterConfig.OutputType`: `JSON` (default) or `JSONL`.
    pub output_type: Option<String>,
    /// `WriterConfig.Transformation`: `NONE` (default with a Resource), `COMPACT`, `FLATTEN`.
    pub transformation: Option<String>,
}

fn arguments(o: &Map<String, Value>, q: QueryLanguage) -> Option<Template> {
    let field = match q {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    o.get(field).cloned().map(Template::new)
}

fn value_or_path(o: &Map<String, Value>, field: &str) -> Option<ValueOrPath> {
    if let Some(v) = o.get(field) {
        return Some(ValueOrPath::Value(v.clone()));
    }
    o.get(&format!("{field}Path"))
        .and_then(Value::as_str)
        .map(|p| ValueOrPath::Path(p.into()))
}

fn string(o: &Map<String, Value>, field: &str) -> Option<String> {
    o.get(field).and_then(Value::as_str).map(str::to_string)
}

impl ItemReaderSpec {
    /// The `ItemReader` object (the validator has checked it; odd shapes read as absent).
    pub fn parse(v: &Value, q: QueryLanguage) -> Option<Self> {
        let o = v.as_object()?;
        let config = o
            .get("ReaderConfig")
            .and_then(Value::as_object)
            .map(|c| ReaderConfigSpec {
                input_type: string(c, "InputType"),
                csv_header_location: string(c, "CSVHeaderLocation"),
                csv_headers: c.get("CSVHeaders").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .map(|h| match h {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                }),
                csv_delimiter: string(c, "CSVDelimiter"),
                manifest_type: string(c, "ManifestType"),
                max_items: value_or_path(c, "MaxItems"),
            })
            .unwrap_or_default();
        Some(ItemReaderSpec {
            resource: string(o, "Resource").unwrap_or_default(),
            arguments: arguments(o, q),
            config,
        })
    }
}

impl ItemBatcherSpec {
    /// The `ItemBatcher` object.
    pub fn parse(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        Some(ItemBatcherSpec {
            max_items_per_batch: value_or_path(o, "MaxItemsPerBatch"),
            max_input_bytes_per_batch: value_or_path(o, "MaxInputBytesPerBatch"),
            batch_input: o.get("BatchInput").cloned().map(Template::new),
        })
    }
}

impl ResultWriterSpec {
    /// The `ResultWriter` object.
    pub fn parse(v: &Value, q: QueryLanguage) -> Option<Self> {
        let o = v.as_object()?;
        let wc = o.get("WriterConfig").and_then(Value::as_object);
        Some(ResultWriterSpec {
            resource: string(o, "Resource"),
            arguments: arguments(o, q),
            output_type: wc.and_then(|c| string(c, "OutputType")),
            transformation: wc.and_then(|c| string(c, "Transformation")),
        })
    }
}
