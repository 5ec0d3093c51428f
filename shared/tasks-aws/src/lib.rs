//! Task invokers that call AWS services, beside the ports they implement
//! (`stepwise_ports::tasks::TaskInvoker`):
//! - [`LambdaInvoker`]: the Lambda `Invoke` API through `aws-sdk-lambda`, against AWS or a local
//!   endpoint such as `cargo lambda watch`.
//! - [`aws_sdk`]: the `aws-sdk:*` Tasks, any AWS API through `stepwise-aws-api`'s generic caller
//!   with Step Functions' naming conventions.
//! - [`optimized`]: the optimized integrations (`arn:aws:states:::sqs:sendMessage`, ...) as
//!   calls to the AWS APIs.

pub mod aws_sdk;
pub mod lambda;
pub mod optimized;

pub use lambda::{LambdaInvoker, LambdaInvokerConfig};
