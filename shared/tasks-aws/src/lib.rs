//! Task invokers that call AWS services, beside the ports they implement
//! (`stepwise_ports::tasks::TaskInvoker`):
//! - [`LambdaInvoker`]: the Lambda `Invoke` API through `aws-sdk-lambda`, against AWS or a local
//!   endpoint such as `cargo lambda watch`.
//! - [`AwsServiceInvoker`] ([`services`]): every other service integration, dispatched by the
//!   Task's resource: `states:startExecution` ([`states`]), `http:invoke` ([`http_invoke`],
//!   with EventBridge [`connections`]), `apigateway:invoke` ([`apigateway`]), the other
//!   optimized integrations ([`optimized`]), `aws-sdk:*` ([`aws_sdk`]: any AWS API through
//!   `stepwise-aws-api`'s generic caller with Step Functions' naming conventions).
//! - [`roles`]: calling as the execution's role (STS AssumeRole), in the serverless home.
//! - [`wire`]: plain HTTP, SigV4 signing and where each AWS service is reached.

pub mod apigateway;
pub mod aws_sdk;
pub mod connections;
pub mod http_invoke;
pub mod lambda;
pub mod map_io;
pub mod mock_check;
pub mod optimized;
pub mod roles;
pub mod services;
pub mod states;
pub mod status_events;
pub mod wire;

pub use lambda::{LambdaInvoker, LambdaInvokerConfig};
pub use services::{AwsServiceInvoker, ServiceSettings};
pub use status_events::EventBridgeStatusEvents;
