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
    /// The object that held `buf` over a pause, deleted once the file is closed.
    spilled: Option<String>,
}

/// A result file left open at a pause, so the next piece of the run goes on filling it (AWS
/// starts a new file only at 5 GB): where its upload stands. Its text not uploaded yet (under
/// S3's 5 MiB smallest part, it cannot be a part of its own) is in the object [`spill_key`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PausedFile {
    pub key: String,
    pub bytes: u64,
    pub entries: u64,
    pub upload: Option<(String, Vec<(u32, String)>)>,
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

/// The object holding the unsent text of the result file `key` over the run's `pause`-th
/// pause: a key of its own at each pause, so a piece that dies before its cursor is saved leaves
/// the previous cursor's object as it was.
pub fn spill_key(key: &str, pause: &str) -> String {
    format!("{key}.{pause}.open")
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

    /// A run pausing (the pause named `pause`: its number and look): writes every entry held
    /// and puts the text of each file being filled in an object of its own; the files stay
    /// open, to be filled on by [`Self::reopen`] in the next piece.
    pub async fn pause(&mut self, pause: &str) -> Result<[Option<PausedFile>; 3], String> {
        for (slot, (file, texts)) in std::mem::take(&mut self.held) {
            self.next_slot = self.next_slot.max(slot + 1);
            for t in texts {
                self.append(file, &t).await?;
            }
        }
        self.held_bytes = 0;
        let mut paused: [Option<PausedFile>; 3] = Default::default();
        for (file, out) in paused.iter_mut().enumerate() {
            let Some(f) = self.files[file].open.as_ref() else {
                continue;
            };
            self.objects
                .objects()
                .put(&self.bucket, &spill_key(&f.key, pause), f.buf.clone())
                .await
                .map_err(|e| e.to_string())?;
            *out = Some(PausedFile {
                key: f.key.clone(),
                bytes: f.bytes,
                entries: f.entries,
                upload: f.upload.clone(),
            });
        }
        Ok(paused)
    }

    /// Opens again the files the run's pause named `pause` left open (their text read back
    /// from their objects); the objects of the pause before (`before`), no cursor's any more,
    /// are deleted.
    pub async fn reopen(
        &mut self,
        paused: &[Option<PausedFile>; 3],
        pause: &str,
        before: Option<&str>,
    ) -> Result<(), String> {
        let objects = self.objects.objects();
        for (file, p) in paused.iter().enumerate() {
            let Some(p) = p else { continue };
            let spill = spill_key(&p.key, pause);
            let request = json!({"Bucket": self.bucket, "Key": spill});
            let buf = objects.get(&request).await.map_err(|e| e.to_string())?;
            if let Some(before) = before {
                // Best effort: a leftover is a small object, not a wrong result.
                let _ = objects
                    .delete(&self.bucket, &spill_key(&p.key, before))
                    .await;
            }
            self.files[file].open = Some(OpenFile {
                key: p.key.clone(),
                bytes: p.bytes,
                entries: p.entries,
                buf,
                upload: p.upload.clone(),
                spilled: Some(spill),
            });
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
            spilled: None,
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
                .upload_part(&self.bucket, &f.key, id, number, body)
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
                .put(&self.bucket, &f.key, std::mem::take(&mut f.buf))
                .await
                .map_err(|e| e.to_string())?,
            Some((id, mut parts)) => {
                // The last part may be small, never empty (JSONL ending on a part's end).
                if !f.buf.is_empty() {
                    let number = parts.len() as u32 + 1;
                    let etag = objects
                        .upload_part(
                            &self.bucket,
                            &f.key,
                            &id,
                            number,
                            std::mem::take(&mut f.buf),
                        )
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
        if let Some(spill) = f.spilled.as_deref() {
            let _ = objects.delete(&self.bucket, spill).await;
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
            .put(&self.bucket, &key, text)
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

    /// A file that went past one part, left open over two pauses and filled on by the sinks
    /// of the next pieces, ends as one file with every entry in order, and no object that held
    /// its text over a pause is left.
    #[tokio::test]
    async fn a_file_left_open_at_a_pause_is_filled_on_by_the_next_piece() {
        let dir = std::env::temp_dir().join(format!("stepwise-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b")).unwrap_or_default();
        let caller = stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:9".into()),
        })
        .await;
        let objects = MapObjects::new(caller, Some(dir.clone()));
        let arguments = json!({"Bucket": "b", "Prefix": "out"});
        let arn = "arn:aws:states:us-east-1:111111111111:mapRun:m/Map:run1";
        let pad = "x".repeat(100 << 10);
        let entry = |i: usize| vec![json!({"i": i, "pad": pad})];
        // 60 entries of 100 KiB: the first part (5 MiB) goes up before the first pause.
        let mut sink = ResultSink::new(objects.clone(), &arguments, None, arn);
        for i in 0..60 {
            sink.add(i, "SUCCEEDED", entry(i)).await.expect("add");
        }
        let open = sink.pause("1").await.expect("pause 1");
        let written = sink.written();
        let first = open[2].clone().expect("SUCCEEDED open");
        assert_eq!(
            first.upload.as_ref().map(|(_, p)| p.len()),
            Some(1),
            "{first:?}"
        );
        let mut sink =
            ResultSink::new(objects.clone(), &arguments, None, arn).carry_on(written, 60);
        sink.reopen(&open, "1", None).await.expect("reopen 1");
        for i in 60..70 {
            sink.add(i, "SUCCEEDED", entry(i)).await.expect("add");
        }
        let open = sink.pause("2").await.expect("pause 2");
        let written = sink.written();
        let mut sink =
            ResultSink::new(objects.clone(), &arguments, None, arn).carry_on(written, 70);
        sink.reopen(&open, "2", Some("1")).await.expect("reopen 2");
        let spill_1 = dir.join("b").join(spill_key(&first.key, "1"));
        assert!(
            !spill_1.exists(),
            "the first pause's object is deleted once the second's is read"
        );
        for i in 70..80 {
            sink.add(i, "SUCCEEDED", entry(i)).await.expect("add");
        }
        let manifest = sink.finish().await.expect("finish");
        let folder = dir.join("b").join("out").join("run1");
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        assert_eq!(names, ["SUCCEEDED_0.json", "manifest.json"], "{manifest}");
        let text = std::fs::read_to_string(folder.join("SUCCEEDED_0.json")).unwrap_or_default();
        let entries: Vec<Value> = serde_json::from_str(&text).unwrap_or_default();
        let order: Vec<u64> = entries.iter().filter_map(|e| e["i"].as_u64()).collect();
        assert_eq!(order, (0..80).collect::<Vec<u64>>());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
