//! TestState's `mock.fieldValidationMode`: a mocked result is checked against the output shape
//! of the API the Task calls, as AWS checks it (messages from LocalStack's AWS-validated
//! `test_field_validation_mode*` snapshots).
//!
//! - `STRICT` (the default): every required member is present and every present member has its
//!   type; `PRESENT`: only the present members; `NONE`: nothing.
//! - Members are named as Step Functions names results (PascalCase: `ExecutionArn`); members the
//!   model does not know are let through.
//! - A blob is text (lambda:invoke's `Payload` too: AWS refuses a JSON object there).
//! - Only request-response calls are checked: a `.sync` or `.waitForTaskToken` result is not the
//!   API's output. `http:invoke` and `apigateway:invoke` have no model.
//!
//! A string's enum values and length, a blob's length and a number's range are checked against
//! the model's `enum`, `min` and `max` too (AWS's messages for enum, minimum length, minimum and
//! maximum value are recorded; "exceeds the maximum length" follows them).

use crate::aws_sdk::{operation_of, sdk_service};
use serde_json::Value;
use stepwise_asl::resource::{IntegrationPattern, ResourceKind, TaskResource};
use stepwise_aws_api::{ServiceModel, ShapeType};

/// botocore's service of an optimized integration.
fn optimized_service(service: &str) -> Option<&'static str> {
    Some(match service {
        "lambda" => "lambda",
        "states" => "stepfunctions",
        "events" => "events",
        "sqs" => "sqs",
        "sns" => "sns",
        "dynamodb" => "dynamodb",
        "ecs" => "ecs",
        "batch" => "batch",
        "glue" => "glue",
        "athena" => "athena",
        "bedrock" => "bedrock-runtime",
        _ => return None,
    })
}

fn sfn_cased(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn problem(m: String) -> String {
    format!("Mock result schema validation error: {m}")
}

/// Checks a mocked `result` for the Task's `resource`; `Err` is AWS's message.
pub fn check_mock_result(
    resource: &TaskResource,
    result: &Value,
    strict: bool,
) -> Result<(), String> {
    if resource.pattern() != IntegrationPattern::RequestResponse {
        return Ok(());
    }
    let resolved = match resource.kind() {
        ResourceKind::AwsSdk { service, action } => sdk_service(service).and_then(|sdk| {
            let model = stepwise_aws_api::service_model(&sdk.botocore)?;
            let op = operation_of(&model, action)?;
            Some((model, op))
        }),
        ResourceKind::LambdaInvoke => {
            stepwise_aws_api::service_model("lambda").map(|m| (m, "Invoke".to_string()))
        }
        ResourceKind::Optimized { service, action } => optimized_service(service).and_then(|s| {
            let model = stepwise_aws_api::service_model(s)?;
            let op = operation_of(&model, action)?;
            Some((model, op))
        }),
        _ => None,
    };
    let Some((model, operation)) = resolved else {
        return Ok(());
    };
    let Some(shape) = model.operation(&operation).and_then(|op| op.output.clone()) else {
        return Ok(());
    };
    let Value::Object(_) = result else {
        return Err(problem("the result must be a JSON object".into()));
    };
    Checker {
        model: &model,
        strict,
    }
    .value(result, &shape, None)
}

struct Checker<'m> {
    model: &'m ServiceModel,
    strict: bool,
}

