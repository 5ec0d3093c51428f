//! A map run's items a page at a time ([`ItemSource`]), whatever the reader: nothing here holds
//! more than one ranged read of an object ([`super::stream::CHUNK`] bytes) and one page of
//! items, so a map run's memory does not grow with its items.
//!
//! - `getObject` `JSONL` and `CSV`: the object in ranged reads, cut at whole lines (a CSV line
//!   ends outside quotes);
//! - `getObject` `JSON`: the object in ranged reads through a scanner that finds each element
//!   of the top-level array ([`ArrayScan`]) and parses it alone;
//! - `listObjectsV2`: one page of the listing at a time, with its continuation token;
//! - `MANIFEST`: the S3 inventory's `manifest.json` (it lists the data files), then each data
//!   file in turn, in ranged reads, gunzipped as it comes when it is gzipped.

use super::formats;
use super::stream::{read_range, MapObjects};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use stepwise_engine::map_io::ReadItems;

/// The most items a page of given items holds.
const PAGE: usize = 1000;

/// A JSON value at the top of the object that is not an array.
const NOT_ITERABLE: &str = "Attempting to map over non-iterable node.";

/// A map run's items, a page at a time.
pub struct ItemSource {
    objects: MapObjects,
    max: u64,
    read: u64,
    kind: SourceKind,
    /// Items read past a position a seek skipped to, handed out first.
    leftover: Vec<Value>,
}

enum SourceKind {
    Ready(VecDeque<Value>),
    /// One object read in ranges.
    Object(Box<Ranged>, Parser),
    Listing {
        request: Value,
        token: Option<String>,
        done: bool,
    },
    Manifest {
        bucket: String,
        schema: Vec<String>,
        files: VecDeque<String>,
        current: Option<(Box<Ranged>, Parser)>,
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
            leftover: Vec::new(),
        }
    }

    /// The items an `ItemReader` request names (`resource`: its `Resource`). `Err`: the cause of
    /// `States.ItemReaderFailed`.
    pub async fn open(objects: MapObjects, resource: &str, r: &ReadItems) -> Result<Self, String> {
        let kind = if resource.ends_with(":listObjectsV2") {
            SourceKind::Listing {
                request: r.arguments.clone(),
                token: None,
                done: false,
            }
        } else {
            match r.input_type.as_deref().unwrap_or("JSON") {
                "JSON" => SourceKind::Object(
                    Box::new(Ranged::new(r.arguments.clone(), false)),
                    Parser::Array(ArrayScan::default()),
                ),
                "JSONL" => SourceKind::Object(
                    Box::new(Ranged::new(r.arguments.clone(), false)),
                    Parser::lines(Lines::Jsonl),
                ),
                "CSV" => {
                    let sep = formats::delimiter(r.csv_delimiter.as_deref())?;
                    let mut csv = Lines::Csv {
                        sep,
                        headers: None,
                        order: Vec::new(),
                    };
                    if r.csv_header_location.as_deref() == Some("GIVEN") {
                        set_headers(&mut csv, r.csv_headers.clone().unwrap_or_default())?;
                    }
                    SourceKind::Object(
                        Box::new(Ranged::new(r.arguments.clone(), false)),
                        Parser::lines(csv),
                    )
                }
                "MANIFEST" => open_manifest(&objects, r).await?,
                other => return Err(format!("Unsupported InputType: {other}")),
            }
        };
        Ok(ItemSource {
            objects,
            max: r.max_items,
            read: 0,
            kind,
            leftover: Vec::new(),
        })
    }

    /// The next items (`None`: there are no more). `Err`: the cause of
    /// `States.ItemReaderFailed`.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, String> {
        if self.read >= self.max {
            return Ok(None);
        }
        let room = usize::try_from(self.max - self.read).unwrap_or(usize::MAX);
        let mut page = match &mut self.kind {
            _ if !self.leftover.is_empty() => std::mem::take(&mut self.leftover),
            SourceKind::Ready(q) => {
                let n = q.len().min(PAGE).min(room);
                if n == 0 {
                    return Ok(None);
                }
                q.drain(..n).collect::<Vec<_>>()
            }
            SourceKind::Object(object, parser) => {
                match next_items(&self.objects, object, parser).await? {
                    Some(p) => p,
                    None => return Ok(None),
                }
            }
            SourceKind::Listing {
                request,
                token,
                done,
            } => {
                if *done {
                    return Ok(None);
                }
                let (listed, next) = self
                    .objects
                    .objects()
                    .list_page(request, token.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                *done = next.is_none();
                *token = next;
                listed
                    .into_iter()
                    .map(|o| {
                        json!({"Etag": o.etag, "Key": o.key, "LastModified": o.last_modified,
                               "Size": o.size, "StorageClass": o.storage_class})
                    })
                    .collect()
            }
            SourceKind::Manifest {
                bucket,
                schema,
                files,
                current,
            } => loop {
                if current.is_none() {
                    let Some(key) = files.pop_front() else {
                        return Ok(None);
                    };
                    let object = Ranged::new(json!({"Bucket": bucket, "Key": key}), true);
                    let lines = Lines::Csv {
                        sep: ',',
                        headers: Some(schema.clone()),
                        // The members in the schema's order.
                        order: (0..schema.len()).collect(),
                    };
                    *current = Some((Box::new(object), Parser::lines(lines)));
                }
                let Some((object, parser)) = current.as_mut() else {
                    continue;
                };
                match next_items(&self.objects, object, parser).await? {
                    Some(p) => break p,
                    None => *current = None,
                }
            },
        };
        page.truncate(room);
        self.read += page.len() as u64;
        Ok(Some(page))
    }
}

