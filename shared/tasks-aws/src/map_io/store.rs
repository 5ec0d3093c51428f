//! Where a distributed Map's objects live: S3 through the generic caller (the SDKs' endpoint
//! resolution: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `--aws-endpoint-url`), or, beyond AWS,
//! a local folder standing for S3 (`--s3-dir DIR`: bucket `B`, key `K` is the file `DIR/B/K`).

use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};
use stepwise_aws_api::{ApiCall, ApiCallError, AwsCaller};

/// An S3 call that failed, with what AWS's cause quotes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
}

impl std::fmt::Display for StoreError {
    /// As the AWS SDK for Java v2 words a service error, which Step Functions quotes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = if self.message.is_empty() {
            &self.code
        } else {
            &self.message
        };
        write!(
            f,
            "{message} (Service: S3, Status Code: {}, Request ID: {})",
            self.status,
            self.request_id.as_deref().unwrap_or("null")
        )
    }
}

impl From<ApiCallError> for StoreError {
    fn from(e: ApiCallError) -> Self {
        match e {
            ApiCallError::Service {
                status,
                code,
                message,
                request_id,
            } => StoreError {
                status,
                code,
                message,
                request_id,
            },
            other => StoreError {
                status: 0,
                code: "SdkClientException".into(),
                message: other.to_string(),
                request_id: None,
            },
        }
    }
}

/// GetObject's answer for a key that is not there.
pub(crate) fn missing_key() -> StoreError {
    local(404, "NoSuchKey", "The specified key does not exist.")
}

fn local(status: u16, code: &str, message: impl Into<String>) -> StoreError {
    StoreError {
        status,
        code: code.into(),
        message: message.into(),
        request_id: None,
    }
}

/// How many files of a folder one listing page holds (S3 lists 1,000 keys a page).
const DIR_PAGE: usize = 1000;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) etag: String,
    /// Seconds since the epoch.
    pub(crate) last_modified: i64,
    pub(crate) size: u64,
    pub(crate) storage_class: String,
}

