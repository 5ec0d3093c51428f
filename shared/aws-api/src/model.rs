//! The embedded service models: `models/services.bin`, written by `models/generate.py`.
//!
//! Layout: the 4 bytes `SWM1`, a little-endian `u32` header length, the header (JSON: one entry
//! per service with its name, `serviceId`, `endpointPrefix`, protocol and the offset/length of
//! its model), then each service's model as a zlib stream of compact JSON (botocore's
//! `service-2.json` without documentation, examples or constraints the SDKs do not check).
//! A service's model is inflated and parsed on first use and kept for the process's lifetime.

use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

static BLOB: &[u8] = include_bytes!("../models/services.bin");

/// One entry of the embedded index.
#[derive(Debug, Clone, Deserialize)]
struct IndexEntry {
    name: String,
    #[serde(rename = "serviceId")]
    service_id: String,
    offset: usize,
    len: usize,
}

struct Registry {
    entries: HashMap<String, IndexEntry>,
    names: Vec<String>,
    index: Vec<(String, String)>,
    loaded: Mutex<HashMap<String, Arc<ServiceModel>>>,
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let entries: Vec<IndexEntry> = parse_index(BLOB).unwrap_or_default();
        let names = entries.iter().map(|e| e.name.clone()).collect();
        let index = entries
            .iter()
            .map(|e| (e.name.clone(), e.service_id.clone()))
            .collect();
        Registry {
            index,
            entries: entries.into_iter().map(|e| (e.name.clone(), e)).collect(),
            names,
            loaded: Mutex::new(HashMap::new()),
        }
    })
}

fn parse_index(blob: &[u8]) -> Option<Vec<IndexEntry>> {
    if blob.get(..4)? != b"SWM1" {
        return None;
    }
    let len = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
    let header = blob.get(8..8 + len)?;
    let mut entries: Vec<IndexEntry> = serde_json::from_slice(header).ok()?;
    for e in &mut entries {
        e.offset += 8 + len;
    }
    Some(entries)
}

fn load(entry: &IndexEntry) -> Option<ServiceModel> {
    let bytes = BLOB.get(entry.offset..entry.offset + entry.len)?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(bytes)
        .read_to_end(&mut json)
        .ok()?;
    let mut model: ServiceModel = serde_json::from_slice(&json).ok()?;
    model.name = entry.name.clone();
    Some(model)
}

/// The model of a service by botocore's name (`dynamodb`, `s3`, `stepfunctions`, ...), for
/// validation at creation (does it have this operation?) and for the callers.
pub fn service_model(service: &str) -> Option<Arc<ServiceModel>> {
    let reg = registry();
    let entry = reg.entries.get(service)?;
    let mut loaded = reg.loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = loaded.get(service) {
        return Some(m.clone());
    }
    let model = Arc::new(load(entry)?);
    loaded.insert(service.to_string(), model.clone());
    Some(model)
}

/// botocore's names of every embedded service, sorted.
pub fn service_names() -> &'static [String] {
    &registry().names
}

/// Every embedded service as (botocore's name, service id), sorted by name.
pub fn service_index() -> &'static [(String, String)] {
    &registry().index
}

/// A service's model.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceModel {
    /// botocore's service name (`dynamodb`).
    #[serde(skip)]
    pub name: String,
    /// The service's metadata.
    pub metadata: Metadata,
    /// The operations by name (`PutItem`).
    pub operations: HashMap<String, Operation>,
    /// The shapes by name.
    pub shapes: HashMap<String, Shape>,
}

impl ServiceModel {
    /// The operation of this name, if the model has it.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The shape of this name.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }
}

/// A service's metadata (botocore's names).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `json`, `rest-json`, `rest-xml`, `query` or `ec2` (botocore's names for awsJson1_x,
    /// restJson1, restXml, awsQuery, ec2Query).
    pub protocol: String,
    /// The protocols the service speaks, preferred first, when the model lists several.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// The host prefix of the endpoint (`dynamodb` in `dynamodb.us-east-1.amazonaws.com`).
    pub endpoint_prefix: String,
    /// The SigV4 service name, when it differs from the endpoint prefix.
    #[serde(default)]
    pub signing_name: Option<String>,
    /// The `X-Amz-Target` prefix of the JSON protocols.
    #[serde(default)]
    pub target_prefix: Option<String>,
    /// `1.0` or `1.1` for the JSON protocols.
    #[serde(default)]
    pub json_version: Option<String>,
    /// The service id (`DynamoDB`, `SFN`, `EventBridge`), which names the
    /// `AWS_ENDPOINT_URL_<SERVICE>` variable.
    pub service_id: String,
    /// The global endpoint's host of a global service (`iam.amazonaws.com`).
    #[serde(default)]
    pub global_endpoint: Option<String>,
    /// The global endpoint per partition of a service that is not regionalized (from botocore's
    /// `endpoints.json`): partition (`aws`) -> (host, signing region).
    #[serde(default)]
    pub global_endpoints: HashMap<String, (String, String)>,
    /// The API version (`2012-08-10`), sent by the query protocols.
    pub api_version: String,
    /// The XML namespace of restXml requests.
    #[serde(default)]
    pub xml_namespace: Option<String>,
    /// Present when a JSON service keeps its former query protocol's error codes (sent in
    /// `x-amzn-query-error`), as SQS does.
    #[serde(default)]
    pub aws_query_compatible: Option<serde_json::Value>,
    /// `v4`, `s3`, `s3v4`, `v2`, `bearer`: how to sign.
    #[serde(default)]
    pub signature_version: Option<String>,
}

