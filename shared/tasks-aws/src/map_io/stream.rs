//! A map run's items and results a page at a time, for homes that run the children as child
//! executions ([`stepwise_engine::map_run`]): [`ItemSource`] ([`super::items`]) reads every
//! reader's objects in ranged reads of [`CHUNK`] bytes (never a whole object) and listings a
//! page at a time, and [`ResultSink`] writes the result files as the children end, as AWS
//! lays them out: `SUCCEEDED_0.json`, `SUCCEEDED_1.json`, ... each of at most [`file_bytes`]
//! (AWS's 5 GB), all listed in `manifest.json`. A file larger than one [`PART`] goes up as an
//! S3 multipart upload, a part at a time, so a run of any size holds one chunk of input, one
//! page of items, and a part per result file.

pub use super::items::{count, ItemSource, SourcePosition};
use super::store::{Objects, StoreError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use stepwise_aws_api::{ApiCall, AwsCaller};
use stepwise_engine::map_io::map_run_id;

/// Bytes read per ranged GetObject.
pub const CHUNK: u64 = 256 << 10;

/// The most bytes one result file holds before the next one starts: AWS's 5 GB (5 GiB, S3's
/// largest single PutObject), or `STEPWISE_RESULT_FILE_BYTES` (for tests of the split).
pub fn file_bytes() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::env::var("STEPWISE_RESULT_FILE_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(5 << 30)
    })
}

/// A result file's text goes up in parts of this size (S3's smallest part but the last is
/// 5 MiB); a file that stays smaller is one PutObject.
pub const PART: usize = 5 << 20;

/// The most bytes of finished children's entries held back to write them in item order; past
/// it they are written in the order they ended.
const REORDER_BYTES: usize = 4 << 20;

/// Where a home's map runs read and write objects: S3 (the SDKs' endpoint resolution) or a
/// folder standing for it (`--s3-dir`).
#[derive(Clone)]
pub struct MapObjects {
    pub(crate) caller: AwsCaller,
    pub(crate) dir: Option<PathBuf>,
}

impl MapObjects {
    /// Objects through `caller`, or in the folder `dir` standing for S3.
    pub fn new(caller: AwsCaller, dir: Option<PathBuf>) -> Self {
        MapObjects { caller, dir }
    }

    pub(super) fn objects(&self) -> Objects<'_> {
        match &self.dir {
            Some(d) => Objects::Dir(d),
            None => Objects::S3(&self.caller),
        }
    }
}

/// Up to [`CHUNK`] bytes of the object from `offset`, and whether they are its last.
pub(super) async fn read_range(
    objects: &MapObjects,
    arguments: &Value,
    offset: u64,
) -> Result<(Vec<u8>, bool), StoreError> {
    match &objects.dir {
        Some(dir) => {
            use std::io::{Read, Seek, SeekFrom};
            let path = super::store::file(dir, arguments)?;
            tokio::task::spawn_blocking(move || {
                let missing = |_| super::store::missing_key();
                let mut f = std::fs::File::open(&path).map_err(missing)?;
                f.seek(SeekFrom::Start(offset)).map_err(missing)?;
                let mut buf = Vec::with_capacity(CHUNK as usize);
                f.take(CHUNK).read_to_end(&mut buf).map_err(missing)?;
                let last = (buf.len() as u64) < CHUNK;
                Ok((buf, last))
            })
            .await
            .map_err(|_| super::store::missing_key())?
        }
        None => {
            let mut input = arguments.clone();
            if let Some(o) = input.as_object_mut() {
                o.insert(
                    "Range".into(),
                    json!(format!("bytes={}-{}", offset, offset + CHUNK - 1)),
                );
            }
            let r = objects
                .caller
                .call(ApiCall {
                    service: "s3",
                    operation: "GetObject",
                    input: &input,
                    region: None,
                })
                .await;
            let r = match r {
                Ok(r) => r,
                // Past the end of an object whose size is a multiple of the chunk, or an
                // empty object.
                Err(stepwise_aws_api::ApiCallError::Service { code, .. })
                    if code == "InvalidRange" =>
                {
                    return Ok((Vec::new(), true));
                }
                Err(e) => return Err(e.into()),
            };
            // "bytes 0-1048575/5000000": the object's size says whether this was the end.
            let range = r.output.get("ContentRange").and_then(Value::as_str);
            let total = range
                .and_then(|s| s.rsplit('/').next())
                .and_then(|s| s.parse::<u64>().ok());
            let length = range
                .and_then(|s| s.trim_start_matches("bytes ").split('/').next())
                .and_then(|s| s.split_once('-'))
                .and_then(|(a, b)| Some(b.parse::<u64>().ok()? + 1 - a.parse::<u64>().ok()?))
                .or_else(|| r.output.get("ContentLength").and_then(Value::as_u64));
            let text = r
                .output
                .get("Body")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // The caller gives a body that is not UTF-8 (a range that cuts a character, a
            // gzipped file) in base64: its length tells which it is.
            let body = match length {
                Some(n) if n != text.len() as u64 => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap_or_else(|_| text.as_bytes().to_vec())
                }
                _ => text.as_bytes().to_vec(),
            };
            let last = match total {
                Some(t) => offset + body.len() as u64 >= t,
                // No range in the answer: the whole object came.
                None => true,
            };
            Ok((body, last))
        }
    }
}