/// S3, or a folder standing for it.
pub(crate) enum Objects<'a> {
    S3(&'a AwsCaller),
    Dir(&'a Path),
}

impl Objects<'_> {
    /// GetObject's body as text (`request` holds Bucket, Key and any other GetObject member).
    pub(crate) async fn get(&self, request: &Value) -> Result<String, StoreError> {
        match self {
            Objects::S3(caller) => {
                let r = caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "GetObject",
                        input: request,
                        region: None,
                    })
                    .await?;
                Ok(r.output
                    .get("Body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string())
            }
            Objects::Dir(dir) => {
                let path = file(dir, request)?;
                tokio::fs::read_to_string(&path).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        local(404, "NoSuchKey", "The specified key does not exist.")
                    } else {
                        local(500, "InternalError", format!("{}: {e}", path.display()))
                    }
                })
            }
        }
    }

    /// GetObject's body as bytes, for compressed inventory files (base64 from S3 when not
    /// UTF-8).
    pub(crate) async fn get_bytes(&self, request: &Value) -> Result<Vec<u8>, StoreError> {
        match self {
            Objects::S3(caller) => {
                let r = caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "GetObject",
                        input: request,
                        region: None,
                    })
                    .await?;
                let body = r.output.get("Body").and_then(Value::as_str).unwrap_or("");
                use base64::Engine;
                Ok(base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .unwrap_or_else(|_| body.as_bytes().to_vec()))
            }
            Objects::Dir(dir) => {
                let path = file(dir, request)?;
                tokio::fs::read(&path)
                    .await
                    .map_err(|_| local(404, "NoSuchKey", "The specified key does not exist."))
            }
        }
    }

    /// Every object ListObjectsV2 lists for `request` (Bucket, Prefix, ...), page after page,
    /// stopping once `max` are listed.
    pub(crate) async fn list(&self, request: &Value, max: u64) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let (page, next) = self.list_page(request, token.as_deref()).await?;
            for o in page {
                if out.len() as u64 >= max {
                    return Ok(out);
                }
                out.push(o);
            }
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// One page of ListObjectsV2 for `request` after `token` (none: the first page), and the
    /// token of the next page when there is one.
    pub(crate) async fn list_page(
        &self,
        request: &Value,
        token: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>), StoreError> {
        match self {
            Objects::S3(caller) => {
                let mut input = request.clone();
                if let (Some(t), Some(o)) = (token, input.as_object_mut()) {
                    o.insert("ContinuationToken".into(), Value::String(t.to_string()));
                }
                let r = caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "ListObjectsV2",
                        input: &input,
                        region: None,
                    })
                    .await?;
                let page = r
                    .output
                    .get("Contents")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|o| Listed {
                        key: text(o, "Key"),
                        etag: text(o, "ETag"),
                        last_modified: o
                            .get("LastModified")
                            .and_then(Value::as_f64)
                            .map_or(0, |s| s.floor() as i64),
                        size: o.get("Size").and_then(Value::as_u64).unwrap_or(0),
                        storage_class: o
                            .get("StorageClass")
                            .and_then(Value::as_str)
                            .unwrap_or("STANDARD")
                            .to_string(),
                    })
                    .collect();
                let next = match r.output.get("IsTruncated") == Some(&json!(true)) {
                    true => r
                        .output
                        .get("NextContinuationToken")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    false => None,
                };
                Ok((page, next))
            }
            Objects::Dir(dir) => {
                let bucket = bucket_dir(dir, request)?;
                let prefix = text(request, "Prefix");
                // The folder's token is the last key listed, as StartAfter.
                let after = token.map_or_else(|| text(request, "StartAfter"), str::to_string);
                let page = tokio::task::spawn_blocking(move || {
                    list_dir(&bucket, &prefix, &after, DIR_PAGE)
                })
                .await
                .map_err(|e| local(500, "InternalError", e.to_string()))??;
                let next = match page.len() == DIR_PAGE {
                    true => page.last().map(|o| o.key.clone()),
                    false => None,
                };
                Ok((page, next))
            }
        }
    }

    /// Starts a multipart upload; its id.
    pub(crate) async fn start_upload(&self, bucket: &str, key: &str) -> Result<String, StoreError> {
        match self {
            Objects::S3(caller) => {
                let input = json!({"Bucket": bucket, "Key": key});
                let r = caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "CreateMultipartUpload",
                        input: &input,
                        region: None,
                    })
                    .await?;
                Ok(text(&r.output, "UploadId"))
            }
            // A folder's file is written in place, part after part.
            Objects::Dir(_) => {
                self.put(bucket, key, String::new()).await?;
                Ok(String::new())
            }
        }
    }

    /// Uploads part `number` (from 1) of an upload; its ETag.
    pub(crate) async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: String,
    ) -> Result<String, StoreError> {
        match self {
            Objects::S3(caller) => {
                let input = json!({"Bucket": bucket, "Key": key, "UploadId": upload_id,
                                   "PartNumber": number, "Body": body});
                let r = caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "UploadPart",
                        input: &input,
                        region: None,
                    })
                    .await?;
                Ok(text(&r.output, "ETag"))
            }
            Objects::Dir(dir) => {
                use tokio::io::AsyncWriteExt;
                let path = file(dir, &json!({"Bucket": bucket, "Key": key}))?;
                let io = |e: std::io::Error| local(500, "InternalError", e.to_string());
                let mut f = tokio::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .await
                    .map_err(io)?;
                f.write_all(body.as_bytes()).await.map_err(io)?;
                f.flush().await.map_err(io)?;
                Ok(String::new())
            }
        }
    }

    /// Completes an upload from its parts' numbers and ETags.
    pub(crate) async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StoreError> {
        match self {
            Objects::S3(caller) => {
                let parts: Vec<Value> = parts
                    .iter()
                    .map(|(n, etag)| json!({"ETag": etag, "PartNumber": n}))
                    .collect();
                let input = json!({"Bucket": bucket, "Key": key, "UploadId": upload_id,
                                   "MultipartUpload": {"Parts": parts}});
                caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "CompleteMultipartUpload",
                        input: &input,
                        region: None,
                    })
                    .await?;
                Ok(())
            }
            Objects::Dir(_) => Ok(()),
        }
    }

    /// PutObject.
    /// Puts an object. The body is taken, not copied: a result file can be megabytes.
    pub(crate) async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: String,
    ) -> Result<(), StoreError> {
        let request = json!({"Bucket": bucket, "Key": key, "Body": body});
        match self {
            Objects::S3(caller) => {
                caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "PutObject",
                        input: &request,
                        region: None,
                    })
                    .await?;
                Ok(())
            }
            Objects::Dir(dir) => {
                let path = file(dir, &request)?;
                let bucket = bucket_dir(dir, &request)?;
                if !bucket.is_dir() {
                    return Err(local(
                        404,
                        "NoSuchBucket",
                        "The specified bucket does not exist",
                    ));
                }
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| local(500, "InternalError", e.to_string()))?;
                }
                let body = request["Body"].as_str().unwrap_or_default();
                tokio::fs::write(&path, body)
                    .await
                    .map_err(|e| local(500, "InternalError", e.to_string()))
            }
        }
    }

    /// DeleteObject (a key that is not there is no error, as in S3).
    pub(crate) async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let request = json!({"Bucket": bucket, "Key": key});
        match self {
            Objects::S3(caller) => {
                caller
                    .call(ApiCall {
                        service: "s3",
                        operation: "DeleteObject",
                        input: &request,
                        region: None,
                    })
                    .await?;
                Ok(())
            }
            Objects::Dir(dir) => match tokio::fs::remove_file(file(dir, &request)?).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(local(500, "InternalError", e.to_string()))
                }
                _ => Ok(()),
            },
        }
    }
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A bucket's folder; the name must be one path segment.
fn bucket_dir(dir: &Path, request: &Value) -> Result<PathBuf, StoreError> {
    let bucket = text(request, "Bucket");
    if bucket.is_empty() || bucket.contains(['/', '\\']) || bucket == "." || bucket == ".." {
        return Err(local(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        ));
    }
    Ok(dir.join(bucket))
}