/// One operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The HTTP binding.
    pub http: Http,
    /// The input shape's name.
    #[serde(default)]
    pub input: Option<String>,
    /// The input's XML root element, when the whole input is the restXml body.
    #[serde(default)]
    pub input_location_name: Option<String>,
    /// The input's XML namespace, with [`Self::input_location_name`].
    #[serde(default)]
    pub input_xml_namespace: Option<XmlNamespace>,
    /// The output shape's name.
    #[serde(default)]
    pub output: Option<String>,
    /// The query protocol's result wrapper element (`SendMessageResult`).
    #[serde(default)]
    pub result_wrapper: Option<String>,
    /// The error shapes' names.
    #[serde(default)]
    pub errors: Vec<String>,
    /// A prefix of the endpoint's host (`{Bucket}.` or `data.`), with `{Member}` labels.
    #[serde(default)]
    pub host_prefix: Option<String>,
    /// Whether the request must carry a `Content-MD5` checksum.
    #[serde(default)]
    pub checksum_required: bool,
    /// `none` when the operation is not signed.
    #[serde(default)]
    pub authtype: Option<String>,
}

/// An operation's HTTP binding.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query template (`/{Bucket}/{Key+}?uploads`).
    pub request_uri: String,
    /// The success status code, when the model names one.
    #[serde(default)]
    pub response_code: Option<u16>,
}

/// A shape's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeType {
    /// An object with named members.
    #[default]
    Structure,
    /// A list.
    List,
    /// A map.
    Map,
    /// Text.
    String,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    Long,
    /// 16-bit integer.
    Short,
    /// 8-bit integer.
    Byte,
    /// Single-precision number.
    Float,
    /// Double-precision number.
    Double,
    /// Arbitrary-precision number.
    #[serde(rename = "bigdecimal")]
    BigDecimal,
    /// Arbitrary-precision integer.
    #[serde(rename = "biginteger")]
    BigInteger,
    /// true/false.
    Boolean,
    /// Bytes.
    Blob,
    /// A point in time.
    Timestamp,
}

/// A shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    /// The type.
    #[serde(rename = "type")]
    pub shape_type: ShapeType,
    /// A structure's members, in the model's order.
    #[serde(default)]
    pub members: Vec<(String, Member)>,
    /// A structure's required members.
    #[serde(default)]
    pub required: Vec<String>,
    /// The member that is the HTTP payload (REST protocols).
    #[serde(default)]
    pub payload: Option<String>,
    /// A list's member.
    #[serde(default)]
    pub member: Option<Box<Member>>,
    /// A map's key.
    #[serde(default)]
    pub key: Option<Box<Member>>,
    /// A map's value.
    #[serde(default)]
    pub value: Option<Box<Member>>,
    /// A flattened list or map (XML, query).
    #[serde(default)]
    pub flattened: bool,
    /// The XML element name of the shape.
    #[serde(default)]
    pub location_name: Option<String>,
    /// The XML namespace of the shape.
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    /// A streaming blob (S3 object bodies).
    #[serde(default)]
    pub streaming: bool,
    /// `iso8601`, `rfc822` or `unixTimestamp`.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// A union: exactly one member set.
    #[serde(default)]
    pub union: bool,
    /// The least length (string, blob, list, map) or value (number) the model allows.
    #[serde(default)]
    pub min: Option<f64>,
    /// The greatest length or value the model allows.
    #[serde(default)]
    pub max: Option<f64>,
    /// A string's allowed values, when the model lists them.
    #[serde(default, rename = "enum")]
    pub enum_values: Vec<String>,
    /// A document (any JSON).
    #[serde(default)]
    pub document: bool,
    /// An error shape's binding.
    #[serde(default)]
    pub error: Option<ErrorBinding>,
    /// Whether the shape is an exception.
    #[serde(default)]
    pub exception: bool,
}

impl Shape {
    /// The member of this name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }
}

/// An error shape's code and status.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBinding {
    /// The code on the wire, when it differs from the shape's name.
    #[serde(default)]
    pub code: Option<String>,
    /// The HTTP status.
    #[serde(default)]
    pub http_status_code: Option<u16>,
}

/// An XML namespace.
#[derive(Debug, Clone, Deserialize)]
pub struct XmlNamespace {
    /// The URI.
    #[serde(default)]
    pub uri: Option<String>,
    /// The prefix (`xmlns:prefix`), when there is one.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// A reference to a shape: a structure's member, a list's member, a map's key or value.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The shape's name.
    pub shape: String,
    /// `header`, `headers`, `uri`, `querystring`, `statusCode` (REST protocols).
    #[serde(default)]
    pub location: Option<String>,
    /// The name on the wire (header, label, query key, XML element or JSON key).
    #[serde(default)]
    pub location_name: Option<String>,
    /// The EC2 protocol's query key.
    #[serde(default)]
    pub query_name: Option<String>,
    /// A flattened list or map member (XML, query).
    #[serde(default)]
    pub flattened: bool,
    /// The member's XML namespace.
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    /// An XML attribute instead of an element.
    #[serde(default)]
    pub xml_attribute: bool,
    /// A header carrying base64 JSON.
    #[serde(default)]
    pub jsonvalue: bool,
    /// Filled with a fresh UUID when the input omits it.
    #[serde(default)]
    pub idempotency_token: bool,
    /// A label of the operation's host prefix.
    #[serde(default)]
    pub host_label: bool,
    /// The member's timestamp format, overriding the shape's.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// A streaming payload member.
    #[serde(default)]
    pub streaming: bool,
    /// An event stream (not supported by the caller).
    #[serde(default)]
    pub eventstream: bool,
}