/// Where an [`ItemSource`] stands between two pages, so that another process can open the same
/// source and go on from there (a map run carried on by the next invocation of a function).
/// JSONL and CSV objects go on from a byte and a listing from its continuation token; a JSON
/// array and an S3 inventory are read again from their start and the items before skipped.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourcePosition {
    /// Items handed out so far.
    pub read: u64,
    /// A JSONL or CSV object: the byte where the next unread line starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
    /// A JSONL or CSV object: the lines read so far (for error messages).
    #[serde(default)]
    pub line_no: usize,
    /// A CSV object: its headers, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// A listing: the next page's continuation token, or `listed` when it has no more pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub listed: bool,
}

impl ItemSource {
    /// Where this source stands (see [`SourcePosition`]).
    pub fn position(&self) -> SourcePosition {
        let mut p = SourcePosition {
            read: self.read,
            ..Default::default()
        };
        if !self.leftover.is_empty() {
            return p;
        }
        match &self.kind {
            SourceKind::Object(
                object,
                Parser::Lines {
                    lines,
                    carry,
                    line_no,
                },
            ) => {
                // What is carried is the start of a line not yet parsed.
                p.byte = Some(object.offset.saturating_sub(carry.len() as u64));
                p.line_no = *line_no;
                if let Lines::Csv { headers, .. } = lines {
                    p.headers = headers.clone();
                }
            }
            SourceKind::Listing { token, done, .. } => {
                p.token = token.clone();
                p.listed = *done;
            }
            _ => {}
        }
        p
    }

    /// Moves a source just opened to `pos` (see [`SourcePosition`]). `Err`: the cause of
    /// `States.ItemReaderFailed`.
    pub async fn seek(&mut self, pos: &SourcePosition) -> Result<(), String> {
        match &mut self.kind {
            SourceKind::Object(
                object,
                Parser::Lines {
                    lines,
                    carry,
                    line_no,
                },
            ) if pos.byte.is_some() => {
                object.offset = pos.byte.unwrap_or(0);
                object.done = false;
                carry.clear();
                *line_no = pos.line_no;
                if let Some(h) = pos.headers.clone() {
                    set_headers(lines, h)?;
                }
            }
            SourceKind::Listing { token, done, .. } if pos.token.is_some() || pos.listed => {
                *token = pos.token.clone();
                *done = pos.listed;
            }
            SourceKind::Ready(q) => {
                let n = usize::try_from(pos.read.saturating_sub(self.read))
                    .unwrap_or(usize::MAX)
                    .min(q.len());
                q.drain(..n);
            }
            _ => {
                // Read again from the start; the items before the position are skipped.
                while self.read < pos.read {
                    let Some(mut page) = self.next_page().await? else {
                        break;
                    };
                    let extra = usize::try_from(self.read - pos.read.min(self.read))
                        .unwrap_or(0)
                        .min(page.len());
                    self.leftover = page.split_off(page.len() - extra);
                }
            }
        }
        self.read = pos.read;
        Ok(())
    }
}

