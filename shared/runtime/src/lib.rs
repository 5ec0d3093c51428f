//! The runtime around the pure engine: the drivers that carry out the engine's commands (the
//! durable `advance`, the in-process `run_execution`), fresh ids, and the task invokers without
//! I/O of their own (mock, router). The ports they drive are in `stepwise-ports`.

pub mod clock;
pub mod durable;
pub mod ids;
pub mod local;
pub mod tasks;
