//! A map run's items and results a page at a time, for homes that run the children as child
//! executions ([`stepwise_engine::map_run`]): [`ItemSource`] reads JSONL and CSV objects in
//! ranged reads of [`CHUNK`] bytes (never the whole object), and [`ResultSink`] writes the
//! result files as they fill, each at most [`FILE_BYTES`] (`SUCCEEDED_0.json`,
//! `SUCCEEDED_1.json`, ... all listed in `manifest.json`), so a run of any size holds one chunk
//! and one file's worth of text.
//!
//! A `JSON` array, a listing and an S3 inventory are read as the inline reader reads them (a
//! JSON array is one value; a listing and an inventory hold only keys and sizes).

use super::formats;
use super::store::{Objects, StoreError};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::path::PathBuf;
use stepwise_aws_api::{ApiCall, AwsCaller};
use stepwise_engine::map_io::{map_run_id, ReadItems};

/// Bytes read per ranged GetObject.
pub const CHUNK: u64 = 256 << 10;

/// The most text one result file holds before the next one starts.
pub const FILE_BYTES: usize = 2 << 20;

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

    fn objects(&self) -> Objects<'_> {
        match &self.dir {
            Some(d) => Objects::Dir(d),
            None => Objects::S3(&self.caller),
        }
    }
}

enum Lines {
    Jsonl,
    Csv {
        sep: char,
        headers: Option<Vec<String>>,
        order: Vec<usize>,
    },
}

/// A map run's items, a page at a time.
pub struct ItemSource {
    objects: MapObjects,
    max: u64,
    read: u64,
    kind: SourceKind,
}

enum SourceKind {
    Ready(VecDeque<Value>),
    Ranged {
        arguments: Value,
        offset: u64,
        done: bool,
        carry: Vec<u8>,
        lines: Lines,
        line_no: usize,
    },
}

impl ItemSource {
    /// Items given in full (the Map's input).
    pub fn given(objects: MapObjects, items: Vec<Value>) -> Self {
        ItemSource {
            objects,
            max: u64::MAX,
            read: 0,
            kind: SourceKind::Ready(items.into()),
        }
    }

    /// The items an `ItemReader` request names (`resource`: its `Resource`). `Err`: the cause of
    /// `States.ItemReaderFailed`.
    pub async fn open(objects: MapObjects, resource: &str, r: &ReadItems) -> Result<Self, String> {
        let ranged = resource.ends_with(":getObject")
            && matches!(r.input_type.as_deref(), Some("JSONL") | Some("CSV"));
        if !ranged {
            let res = stepwise_asl::resource::TaskResource::parse(resource.to_string());
            let items = super::read_items(&objects.objects(), &res, r).await?;
            return Ok(ItemSource {
                objects,
                max: r.max_items,
                read: 0,
                kind: SourceKind::Ready(items.into()),
            });
        }
        let lines = if r.input_type.as_deref() == Some("CSV") {
            let sep = formats::delimiter(r.csv_delimiter.as_deref())?;
            let headers = match r.csv_header_location.as_deref() {
                Some("GIVEN") => Some(r.csv_headers.clone().unwrap_or_default()),
                _ => None,
            };
            let mut csv = Lines::Csv {
                sep,
                headers: None,
                order: Vec::new(),
            };
            if let Some(h) = headers {
                set_headers(&mut csv, h)?;
            }
            csv
        } else {
            Lines::Jsonl
        };
        Ok(ItemSource {
            objects,
            max: r.max_items,
            read: 0,
            kind: SourceKind::Ranged {
                arguments: r.arguments.clone(),
                offset: 0,
                done: false,
                carry: Vec::new(),
                lines,
                line_no: 0,
            },
        })
    }

    /// The next items (`None`: there are no more). `Err`: the cause of
    /// `States.ItemReaderFailed`.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, String> {
        if self.read >= self.max {
            return Ok(None);
        }
        let room = self.max - self.read;
        let page = match &mut self.kind {
            SourceKind::Ready(q) => {
                let n = q
                    .len()
                    .min(1000)
                    .min(usize::try_from(room).unwrap_or(usize::MAX));
                if n == 0 {
                    return Ok(None);
                }
                q.drain(..n).collect::<Vec<_>>()
            }
            SourceKind::Ranged {
                arguments,
                offset,
                done,
                carry,
                lines,
                line_no,
            } => {
                let mut out = Vec::new();
                while out.is_empty() {
                    if *done && carry.is_empty() {
                        return Ok(None);
                    }
                    if !*done {
                        let (bytes, last) = read_range(&self.objects, arguments, *offset)
                            .await
                            .map_err(|e| e.to_string())?;
                        *offset += bytes.len() as u64;
                        *done = last;
                        carry.extend_from_slice(&bytes);
                    }
                    let cut = if *done {
                        carry.len()
                    } else {
                        complete_prefix(carry, matches!(lines, Lines::Csv { .. }))
                    };
                    let text = String::from_utf8_lossy(&carry[..cut]).into_owned();
                    carry.drain(..cut);
                    parse_lines(&text, lines, line_no, &mut out)?;
                }
                out.truncate(usize::try_from(room).unwrap_or(usize::MAX));
                out
            }
        };
        self.read += page.len() as u64;
        Ok(Some(page))
    }
}