/// How many items a reader gives (its `MaxItems` applied), and how many children they make
/// when `batching` says how they are batched (`None`: one child each). A pass of its own over
/// the objects, a page at a time, run beside the map run so that DescribeMapRun counts every
/// item as pending early, as AWS does, without holding them. `Err`: the reader's cause.
pub async fn count(
    objects: MapObjects,
    resource: &str,
    r: &ReadItems,
    batching: Option<stepwise_engine::map_run::Batching>,
) -> Result<(u64, u64), String> {
    let mut source = ItemSource::open(objects, resource, r).await?;
    let mut batcher = batching.map(stepwise_engine::map_run::Batcher::new);
    let (mut items, mut children) = (0u64, 0u64);
    while let Some(page) = source.next_page().await? {
        items += page.len() as u64;
        match batcher.as_mut() {
            Some(b) => {
                for item in page {
                    children += u64::from(b.push(item).is_some());
                }
            }
            None => children += page.len() as u64,
        }
    }
    if let Some(b) = batcher.as_mut() {
        children += u64::from(b.flush().is_some());
    }
    Ok((items, children))
}

/// The next non-empty page of an object's items; `None` at its end.
async fn next_items(
    objects: &MapObjects,
    object: &mut Ranged,
    parser: &mut Parser,
) -> Result<Option<Vec<Value>>, String> {
    loop {
        let Some(bytes) = object.next(objects).await? else {
            parser.end()?;
            return Ok(None);
        };
        let mut out = Vec::new();
        parser.feed(&bytes, object.done, &mut out)?;
        if !out.is_empty() {
            return Ok(Some(out));
        }
    }
}

/// An S3 inventory: the manifest (small: it names the data files) is read whole; its data
/// files are read one by one as the items are taken.
async fn open_manifest(objects: &MapObjects, r: &ReadItems) -> Result<SourceKind, String> {
    if let Some(t) = r.manifest_type.as_deref().filter(|t| *t != "S3_INVENTORY") {
        return Err(format!("ManifestType {t} is not supported by Stepwise"));
    }
    let text = objects
        .objects()
        .get(&r.arguments)
        .await
        .map_err(|e| e.to_string())?;
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
    let schema = manifest
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
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("key").and_then(Value::as_str).map(str::to_string))
        .collect();
    Ok(SourceKind::Manifest {
        bucket,
        schema,
        files,
        current: None,
    })
}

/// An object read [`super::stream::CHUNK`] bytes at a time.
struct Ranged {
    arguments: Value,
    offset: u64,
    done: bool,
    /// Whether a gzipped object is inflated as it comes (the inventory's data files).
    sniff_gzip: bool,
    gzip: Option<flate2::write::GzDecoder<Vec<u8>>>,
}

impl Ranged {
    fn new(arguments: Value, sniff_gzip: bool) -> Self {
        Ranged {
            arguments,
            offset: 0,
            done: false,
            sniff_gzip,
            gzip: None,
        }
    }

