//! Task invokers that call AWS services, beside the ports they implement
//! (`stepwise_ports::tasks::TaskInvoker`):
//! - [`LambdaInvoker`]: the Lambda `Invoke` API through `aws-sdk-lambda`, against AWS or a local
//!   endpoint such as `cargo lambda watch`.
//! - [`optimized`]: the optimized integrations (`arn:aws:states:::sqs:sendMessage`, ...) as
//!   calls to the AWS APIs.

pub mod lambda;
pub mod optimized;

pub use lambda::{LambdaInvoker, LambdaInvokerConfig};
