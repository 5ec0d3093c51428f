//! `arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`: the DynamoDB item
//! operations, parameters as the API names them (`TableName`, `Key`, `Item`,
//! `UpdateExpression`, ...). The result is the operation's output (`Item`, `Attributes`,
//! `ConsumedCapacity`, ...) with `SdkHttpMetadata`/`SdkResponseMetadata`; errors are
//! `DynamoDB.<exception>` (`DynamoDB.ResourceNotFoundException`,
//! `DynamoDB.ConditionalCheckFailedException`, `DynamoDB.AmazonDynamoDBException` for the
//! validation errors).

use serde_json::Value;
use stepwise_ports::tasks::{TaskFailure, TaskRequest};

use super::backend::{with_metadata, Backend, ServiceNames};
use super::params;

/// How DynamoDB errors are named.
pub const NAMES: ServiceNames = ServiceNames {
    prefix: "DynamoDB",
    service: "AmazonDynamoDBv2",
    generic: "AmazonDynamoDBException",
    modeled: &[
        (
            "ProvisionedThroughputExceededException",
            "ProvisionedThroughputExceededException",
        ),
        ("ResourceNotFoundException", "ResourceNotFoundException"),
        ("RequestLimitExceeded", "RequestLimitExceededException"),
        ("InternalServerError", "InternalServerErrorException"),
        ("ThrottlingException", "ThrottlingException"),
        (
            "ConditionalCheckFailedException",
            "ConditionalCheckFailedException",
        ),
        (
            "ItemCollectionSizeLimitExceededException",
            "ItemCollectionSizeLimitExceededException",
        ),
        (
            "TransactionConflictException",
            "TransactionConflictException",
        ),
        (
            "ReplicatedWriteConflictException",
            "ReplicatedWriteConflictException",
        ),
    ],
};

/// One of the four item operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOp {
    /// `getItem`.
    Get,
    /// `putItem`.
    Put,
    /// `updateItem`.
    Update,
    /// `deleteItem`.
    Delete,
}

impl ItemOp {
    /// The operation for an integration action.
    pub fn from_action(action: &str) -> Option<Self> {
        match action {
            "getItem" => Some(Self::Get),
            "putItem" => Some(Self::Put),
            "updateItem" => Some(Self::Update),
            "deleteItem" => Some(Self::Delete),
            _ => None,
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Self::Get => "GetItem",
            Self::Put => "PutItem",
            Self::Update => "UpdateItem",
            Self::Delete => "DeleteItem",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Get => &[
                "TableName",
                "Key",
                "AttributesToGet",
                "ConsistentRead",
                "ReturnConsumedCapacity",
                "ProjectionExpression",
                "ExpressionAttributeNames",
            ],
            Self::Put => &[
                "TableName",
                "Item",
                "Expected",
                "ReturnValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "ConditionalOperator",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValuesOnConditionCheckFailure",
            ],
            Self::Update => &[
                "TableName",
                "Key",
                "AttributeUpdates",
                "Expected",
                "ConditionalOperator",
                "ReturnValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "UpdateExpression",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValuesOnConditionCheckFailure",
            ],
            Self::Delete => &[
                "TableName",
                "Key",
                "Expected",
                "ConditionalOperator",
                "ReturnValues",
                "ReturnConsumedCapacity",
                "ReturnItemCollectionMetrics",
                "ConditionExpression",
                "ExpressionAttributeNames",
                "ExpressionAttributeValues",
                "ReturnValuesOnConditionCheckFailure",
            ],
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Self::Put => &["TableName", "Item"],
            _ => &["TableName", "Key"],
        }
    }
}

/// The operation's input for the task's parameters.
pub fn input(op: ItemOp, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let map = params::fields(req, op.fields())?;
    if let Some(member) = params::first_missing(&map, op.required()) {
        return Err(NAMES.missing_member(member));
    }
    Ok(Value::Object(map))
}

/// `dynamodb:<op>`.
pub async fn run(b: &dyn Backend, op: ItemOp, req: &TaskRequest) -> Result<Value, TaskFailure> {
    let input = input(op, req)?;
    let reply = b
        .call("dynamodb", op.operation(), input)
        .await
        .map_err(|f| NAMES.failure(f))?;
    let output = reply.output.clone();
    Ok(with_metadata(output, &reply))
}