impl Checker<'_> {
    fn value(&self, v: &Value, shape_name: &str, field: Option<&str>) -> Result<(), String> {
        let Some(shape) = self.model.shape(shape_name) else {
            return Ok(());
        };
        let name = field.unwrap_or("");
        let must = |what: &str| Err(problem(format!("Field '{name}' must be {what}")));
        if shape.document {
            return Ok(());
        }
        match shape.shape_type {
            ShapeType::Structure => {
                let Value::Object(o) = v else {
                    return must("an object");
                };
                if self.strict {
                    for r in &shape.required {
                        let key = sfn_cased(r);
                        if !o.contains_key(&key) {
                            return Err(problem(format!("Required field '{key}' is missing")));
                        }
                    }
                }
                for (member, m) in &shape.members {
                    let key = sfn_cased(member);
                    if let Some(x) = o.get(&key) {
                        self.value(x, &m.shape, Some(&key))?;
                    }
                }
                Ok(())
            }
            ShapeType::List => {
                let Value::Array(a) = v else {
                    return must("an array");
                };
                match &shape.member {
                    Some(m) => a.iter().try_for_each(|x| self.value(x, &m.shape, field)),
                    None => Ok(()),
                }
            }
            ShapeType::Map => {
                let Value::Object(o) = v else {
                    return must("an object");
                };
                match &shape.value {
                    Some(m) => o.values().try_for_each(|x| self.value(x, &m.shape, field)),
                    None => Ok(()),
                }
            }
            ShapeType::Timestamp => {
                if v.is_string() {
                    Ok(())
                } else {
                    must("a string")
                }
            }
            ShapeType::String | ShapeType::Blob => {
                let Value::String(text) = v else {
                    return must("a string");
                };
                let not = |what: &str| Err(problem(format!("Field '{name}' {what}")));
                if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|e| e == text) {
                    return not("is not an expected value");
                }
                let len = text.chars().count() as f64;
                if shape.min.is_some_and(|m| len < m) {
                    return not("is smaller than the minimum length");
                }
                if shape.max.is_some_and(|m| len > m) {
                    return not("exceeds the maximum length");
                }
                Ok(())
            }
            ShapeType::Integer
            | ShapeType::Long
            | ShapeType::Short
            | ShapeType::Byte
            | ShapeType::BigInteger
            | ShapeType::Float
            | ShapeType::Double
            | ShapeType::BigDecimal => {
                let whole = !matches!(
                    shape.shape_type,
                    ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal
                );
                let n = match v.as_f64() {
                    Some(n) if !whole || v.is_i64() || v.is_u64() => n,
                    _ => return must("a number"),
                };
                if shape.min.is_some_and(|m| n < m) {
                    return Err(problem(format!(
                        "Field '{name}' is less than the minimum value"
                    )));
                }
                if shape.max.is_some_and(|m| n > m) {
                    return Err(problem(format!("Field '{name}' exceeds the maximum value")));
                }
                Ok(())
            }
            ShapeType::Boolean => {
                if v.is_boolean() {
                    Ok(())
                } else {
                    must("a boolean")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(resource: &str, v: Value, strict: bool) -> Result<(), String> {
        check_mock_result(&TaskResource::parse(resource), &v, strict)
    }

    #[test]
    fn mocked_results_are_checked_against_the_output_shape() {
        let start = "arn:aws:states:::states:startExecution";
        assert_eq!(
            check(start, json!({"StartDate": "2025-01-01T00:00:00Z"}), true),
            Err(
                "Mock result schema validation error: Required field 'ExecutionArn' is missing"
                    .into()
            )
        );
        assert_eq!(check(start, json!({"StartDate": "x"}), false), Ok(()));
        assert_eq!(
            check(
                start,
                json!({"ExecutionArn": "a", "StartDate": true}),
                false
            ),
            Err("Mock result schema validation error: Field 'StartDate' must be a string".into())
        );
        let invoke = "arn:aws:states:::lambda:invoke";
        assert_eq!(
            check(invoke, json!({"StatusCode": "200"}), true),
            Err("Mock result schema validation error: Field 'StatusCode' must be a number".into())
        );
        // A blob, lambda:invoke's Payload too, is text in the model (AWS refuses a JSON Payload).
        assert_eq!(
            check(
                invoke,
                json!({"Payload": "function output", "StatusCode": 200}),
                true
            ),
            Ok(())
        );
        assert_eq!(
            check(invoke, json!({"Payload": {"any": "json"}}), true),
            Err("Mock result schema validation error: Field 'Payload' must be a string".into())
        );
        assert_eq!(
            check(
                "arn:aws:states:::events:putEvents",
                json!({"Entries": {}}),
                true
            ),
            Err("Mock result schema validation error: Field 'Entries' must be an array".into())
        );
        assert_eq!(
            check(
                "arn:aws:states:::events:putEvents",
                json!({"Entries": [{"EventId": 1}]}),
                true
            ),
            Err("Mock result schema validation error: Field 'EventId' must be a string".into())
        );
        assert_eq!(
            check(
                "arn:aws:states:::aws-sdk:kms:encrypt",
                json!({"CiphertextBlob": 1}),
                false
            ),
            Err(
                "Mock result schema validation error: Field 'CiphertextBlob' must be a string"
                    .into()
            )
        );
        // Unknown members, .sync results and HTTP Tasks are let through.
        assert_eq!(
            check(
                start,
                json!({"ExecutionArn": "a", "StartDate": "d", "random": 1}),
                true
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "arn:aws:states:::states:startExecution.sync",
                json!({}),
                true
            ),
            Ok(())
        );
        assert_eq!(
            check("arn:aws:states:::http:invoke", json!({}), true),
            Ok(())
        );
    }

    #[test]
    fn enum_values_lengths_and_ranges_are_checked_as_aws_words_them() {
        let e = |m: &str| Err(format!("Mock result schema validation error: {m}"));
        let s3 = "arn:aws:states:::aws-sdk:s3:getObject";
        let kms = "arn:aws:states:::aws-sdk:kms:encrypt";
        let get = "arn:aws:states:::aws-sdk:lambda:getFunction";
        for strict in [true, false] {
            assert_eq!(
                check(s3, json!({"StorageClass": "Papyrus"}), strict),
                e("Field 'StorageClass' is not an expected value")
            );
            assert_eq!(
                check(s3, json!({"StorageClass": "GLACIER"}), strict),
                Ok(())
            );
            assert_eq!(
                check(kms, json!({"CiphertextBlob": ""}), strict),
                e("Field 'CiphertextBlob' is smaller than the minimum length")
            );
            let memory = |n: i64| json!({"Configuration": {"MemorySize": n}});
            assert_eq!(
                check(get, memory(127), strict),
                e("Field 'MemorySize' is less than the minimum value")
            );
            assert_eq!(
                check(get, memory(32769), strict),
                e("Field 'MemorySize' exceeds the maximum value")
            );
            assert_eq!(check(get, memory(128), strict), Ok(()));
        }
    }
}
