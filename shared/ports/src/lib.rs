//! The ports of Stepwise: the traits and types the stores, the task invokers and the drivers
//! share, and nothing that does I/O. A crate's dependencies show what it may touch: this one
//! depends on no AWS SDK, no database and no async runtime, so the API, the drivers and both
//! stores agree on one contract and each adapter brings its own I/O.
//!
//! * [`execution`]: the stored execution and [`execution::ExecutionStore`] /
//!   [`execution::Dispatcher`], what the durable driver needs.
//! * [`api`]: [`api::ApiStore`] (the control-plane records, listings, history pages, task
//!   tokens, activity tasks, timers) and [`api::Driver`], what the Step Functions API needs.
//! * [`tasks`]: [`tasks::TaskInvoker`] and the request and failure it carries.
//! * [`resource`]: which invoker a Task resource goes to.
//! * [`states_api`]: the Step Functions API as `states:startExecution` calls it.
//! * [`status_events`]: Step Functions' execution status change events and their sink.
//! * [`ids`]: the serverless home's stable hashes and message groups, for its operator tools.

pub mod api;
pub mod execution;
pub mod ids;
pub mod resource;
pub mod roles;
pub mod states_api;
pub mod status_events;
pub mod tasks;

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what the object-safe ports return (no `async-trait` needed).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