/// Where an [`ItemSource`] stands between two pages, so that another process can open the same
/// source and go on from there (a map run carried on by the next invocation of a function).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourcePosition {
    /// Items handed out so far.
    pub read: u64,
    /// A ranged object: the byte where the next unread line starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
    /// A ranged object: the lines read so far (for error messages).
    #[serde(default)]
    pub line_no: usize,
    /// A CSV object: its headers, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
}

impl ItemSource {
    /// Where this source stands (see [`SourcePosition`]).
    pub fn position(&self) -> SourcePosition {
        let mut p = SourcePosition {
            read: self.read,
            ..Default::default()
        };
        if let SourceKind::Ranged {
            offset,
            carry,
            lines,
            line_no,
            ..
        } = &self.kind
        {
            // What is carried is the start of a line not yet parsed.
            p.byte = Some(offset.saturating_sub(carry.len() as u64));
            p.line_no = *line_no;
            if let Lines::Csv { headers, .. } = lines {
                p.headers = headers.clone();
            }
        }
        p
    }

    /// Moves a source just opened to `pos`: a ranged object reads on from its byte, any other
    /// source (read whole when opened, as the inline reader reads it) skips what was read.
    pub fn seek(&mut self, pos: &SourcePosition) -> Result<(), String> {
        match &mut self.kind {
            SourceKind::Ranged {
                offset,
                done,
                carry,
                lines,
                line_no,
                ..
            } => {
                *offset = pos.byte.unwrap_or(0);
                *done = false;
                carry.clear();
                *line_no = pos.line_no;
                if let Some(h) = pos.headers.clone() {
                    set_headers(lines, h)?;
                }
            }
            SourceKind::Ready(q) => {
                let n = usize::try_from(pos.read.saturating_sub(self.read))
                    .unwrap_or(usize::MAX)
                    .min(q.len());
                q.drain(..n);
            }
        }
        self.read = pos.read;
        Ok(())
    }
}

fn set_headers(lines: &mut Lines, h: Vec<String>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if !h.iter().all(|x| seen.insert(x.as_str())) {
        return Err("CSV headers cannot contain duplicates.".into());
    }
    if let Lines::Csv { headers, order, .. } = lines {
        *order = formats::java_hash_order(&h);
        *headers = Some(h);
    }
    Ok(())
}

/// How much of `buf` ends with a whole line (a CSV line's newline outside quotes).
fn complete_prefix(buf: &[u8], csv: bool) -> usize {
    let mut quoted = false;
    let mut cut = 0;
    for (i, b) in buf.iter().enumerate() {
        match b {
            b'"' if csv => quoted = !quoted,
            b'\n' if !quoted => cut = i + 1,
            _ => {}
        }
    }
    cut
}

fn parse_lines(
    text: &str,
    lines: &mut Lines,
    line_no: &mut usize,
    out: &mut Vec<Value>,
) -> Result<(), String> {
    match lines {
        Lines::Jsonl => {
            for line in text.lines() {
                *line_no += 1;
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line).map_err(|e| {
                    format!(
                        "Cannot deserialize line {} of the JSONL object: {e}",
                        line_no
                    )
                })?;
                out.push(v);
            }
        }
        Lines::Csv { sep, .. } => {
            let sep = *sep;
            for row in formats::csv_rows(text, sep) {
                let Lines::Csv { headers, order, .. } = lines else {
                    break;
                };
                let Some(h) = headers.as_ref() else {
                    set_headers(lines, row)?;
                    continue;
                };
                let mut o = Map::new();
                for &i in order.iter() {
                    let v = row.get(i).cloned().unwrap_or_default();
                    o.insert(h[i].clone(), Value::String(v));
                }
                out.push(Value::Object(o));
            }
        }
    }
    Ok(())
}