    /// The object's next bytes (inflated); `None` once it has all been read.
    async fn next(&mut self, objects: &MapObjects) -> Result<Option<Vec<u8>>, String> {
        use std::io::Write;
        if self.done {
            return Ok(None);
        }
        let (bytes, last) = read_range(objects, &self.arguments, self.offset)
            .await
            .map_err(|e| e.to_string())?;
        if self.offset == 0 && self.sniff_gzip && bytes.starts_with(&[0x1f, 0x8b]) {
            self.gzip = Some(flate2::write::GzDecoder::new(Vec::new()));
        }
        self.offset += bytes.len() as u64;
        self.done = last;
        let Some(d) = self.gzip.as_mut() else {
            return Ok(Some(bytes));
        };
        let key = self.arguments.get("Key").and_then(Value::as_str);
        let bad = |e: std::io::Error| format!("Cannot read {}: {e}", key.unwrap_or_default());
        d.write_all(&bytes).map_err(bad)?;
        if last {
            d.try_finish().map_err(bad)?;
        }
        Ok(Some(std::mem::take(d.get_mut())))
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

/// What turns an object's bytes into items.
enum Parser {
    Lines {
        lines: Lines,
        /// Bytes after the last whole line.
        carry: Vec<u8>,
        line_no: usize,
    },
    Array(ArrayScan),
}

impl Parser {
    fn lines(lines: Lines) -> Self {
        Parser::Lines {
            lines,
            carry: Vec::new(),
            line_no: 0,
        }
    }

    /// Takes the object's next bytes (`last`: its end); the items they complete go to `out`.
    fn feed(&mut self, bytes: &[u8], last: bool, out: &mut Vec<Value>) -> Result<(), String> {
        match self {
            Parser::Lines {
                lines,
                carry,
                line_no,
            } => {
                carry.extend_from_slice(bytes);
                let cut = if last {
                    carry.len()
                } else {
                    complete_prefix(carry, matches!(lines, Lines::Csv { .. }))
                };
                let text = String::from_utf8_lossy(&carry[..cut]).into_owned();
                carry.drain(..cut);
                parse_lines(&text, lines, line_no, out)
            }
            Parser::Array(scan) => scan.feed(bytes, out),
        }
    }

    /// The object ended: whether what was read is whole.
    fn end(&self) -> Result<(), String> {
        match self {
            Parser::Lines { .. } => Ok(()),
            Parser::Array(scan) => scan.end(),
        }
    }
}

/// Finds the elements of a JSON text's top-level array as its bytes come, and parses each
/// alone: only the element being read is held.
#[derive(Default)]
struct ArrayScan {
    started: bool,
    ended: bool,
    /// Nesting inside the current element.
    depth: u32,
    in_string: bool,
    escaped: bool,
    elements: u64,
    element: Vec<u8>,
}

fn cannot_deserialize(e: impl std::fmt::Display) -> String {
    format!("Cannot deserialize the ItemReader's JSON object: {e}")
}

impl ArrayScan {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Value>) -> Result<(), String> {
        for &b in bytes {
            if self.ended {
                if !b.is_ascii_whitespace() {
                    return Err(cannot_deserialize("trailing characters after the array"));
                }
                continue;
            }
            if !self.started {
                match b {
                    b'[' => self.started = true,
                    // A byte order mark or whitespace before the value.
                    0xEF | 0xBB | 0xBF => {}
                    b if b.is_ascii_whitespace() => {}
                    b'{' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                        return Err(NOT_ITERABLE.into())
                    }
                    _ => return Err(cannot_deserialize("expected a JSON value")),
                }
                continue;
            }
            if self.in_string {
                self.element.push(b);
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    self.element.push(b);
                }
                b'[' | b'{' => {
                    self.depth += 1;
                    self.element.push(b);
                }
                b']' if self.depth == 0 => {
                    self.finish(out, true)?;
                    self.ended = true;
                }
                b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.element.push(b);
                }
                b',' if self.depth == 0 => self.finish(out, false)?,
                _ => self.element.push(b),
            }
        }
        Ok(())
    }

    /// The element read so far is whole (`closing`: the array's `]` ended it).
    fn finish(&mut self, out: &mut Vec<Value>, closing: bool) -> Result<(), String> {
        let blank = self.element.iter().all(u8::is_ascii_whitespace);
        if blank {
            // `[]` is an empty array; `[1,]` or `[,` are not JSON.
            if closing && self.elements == 0 {
                return Ok(());
            }
            return Err(cannot_deserialize(format!(
                "element {} of the array is missing",
                self.elements
            )));
        }
        let v: Value = stepwise_engine::deep::from_slice(&self.element).map_err(|e| {
            cannot_deserialize(format!("element {} of the array: {e}", self.elements))
        })?;
        self.element.clear();
        self.elements += 1;
        out.push(v);
        Ok(())
    }

    fn end(&self) -> Result<(), String> {
        match (self.started, self.ended) {
            (_, true) => Ok(()),
            (false, _) => Err(cannot_deserialize("the object holds no JSON value")),
            (true, false) => Err(cannot_deserialize("the array does not end")),
        }
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
                let v = stepwise_engine::deep::from_str(line).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item of the source from its start, pages read and the position after `pages`.
    async fn pages(source: &mut ItemSource, pages: usize) -> (SourcePosition, Vec<Value>) {
        let mut pos = source.position();
        let mut rest = Vec::new();
        let mut n = 0;
        while let Some(p) = source.next_page().await.unwrap_or_default() {
            n += 1;
            if n <= pages {
                pos = source.position();
            } else {
                rest.extend(p);
            }
        }
        (pos, rest)
    }

    #[tokio::test]
    async fn a_source_opened_again_goes_on_from_its_position() {
        let dir = std::env::temp_dir().join(format!("stepwise-items-{}", std::process::id()));
        let bucket = dir.join("b");
        std::fs::create_dir_all(&bucket).unwrap_or_default();
        let pad = "x".repeat(200);
        let items: Vec<Value> = (0..2500).map(|i| json!({"i": i, "pad": pad})).collect();
        let jsonl: String = items.iter().map(|v| format!("{v}\n")).collect();
        let csv: String = std::iter::once("i,pad\n".to_string())
            .chain((0..2500).map(|i| format!("{i},{pad}\n")))
            .collect();
        let files = [
            ("a.jsonl", jsonl, "JSONL"),
            ("a.json", Value::Array(items).to_string(), "JSON"),
            ("a.csv", csv, "CSV"),
        ];
        let caller = stepwise_aws_api::AwsCaller::from_env(stepwise_aws_api::AwsSettings {
            region: Some("us-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:9".into()),
        })
        .await;
        let objects = || MapObjects::new(caller.clone(), Some(dir.clone()));
        for (key, text, kind) in files {
            std::fs::write(bucket.join(key), text).unwrap_or_default();
            let r = ReadItems {
                arguments: json!({"Bucket": "b", "Key": key}),
                input_type: Some(kind.into()),
                csv_header_location: Some("FIRST_ROW".into()),
                csv_headers: None,
                csv_delimiter: None,
                manifest_type: None,
                max_items: 2400,
            };
            let resource = "arn:aws:states:::s3:getObject";
            let open = || ItemSource::open(objects(), resource, &r);
            let (pos, rest) = pages(&mut open().await.expect("opens"), 1).await;
            assert!(pos.read > 0 && !rest.is_empty(), "{kind}: {pos:?}");
            assert_eq!(pos.byte.is_some(), kind != "JSON", "{kind}: {pos:?}");
            let mut again = open().await.expect("opens");
            again.seek(&pos).await.expect("seeks");
            let (_, after) = pages(&mut again, 0).await;
            assert_eq!(after, rest, "{kind}");
            assert_eq!(pos.read + after.len() as u64, 2400, "{kind}");
        }
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }

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

    /// The array's elements, fed `step` bytes at a time.
    fn scan(text: &str, step: usize) -> Result<Vec<Value>, String> {
        let mut s = ArrayScan::default();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(step.max(1)) {
            s.feed(chunk, &mut out)?;
        }
        s.end()?;
        Ok(out)
    }

    #[test]
    fn a_json_array_is_read_an_element_at_a_time_across_chunks() {
        let text = r#" [ {"a": "x,]\"}", "b": [1, {"c": 2}]}, 3, "s\\", [], {} , null ] "#;
        let want = vec![
            json!({"a": "x,]\"}", "b": [1, {"c": 2}]}),
            json!(3),
            json!("s\\"),
            json!([]),
            json!({}),
            Value::Null,
        ];
        for step in [1, 2, 3, 7, 1000] {
            assert_eq!(scan(text, step), Ok(want.clone()), "step {step}");
        }
        assert_eq!(scan("[]", 1), Ok(vec![]));
    }

    #[test]
    fn what_is_not_an_array_fails_as_aws_says() {
        assert_eq!(
            scan(r#"{"Hello": "world"}"#, 4),
            Err(NOT_ITERABLE.to_string())
        );
        for bad in ["[1,]", "[1", "[1 2]", "", "[1] x", "[,1]"] {
            let e = scan(bad, 2).err().unwrap_or_default();
            assert!(
                e.starts_with("Cannot deserialize the ItemReader's JSON object"),
                "{bad}: {e}"
            );
        }
    }
}