/// An object's file; a key that would leave the bucket's folder is refused.
pub(crate) fn file(dir: &Path, request: &Value) -> Result<PathBuf, StoreError> {
    let bucket = bucket_dir(dir, request)?;
    let key = text(request, "Key");
    let rel = Path::new(&key);
    if key.is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(local(
            400,
            "InvalidKey",
            format!("The key {key:?} names no file"),
        ));
    }
    Ok(bucket.join(rel))
}

/// The files under a bucket's folder whose key starts with `prefix`, in key order (as S3
/// lists them), as ListObjectsV2 describes them (ETag: the MD5 of the content, quoted).
fn list_dir(
    bucket: &Path,
    prefix: &str,
    start_after: &str,
    max: usize,
) -> Result<Vec<Listed>, StoreError> {
    if !bucket.is_dir() {
        return Err(local(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist",
        ));
    }
    // Only the first `max` keys in key order are kept, however many files the folder holds.
    let mut keys = std::collections::BTreeMap::new();
    let mut stack = vec![bucket.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| local(500, "InternalError", e.to_string()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(bucket) {
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                if key.starts_with(prefix) && key.as_str() > start_after {
                    keys.insert(key, p);
                    if keys.len() > max {
                        keys.pop_last();
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (key, path) in keys {
        let bytes = std::fs::read(&path).map_err(|e| local(500, "InternalError", e.to_string()))?;
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        use md5::Digest;
        let digest = md5::Md5::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        out.push(Listed {
            key,
            etag: format!("\"{hex}\""),
            last_modified: modified,
            size: bytes.len() as u64,
            storage_class: "STANDARD".into(),
        });
    }
    Ok(out)
}