/// A result file being written.
struct OpenFile {
    key: String,
    /// Its bytes so far, uploaded or not.
    bytes: u64,
    entries: u64,
    /// Text not uploaded yet.
    buf: String,
    /// The multipart upload, once the file outgrew one part: its id and its parts.
    upload: Option<(String, Vec<(u32, String)>)>,
}

/// One status's result files.
#[derive(Default)]
struct StatusFiles {
    open: Option<OpenFile>,
    /// The written files, for the manifest.
    written: Vec<Value>,
}

/// A map run's result files, written as the children end (`ResultWriter` with a `Resource`).
pub struct ResultSink {
    objects: MapObjects,
    bucket: String,
    folder: String,
    map_run_arn: String,
    jsonl: bool,
    /// FAILED, PENDING, SUCCEEDED, in the manifest's order.
    files: [StatusFiles; 3],
    /// Ended children held back until the ones before them end: by slot, their status's
    /// file and their entries' text.
    held: BTreeMap<usize, (usize, Vec<String>)>,
    held_bytes: usize,
    /// The slot whose entries are written next.
    next_slot: usize,
}

const STATUSES: [&str; 3] = ["FAILED", "PENDING", "SUCCEEDED"];

impl ResultSink {
    /// A sink for the map run's results under `PREFIX/MAP_RUN_ID/` in `Bucket` (`arguments`).
    pub fn new(
        objects: MapObjects,
        arguments: &Value,
        output_type: Option<&str>,
        map_run_arn: &str,
    ) -> Self {
        let bucket = arguments
            .get("Bucket")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut prefix = arguments
            .get("Prefix")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        ResultSink {
            objects,
            bucket,
            folder: format!("{prefix}{}/", map_run_id(map_run_arn)),
            map_run_arn: map_run_arn.to_string(),
            jsonl: output_type == Some("JSONL"),
            files: Default::default(),
            held: BTreeMap::new(),
            held_bytes: 0,
            next_slot: 0,
        }
    }

    fn slot(status: &str) -> usize {
        match status {
            "SUCCEEDED" => 2,
            "PENDING" => 1,
            _ => 0,
        }
    }

    /// The files written so far (FAILED, PENDING, SUCCEEDED), to carry on in another process.
    pub fn written(&self) -> [Vec<Value>; 3] {
        [0, 1, 2].map(|i| self.files[i].written.clone())
    }

    /// Carries on after the files `written` by a sink of the same run in another process;
    /// `next_slot`: the first child whose entries that sink did not write.
    pub fn carry_on(mut self, written: [Vec<Value>; 3], next_slot: usize) -> Self {
        for (p, w) in self.files.iter_mut().zip(written) {
            p.written = w;
        }
        self.next_slot = next_slot;
        self
    }

    /// Writes every entry held and closes every file being filled (a run pausing: what is
    /// only in memory would be lost).
    pub async fn flush_all(&mut self) -> Result<(), String> {
        for (slot, (file, texts)) in std::mem::take(&mut self.held) {
            self.next_slot = self.next_slot.max(slot + 1);
            for t in texts {
                self.append(file, &t).await?;
            }
        }
        self.held_bytes = 0;
        for file in 0..3 {
            self.close(file).await?;
        }
        Ok(())
    }

