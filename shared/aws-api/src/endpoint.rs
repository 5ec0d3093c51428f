//! Where a call goes: the configured endpoint (`--aws-endpoint-url`), the SDKs' environment
//! variables (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), else the service's
//! endpoint in the region's partition (`https://{endpointPrefix}.{region}.{dnsSuffix}`, or the
//! global endpoint of a service that is not regionalized, signed for its region).

use crate::model::ServiceModel;
use std::collections::HashMap;

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port][/base path]`, without a trailing slash.
    pub url: String,
    /// The region to sign for.
    pub signing_region: String,
    /// Whether the endpoint was configured (an emulator, a proxy) rather than AWS's own.
    pub custom: bool,
}

/// The endpoint overrides read from the environment once, as an SDK client reads them at
/// construction.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--aws-endpoint-url` (wins over everything).
    pub explicit: Option<String>,
    /// `AWS_ENDPOINT_URL`.
    pub global: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` by `<SERVICE>`.
    pub per_service: HashMap<String, String>,
}

impl Overrides {
    /// Reads the variables, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
    pub fn from_env(explicit: Option<String>) -> Self {
        let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let mut o = Overrides {
            explicit: explicit.filter(|e| !e.is_empty()),
            ..Overrides::default()
        };
        if ignore {
            return o;
        }
        for (k, v) in std::env::vars() {
            if v.is_empty() {
                continue;
            }
            if k == "AWS_ENDPOINT_URL" {
                o.global = Some(v);
            } else if let Some(service) = k.strip_prefix("AWS_ENDPOINT_URL_") {
                o.per_service.insert(service.to_string(), v);
            }
        }
        o
    }
}

/// The environment variable suffix of a service: its service id upper-cased, spaces turned into
/// underscores (`DynamoDB` -> `DYNAMODB`, `Secrets Manager` -> `SECRETS_MANAGER`).
pub fn env_suffix(service_id: &str) -> String {
    service_id.to_ascii_uppercase().replace([' ', '-'], "_")
}

/// The partition of a region and its DNS suffix.
pub fn partition(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else if region.starts_with("us-isob-") {
        ("aws-iso-b", "sc2s.sgov.gov")
    } else if region.starts_with("us-isof-") {
        ("aws-iso-f", "csp.hci.ic.gov")
    } else if region.starts_with("us-iso-") {
        ("aws-iso", "c2s.ic.gov")
    } else if region.starts_with("eu-isoe-") {
        ("aws-iso-e", "cloud.adc-e.uk")
    } else {
        ("aws", "amazonaws.com")
    }
}

/// Resolves the endpoint of `model` in `region`.
pub fn resolve(model: &ServiceModel, region: &str, overrides: &Overrides) -> Endpoint {
    let custom = overrides
        .explicit
        .clone()
        .or_else(|| {
            overrides
                .per_service
                .get(&env_suffix(&model.metadata.service_id))
                .cloned()
        })
        .or_else(|| overrides.global.clone());
    if let Some(url) = custom {
        return Endpoint {
            url: url.trim_end_matches('/').to_string(),
            signing_region: region.to_string(),
            custom: true,
        };
    }
    let (part, suffix) = partition(region);
    if let Some((host, signing_region)) = model.metadata.global_endpoints.get(part) {
        return Endpoint {
            url: format!("https://{host}"),
            signing_region: signing_region.clone(),
            custom: false,
        };
    }
    Endpoint {
        url: format!(
            "https://{}.{region}.{suffix}",
            model.metadata.endpoint_prefix
        ),
        signing_region: region.to_string(),
        custom: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> std::sync::Arc<ServiceModel> {
        crate::service_model(name).unwrap()
    }

    #[test]
    fn regional_global_and_partition_endpoints() {
        let none = Overrides::default();
        assert_eq!(
            resolve(&model("dynamodb"), "eu-west-1", &none).url,
            "https://dynamodb.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            resolve(&model("stepfunctions"), "us-east-1", &none).url,
            "https://states.us-east-1.amazonaws.com"
        );
        assert_eq!(
            resolve(&model("sqs"), "cn-north-1", &none).url,
            "https://sqs.cn-north-1.amazonaws.com.cn"
        );
        let iam = resolve(&model("iam"), "eu-west-1", &none);
        assert_eq!(iam.url, "https://iam.amazonaws.com");
        assert_eq!(iam.signing_region, "us-east-1");
        assert!(!iam.custom);
    }

    #[test]
    fn overrides_in_the_sdks_order() {
        let mut o = Overrides {
            global: Some("http://all:1/".to_string()),
            ..Overrides::default()
        };
        o.per_service
            .insert("DYNAMODB".to_string(), "http://ddb:2".to_string());
        o.per_service
            .insert("SFN".to_string(), "http://sfn:3".to_string());
        let ddb = resolve(&model("dynamodb"), "eu-west-1", &o);
        assert_eq!(ddb.url, "http://ddb:2");
        assert_eq!(ddb.signing_region, "eu-west-1");
        assert!(ddb.custom);
        assert_eq!(
            resolve(&model("stepfunctions"), "us-east-1", &o).url,
            "http://sfn:3"
        );
        assert_eq!(resolve(&model("sns"), "us-east-1", &o).url, "http://all:1");
        o.explicit = Some("http://cli:4".to_string());
        assert_eq!(
            resolve(&model("dynamodb"), "us-east-1", &o).url,
            "http://cli:4"
        );
        assert_eq!(env_suffix("Secrets Manager"), "SECRETS_MANAGER");
        assert_eq!(env_suffix("EventBridge"), "EVENTBRIDGE");
    }
}
