//! A distributed Map's `ItemReader` and `ResultWriter` calls ([`stepwise_engine::map_io`]):
//! the engine sends them as tasks whose resource is the field's `Resource`
//! (`arn:aws:states:::s3:getObject` / `...:s3:listObjectsV2` / `...:s3:putObject`) and whose
//! parameters carry the request; [`serves`] recognises them and [`invoke`] performs them on S3
//! or on a folder standing for it ([`store`]).
//!
//! - `getObject` with `InputType` `JSON` (an array), `JSONL` (one value per line), `CSV`
//!   ([`formats`]) or `MANIFEST` (an S3 inventory `manifest.json`: every row of its gzipped
//!   CSV files, keyed by its `fileSchema`);
//! - `listObjectsV2`: one item per object, `{"Etag", "Key", "LastModified", "Size",
//!   "StorageClass"}` (LastModified in seconds since the epoch), every page;
//! - `putObject`: the results as AWS lays them out ([`writer`]).
//!
//! Failures are `States.ItemReaderFailed` / `States.ResultWriterFailed` with the S3 error as the
//! cause.

pub(crate) mod formats;
mod items;
pub(crate) mod store;
pub mod stream;
pub mod writer;

use serde_json::{json, Map, Value};
use stepwise_asl::errors::{ITEM_READER_FAILED, RESULT_WRITER_FAILED};
use stepwise_asl::resource::{ResourceKind, TaskResource};
use stepwise_engine::map_io::{ReadItems, WriteResults};
use stepwise_ports::tasks::{TaskFailure, TaskRequest};
use store::Objects;

/// Whether a task is a distributed Map's reader or writer call.
pub fn serves(req: &TaskRequest) -> bool {
    let ResourceKind::Optimized { service, action } = req.resource.kind() else {
        return false;
    };
    service == "s3"
        && match action.as_str() {
            "getObject" | "listObjectsV2" => req.parameters.get(ReadItems::KEY).is_some(),
            "putObject" => req.parameters.get(WriteResults::KEY).is_some(),
            _ => false,
        }
}

/// Performs a reader or writer call ([`serves`]) on `objects`.
pub(crate) async fn invoke(
    objects: Objects<'_>,
    mut req: TaskRequest,
) -> Result<Value, TaskFailure> {
    if let Some(r) = ReadItems::from_parameters(&req.parameters) {
        return read_items(&objects, &req.resource, &r)
            .await
            .map(Value::Array)
            .map_err(|cause| TaskFailure::new(ITEM_READER_FAILED, cause));
    }
    if let Some(w) = WriteResults::take_from(&mut req.parameters) {
        return writer::write(&objects, &w)
            .await
            .map_err(|cause| TaskFailure::new(RESULT_WRITER_FAILED, cause));
    }
    Err(TaskFailure::runtime(format!(
        "{} in state '{}' carries no ItemReader or ResultWriter request",
        req.resource, req.state_name
    )))
}

async fn read_items(
    objects: &Objects<'_>,
    resource: &TaskResource,
    r: &ReadItems,
) -> Result<Vec<Value>, String> {
    let action = match resource.kind() {
        ResourceKind::Optimized { action, .. } => action.as_str(),
        _ => "",
    };
    if action == "listObjectsV2" {
        let listed = objects
            .list(&r.arguments, r.max_items)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(listed
            .into_iter()
            .map(|o| {
                json!({"Etag": o.etag, "Key": o.key, "LastModified": o.last_modified,
                       "Size": o.size, "StorageClass": o.storage_class})
            })
            .collect());
    }
    let input_type = r.input_type.as_deref().unwrap_or("JSON");
    if input_type == "MANIFEST" {
        return manifest_items(objects, r).await;
    }
    let text = objects.get(&r.arguments).await.map_err(|e| e.to_string())?;
    match input_type {
        "JSON" => formats::json_items(&text, r.max_items),
        "JSONL" => formats::jsonl_items(&text, r.max_items),
        "CSV" => {
            let sep = formats::delimiter(r.csv_delimiter.as_deref())?;
            let given = match r.csv_header_location.as_deref() {
                Some("GIVEN") => Some(r.csv_headers.as_deref().unwrap_or(&[])),
                _ => None,
            };
            formats::csv_items(&text, sep, given, r.max_items)
        }
        other => Err(format!("Unsupported InputType: {other}")),
    }
}

/// An S3 inventory: the manifest names gzipped CSV files in its destination bucket; each row
/// is an item keyed by the manifest's `fileSchema`.
async fn manifest_items(objects: &Objects<'_>, r: &ReadItems) -> Result<Vec<Value>, String> {
    if let Some(t) = r.manifest_type.as_deref().filter(|t| *t != "S3_INVENTORY") {
        return Err(format!("ManifestType {t} is not supported by Stepwise"));
    }
    let text = objects.get(&r.arguments).await.map_err(|e| e.to_string())?;
    let manifest: Value = serde_json::from_str(&text)
        .map_err(|e| format!("The S3 inventory manifest is not JSON: {e}"))?;
    let format = manifest
        .get("fileFormat")
        .and_then(Value::as_str)
        .unwrap_or("");
    if format != "CSV" {
        return Err(format!(
            "Unsupported S3 inventory file format: {format}. Only CSV is supported."
        ));
    }
    let schema: Vec<String> = manifest
        .get("fileSchema")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let bucket = manifest
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map(|b| b.trim_start_matches("arn:aws:s3:::").to_string())
        .or_else(|| {
            r.arguments
                .get("Bucket")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for f in files {
        if out.len() as u64 >= r.max_items {
            break;
        }
        let key = f.get("key").and_then(Value::as_str).unwrap_or_default();
        let bytes = objects
            .get_bytes(&json!({"Bucket": bucket, "Key": key}))
            .await
            .map_err(|e| e.to_string())?;
        let text = gunzip(&bytes).map_err(|e| format!("Cannot read {key}: {e}"))?;
        for row in formats::csv_rows(&text, ',') {
            if out.len() as u64 >= r.max_items {
                break;
            }
            let mut o = Map::new();
            for (i, name) in schema.iter().enumerate() {
                o.insert(
                    name.clone(),
                    Value::String(row.get(i).cloned().unwrap_or_default()),
                );
            }
            out.push(Value::Object(o));
        }
    }
    Ok(out)
}

/// The text of a gzipped file (a plain one as it is).
fn gunzip(bytes: &[u8]) -> Result<String, std::io::Error> {
    use std::io::Read;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes).read_to_string(&mut s)?;
        Ok(s)
    } else {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}