    /// Adds the entries of the child in slot `child` (see [`super::writer::child_entries`]) to
    /// its status's file. Entries go out in item order while the children end in about that
    /// order; a child far behind the others does not hold more than [`REORDER_BYTES`] back.
    pub async fn add(
        &mut self,
        child: usize,
        status: &str,
        entries: Vec<Value>,
    ) -> Result<(), String> {
        let texts: Vec<String> = entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        self.held_bytes += texts.iter().map(String::len).sum::<usize>();
        self.held.insert(child, (Self::slot(status), texts));
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > self.next_slot && self.held_bytes <= REORDER_BYTES {
                break;
            }
            let (slot, (file, texts)) = entry.remove_entry();
            self.next_slot = self.next_slot.max(slot + 1);
            self.held_bytes -= texts.iter().map(String::len).sum::<usize>();
            for t in texts {
                self.append(file, &t).await?;
            }
        }
        Ok(())
    }

    /// One entry's text into its status's current file.
    async fn append(&mut self, file: usize, text: &str) -> Result<(), String> {
        let limit = file_bytes();
        let full = self.files[file]
            .open
            .as_ref()
            .is_some_and(|f| f.entries > 0 && f.bytes + text.len() as u64 + 2 > limit);
        if full {
            self.close(file).await?;
        }
        let jsonl = self.jsonl;
        let status = &mut self.files[file];
        let f = status.open.get_or_insert_with(|| OpenFile {
            key: format!(
                "{}{}_{}.{}",
                self.folder,
                STATUSES[file],
                status.written.len(),
                if jsonl { "jsonl" } else { "json" }
            ),
            bytes: 0,
            entries: 0,
            buf: String::new(),
            upload: None,
        });
        let before = f.buf.len();
        if jsonl {
            f.buf.push_str(text);
            f.buf.push('\n');
        } else {
            f.buf.push(if f.entries == 0 { '[' } else { ',' });
            f.buf.push_str(text);
        }
        f.bytes += (f.buf.len() - before) as u64;
        f.entries += 1;
        if f.buf.len() >= PART {
            self.upload_part(file).await?;
        }
        Ok(())
    }

    /// Uploads what the file holds as its next part (starting the upload at its first).
    async fn upload_part(&mut self, file: usize) -> Result<(), String> {
        let objects = self.objects.objects();
        let Some(f) = self.files[file].open.as_mut() else {
            return Ok(());
        };
        if f.upload.is_none() {
            let id = objects
                .start_upload(&self.bucket, &f.key)
                .await
                .map_err(|e| e.to_string())?;
            f.upload = Some((id, Vec::new()));
        }
        let body = std::mem::take(&mut f.buf);
        if let Some((id, parts)) = f.upload.as_mut() {
            let number = parts.len() as u32 + 1;
            let etag = objects
                .upload_part(&self.bucket, &f.key, id, number, &body)
                .await
                .map_err(|e| e.to_string())?;
            parts.push((number, etag));
        }
        Ok(())
    }

    /// Ends the status's current file: its last part (or the whole of it) goes up.
    async fn close(&mut self, file: usize) -> Result<(), String> {
        let Some(mut f) = self.files[file].open.take() else {
            return Ok(());
        };
        if !self.jsonl {
            f.buf.push(']');
            f.bytes += 1;
        }
        let objects = self.objects.objects();
        match f.upload.take() {
            None => objects
                .put(&self.bucket, &f.key, &f.buf)
                .await
                .map_err(|e| e.to_string())?,
            Some((id, mut parts)) => {
                // The last part may be small, never empty (JSONL ending on a part's end).
                if !f.buf.is_empty() {
                    let number = parts.len() as u32 + 1;
                    let etag = objects
                        .upload_part(&self.bucket, &f.key, &id, number, &f.buf)
                        .await
                        .map_err(|e| e.to_string())?;
                    parts.push((number, etag));
                }
                objects
                    .complete_upload(&self.bucket, &f.key, &id, &parts)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        self.files[file]
            .written
            .push(json!({"Key": f.key, "Size": f.bytes}));
        Ok(())
    }

    /// Writes what is left and the manifest; the Map's result.
    pub async fn finish(mut self) -> Result<Value, String> {
        for (_, (file, texts)) in std::mem::take(&mut self.held) {
            for t in texts {
                self.append(file, &t).await?;
            }
        }
        let mut files = Map::new();
        for (file, status) in STATUSES.iter().enumerate() {
            self.close(file).await?;
            files.insert(
                (*status).into(),
                Value::Array(std::mem::take(&mut self.files[file].written)),
            );
        }
        let manifest = json!({
            "DestinationBucket": self.bucket,
            "MapRunArn": self.map_run_arn,
            "ResultFiles": files,
        });
        let key = format!("{}manifest.json", self.folder);
        let text = serde_json::to_string(&manifest).unwrap_or_default();
        self.objects
            .objects()
            .put(&self.bucket, &key, &text)
            .await
            .map_err(|e| e.to_string())?;
        Ok(json!({
            "MapRunArn": self.map_run_arn,
            "ResultWriterDetails": {"Bucket": self.bucket, "Key": key},
        }))
    }
}
