//! Step Functions' names for the AWS SDK integrations: the service name of the resource ARN
//! (`aws-sdk:<service>`) and of the error prefix (`<ServiceName>.<Error>`) are those of the AWS
//! SDK for Java 2.x client (`SfnClient` -> `sfn`, `Sfn.`; `DynamoDbClient` -> `dynamodb`,
//! `DynamoDb.`), derived from the model's service id the way that SDK's code generator derives
//! its client names; the action is the Java method name (`putItem` for `PutItem`).

use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The Java SDK's words of a name (its `splitOnWordBoundaries`): non-alphanumerics become
/// spaces, a standalone version (`v2`) is split off, camel case and acronyms are split, and a
/// digit followed by a letter starts a new word.
fn words(name: &str) -> Vec<String> {
    static RES: OnceLock<Option<[Regex; 5]>> = OnceLock::new();
    let Some([non_alnum, lower_v, upper_v, acronym, digit]) = RES
        .get_or_init(|| {
            Some([
                Regex::new("[^A-Za-z0-9]+").ok()?,
                Regex::new("([^a-z]{2,})v([0-9]+)").ok()?,
                Regex::new("([^A-Z]{2,})V([0-9]+)").ok()?,
                Regex::new("([A-Z]+)([A-Z][a-z])").ok()?,
                Regex::new("([0-9])([a-zA-Z])").ok()?,
            ])
        })
        .as_ref()
    else {
        return vec![name.to_string()];
    };
    let s = non_alnum.replace_all(name, " ");
    let s = lower_v.replace_all(&s, "$1 v$2 ");
    let s = upper_v.replace_all(&s, "$1 V$2 ");
    // camelCase (Java's lookaround `(?<=[a-z])(?=[A-Z]([a-zA-Z]|[0-9]))`).
    let chars: Vec<char> = s.chars().collect();
    let mut camel = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let split = i > 0
            && chars[i - 1].is_ascii_lowercase()
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric());
        if split {
            camel.push(' ');
        }
        camel.push(c);
    }
    let s = acronym.replace_all(&camel, "$1 $2");
    let s = digit.replace_all(&s, "$1 $2");
    s.split_whitespace().map(str::to_string).collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The Java SDK's client name of a service id: `DynamoDB` -> `DynamoDb`, `SFN` -> `Sfn`,
/// `Secrets Manager` -> `SecretsManager`, `Config Service` -> `Config`.
pub fn client_name(service_id: &str) -> String {
    let mut name: String = words(service_id)
        .iter()
        .map(|w| capitalize(&w.to_ascii_lowercase()))
        .collect();
    for prefix in ["Amazon", "Aws"] {
        if name.len() > prefix.len() && name.starts_with(prefix) {
            name = name[prefix.len()..].to_string();
        }
    }
    if name.len() > "Service".len() && name.ends_with("Service") {
        name.truncate(name.len() - "Service".len());
    }
    name
}

/// A Java method name (`unCapitalize`): the leading capital, or the leading acronym but its
/// last letter when a lower-case letter follows, in lower case (`PutItem` -> `putItem`,
/// `ListObjectsV2` -> `listObjectsV2`).
pub fn method_name(operation: &str) -> String {
    let chars: Vec<char> = operation.chars().collect();
    let mut out = String::with_capacity(operation.len());
    let Some(first) = chars.first() else {
        return out;
    };
    out.push(first.to_ascii_lowercase());
    let mut i = 1;
    while i < chars.len()
        && chars[i].is_ascii_uppercase()
        && !chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
    {
        out.push(chars[i].to_ascii_lowercase());
        i += 1;
    }
    out.extend(chars[i..].iter());
    out
}

/// Step Functions' name of a model member in parameters and results: PascalCase
/// (`stateMachineArn` -> `StateMachineArn`), and `EqualsValue` for `Equals`.
pub fn sfn_member_name(member: &str) -> String {
    let name = capitalize(member);
    if name == "Equals" {
        "EqualsValue".to_string()
    } else {
        name
    }
}

/// An `aws-sdk:*` service: botocore's name and the Java client name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkService {
    /// botocore's name (`stepfunctions`).
    pub botocore: String,
    /// The Java client name (`Sfn`), the prefix of error names.
    pub client: String,
}