/// Up to [`CHUNK`] bytes of the object from `offset`, and whether they are its last.
async fn read_range(
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
                // Past the end of an object whose size is a multiple of the chunk.
                Err(stepwise_aws_api::ApiCallError::Service { code, .. })
                    if code == "InvalidRange" && offset > 0 =>
                {
                    return Ok((Vec::new(), true));
                }
                Err(e) => return Err(e.into()),
            };
            let body = r
                .output
                .get("Body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            // "bytes 0-1048575/5000000": the object's size says whether this was the end.
            let total = r
                .output
                .get("ContentRange")
                .and_then(Value::as_str)
                .and_then(|s| s.rsplit('/').next())
                .and_then(|s| s.parse::<u64>().ok());
            let last = match total {
                Some(t) => offset + body.len() as u64 >= t,
                // No range in the answer: the whole object came.
                None => true,
            };
            Ok((body, last))
        }
    }
}

/// One result file being filled.
#[derive(Default)]
struct Pending {
    /// Each entry's text with its child's slot: a file lists its children in item order.
    entries: Vec<(usize, String)>,
    bytes: usize,
    files: Vec<Value>,
}

/// A map run's result files, written as they fill (`ResultWriter` with a `Resource`).
pub struct ResultSink {
    objects: MapObjects,
    bucket: String,
    folder: String,
    map_run_arn: String,
    jsonl: bool,
    /// FAILED, PENDING, SUCCEEDED, in the manifest's order.
    files: [Pending; 3],
}

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
        [0, 1, 2].map(|i| self.files[i].files.clone())
    }

    /// Carries on after the files `written` by a sink of the same run in another process.
    pub fn carry_on(mut self, written: [Vec<Value>; 3]) -> Self {
        for (p, w) in self.files.iter_mut().zip(written) {
            p.files = w;
        }
        self
    }

    /// Writes every file being filled now (a run pausing: what is only in memory would be lost).
    pub async fn flush_all(&mut self) -> Result<(), String> {
        for slot in 0..3 {
            self.flush(slot).await?;
        }
        Ok(())
    }

    /// Adds the entries of the child in slot `child` (see [`super::writer::child_entries`]) to
    /// its status's file; a full file is written.
    pub async fn add(
        &mut self,
        child: usize,
        status: &str,
        entries: Vec<Value>,
    ) -> Result<(), String> {
        let slot = Self::slot(status);
        let p = &mut self.files[slot];
        for e in entries {
            let t = serde_json::to_string(&e).unwrap_or_default();
            p.bytes += t.len() + 1;
            p.entries.push((child, t));
        }
        if p.bytes >= FILE_BYTES {
            self.flush(slot).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, slot: usize) -> Result<(), String> {
        let status = ["FAILED", "PENDING", "SUCCEEDED"][slot];
        let extension = if self.jsonl { "jsonl" } else { "json" };
        let p = &mut self.files[slot];
        if p.entries.is_empty() {
            return Ok(());
        }
        let mut entries = std::mem::take(&mut p.entries);
        p.bytes = 0;
        entries.sort_by_key(|(i, _)| *i);
        let mut body = String::new();
        for (n, (_, t)) in entries.into_iter().enumerate() {
            if self.jsonl {
                body.push_str(&t);
                body.push('\n');
            } else {
                body.push(if n == 0 { '[' } else { ',' });
                body.push_str(&t);
            }
        }
        if !self.jsonl {
            body.push(']');
        }
        let key = format!("{}{status}_{}.{extension}", self.folder, p.files.len());
        self.objects
            .objects()
            .put(&self.bucket, &key, &body)
            .await
            .map_err(|e| e.to_string())?;
        p.files.push(json!({"Key": key, "Size": body.len()}));
        Ok(())
    }

    /// Writes what is left and the manifest; the Map's result.
    pub async fn finish(mut self) -> Result<Value, String> {
        for slot in 0..3 {
            self.flush(slot).await?;
        }
        let mut files = Map::new();
        for (slot, status) in ["FAILED", "PENDING", "SUCCEEDED"].iter().enumerate() {
            files.insert(
                (*status).into(),
                Value::Array(std::mem::take(&mut self.files[slot].files)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_line_ends_outside_quotes() {
        assert_eq!(complete_prefix(b"a,\"b\nc\"\nd", true), 8);
        assert_eq!(complete_prefix(b"{\"a\":1}\n{\"b\"", false), 8);
    }

    #[test]
    fn csv_rows_become_items_after_the_header() {
        let mut lines = Lines::Csv {
            sep: ',',
            headers: None,
            order: Vec::new(),
        };
        let mut out = Vec::new();
        let mut n = 0;
        parse_lines("h1,h2\n1,2\n", &mut lines, &mut n, &mut out).unwrap_or_default();
        parse_lines("3,4\n", &mut lines, &mut n, &mut out).unwrap_or_default();
        assert_eq!(
            out,
            vec![json!({"h1": "1", "h2": "2"}), json!({"h1": "3", "h2": "4"})]
        );
    }
}
