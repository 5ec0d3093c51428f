//! The runtime around the pure engine: the ports (task invocation, storage, timers) and the
//! drivers that carry out the engine's commands.

pub mod durable;
pub mod ids;
pub mod local;
pub mod ports;
pub mod tasks;