fn table() -> &'static HashMap<String, SdkService> {
    static TABLE: OnceLock<HashMap<String, SdkService>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = HashMap::new();
        for (botocore, service_id) in stepwise_aws_api::service_index() {
            let client = client_name(service_id);
            t.entry(client.to_ascii_lowercase())
                .or_insert_with(|| SdkService {
                    botocore: botocore.clone(),
                    client,
                });
        }
        t
    })
}

/// The service of an `aws-sdk:<name>` resource.
pub fn sdk_service(name: &str) -> Option<SdkService> {
    table().get(name).cloned()
}

/// The model operation of an action (`putItem` -> `PutItem`): the operation whose Java method
/// name it is, else the one whose name it is regardless of case (`GetSecretValue`, as some
/// public definitions spell it).
pub fn operation_of(model: &stepwise_aws_api::ServiceModel, action: &str) -> Option<String> {
    model
        .operations
        .keys()
        .find(|op| method_name(op) == action)
        .or_else(|| {
            model
                .operations
                .keys()
                .find(|op| op.eq_ignore_ascii_case(action))
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_follow_the_java_sdk() {
        for (id, name) in [
            ("DynamoDB", "DynamoDb"),
            ("SFN", "Sfn"),
            ("S3", "S3"),
            ("Secrets Manager", "SecretsManager"),
            ("EventBridge", "EventBridge"),
            ("CloudWatch Logs", "CloudWatchLogs"),
            ("Redshift Data", "RedshiftData"),
            ("EC2", "Ec2"),
            ("IoT", "Iot"),
            ("SESv2", "SesV2"),
            ("ACM PCA", "AcmPca"),
            ("Config Service", "Config"),
            ("Elastic Load Balancing v2", "ElasticLoadBalancingV2"),
            ("SageMaker", "SageMaker"),
            ("API Gateway", "ApiGateway"),
            ("ApiGatewayManagementApi", "ApiGatewayManagementApi"),
            ("Database Migration Service", "DatabaseMigration"),
            ("CloudHSM V2", "CloudHsmV2"),
            ("Route53 Recovery Cluster", "Route53RecoveryCluster"),
            ("EMR Serverless", "EmrServerless"),
            ("Bedrock Agent Runtime", "BedrockAgentRuntime"),
        ] {
            assert_eq!(client_name(id), name, "{id}");
        }
    }

    #[test]
    fn the_resource_names_resolve_to_botocore_services() {
        for (sdk, botocore, client) in [
            ("sfn", "stepfunctions", "Sfn"),
            ("dynamodb", "dynamodb", "DynamoDb"),
            ("eventbridge", "events", "EventBridge"),
            ("secretsmanager", "secretsmanager", "SecretsManager"),
            ("cloudwatchlogs", "logs", "CloudWatchLogs"),
            ("redshiftdata", "redshift-data", "RedshiftData"),
            ("s3", "s3", "S3"),
            ("sqs", "sqs", "Sqs"),
            ("sns", "sns", "Sns"),
            ("ec2", "ec2", "Ec2"),
            ("lambda", "lambda", "Lambda"),
            ("cloudwatch", "cloudwatch", "CloudWatch"),
            ("config", "config", "Config"),
            ("bedrockruntime", "bedrock-runtime", "BedrockRuntime"),
            ("emrserverless", "emr-serverless", "EmrServerless"),
        ] {
            assert_eq!(
                sdk_service(sdk),
                Some(SdkService {
                    botocore: botocore.into(),
                    client: client.into()
                }),
                "{sdk}"
            );
        }
        assert_eq!(sdk_service("stepfunctions"), None);
    }

    #[test]
    fn actions_are_java_method_names() {
        assert_eq!(method_name("PutItem"), "putItem");
        assert_eq!(method_name("ListObjectsV2"), "listObjectsV2");
        assert_eq!(method_name("GetSSHPublicKey"), "getSSHPublicKey");
        assert_eq!(method_name("DBInstances"), "dbInstances");
        assert_eq!(sfn_member_name("stateMachineArn"), "StateMachineArn");
        assert_eq!(sfn_member_name("Equals"), "EqualsValue");
    }
}
