//! One module per state type: each evaluates only what its type does.

mod choice;
mod fail;
mod map;
pub(crate) mod map_external;
pub(crate) mod map_io;
mod parallel;
mod pass;
mod succeed;
mod task;
mod wait;

pub(crate) use task::TaskFields;
