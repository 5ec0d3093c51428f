//! The cost meter: what AWS requests an execution made, and what they cost at public prices.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use stepwise_ports::execution::Usage;

/// Public on-demand prices in us-east-1, in US dollars per unit (list prices as published in
/// 2025, DynamoDB's after its November 2024 cut; override them when yours differ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// Per DynamoDB on-demand read request unit ($0.125 per million).
    pub dynamodb_read_unit: f64,
    /// Per DynamoDB on-demand write request unit ($0.625 per million).
    pub dynamodb_write_unit: f64,
    /// Per SQS FIFO request ($0.50 per million).
    pub sqs_fifo_request: f64,
    /// Per SQS standard request ($0.40 per million).
    pub sqs_standard_request: f64,
    /// Per EventBridge Scheduler invocation ($1.00 per million).
    pub scheduler_invocation: f64,
    /// Per Lambda request ($0.20 per million).
    pub lambda_request: f64,
    /// Per Lambda GB-second on arm64 ($0.0000133334).
    pub lambda_gb_second: f64,
    /// Per S3 PUT ($0.005 per thousand).
    pub s3_put: f64,
    /// Per S3 GET ($0.0004 per thousand).
    pub s3_get: f64,
    /// Per Step Functions Standard state transition ($25 per million).
    pub step_functions_transition: f64,
    /// The memory of the user's task functions in GB, to price their duration (128 MB unless
    /// told otherwise: the meter does not see their configuration).
    pub task_function_gb: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            dynamodb_read_unit: 0.125e-6,
            dynamodb_write_unit: 0.625e-6,
            sqs_fifo_request: 0.50e-6,
            sqs_standard_request: 0.40e-6,
            scheduler_invocation: 1.00e-6,
            lambda_request: 0.20e-6,
            lambda_gb_second: 0.000_013_333_4,
            s3_put: 0.005e-3,
            s3_get: 0.0004e-3,
            step_functions_transition: 25e-6,
            task_function_gb: 128.0 / 1024.0,
        }
    }
}

impl Prices {
    /// What Stepwise's own requests in `u` cost in US dollars at these prices: its overhead,
    /// the user's task calls left out (see [`Prices::task_cost`]).
    pub fn cost(&self, u: &Usage) -> f64 {
        u.dynamodb_read_units * self.dynamodb_read_unit
            + u.dynamodb_write_units * self.dynamodb_write_unit
            + u.sqs_fifo_requests as f64 * self.sqs_fifo_request
            + u.sqs_standard_requests as f64 * self.sqs_standard_request
            + u.schedules as f64 * self.scheduler_invocation
            + u.lambda_invocations as f64 * self.lambda_request
            + u.lambda_gb_seconds * self.lambda_gb_second
            + u.s3_puts as f64 * self.s3_put
            + u.s3_gets as f64 * self.s3_get
    }

    /// What the task calls of `u` cost the user's functions (Lambda requests and duration at
    /// [`Prices::task_function_gb`]): paid with Step Functions too, so never part of the overhead.
    pub fn task_cost(&self, u: &Usage) -> f64 {
        u.task_invocations as f64 * self.lambda_request
            + u.task_seconds * self.task_function_gb * self.lambda_gb_second
    }

    /// What AWS Step Functions Standard would charge for the transitions of `u`.
    pub fn step_functions_cost(&self, u: &Usage) -> f64 {
        u.transitions as f64 * self.step_functions_transition
    }
}

/// Counts requests as they are made, per execution: the adapters of one container serve one
/// execution at a time, named by [`Meter::begin`]; what they count goes to its bucket until it is
/// taken with its next commit.
#[derive(Debug, Default)]
pub struct Meter(Mutex<Buckets>);

#[derive(Debug, Default)]
struct Buckets {
    current: String,
    usage: HashMap<String, Usage>,
    /// The size of each execution's META item as last read or written: an update is billed
    /// by the size of the whole item, not of what it changes.
    meta_bytes: HashMap<String, usize>,
    /// The size of the attributes of each execution's META item that no step writes (what the
    /// start stored for listings, [`crate::table::FIXED_ATTRIBUTES`]), as last read or written.
    fixed_bytes: HashMap<String, usize>,
}

impl Meter {
    /// From now on, count for `execution`.
    pub fn begin(&self, execution: &str) {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if b.current != execution {
            b.current = execution.to_string();
        }
    }

    /// Applies `f` to the current execution's usage.
    pub fn record(&self, f: impl FnOnce(&mut Usage)) {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = b.current.clone();
        f(b.usage.entry(key).or_default());
    }

    /// Notes the size of `execution`'s META item, read or written.
    pub fn note_meta_size(&self, execution: &str, bytes: usize) {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if b.meta_bytes.len() > 10_000 {
            b.meta_bytes.clear();
        }
        b.meta_bytes.insert(execution.to_string(), bytes);
    }

    /// Notes the size of the attributes of `execution`'s META item that no step writes.
    pub fn note_fixed_size(&self, execution: &str, bytes: usize) {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if b.fixed_bytes.len() > 10_000 {
            b.fixed_bytes.clear();
        }
        b.fixed_bytes.insert(execution.to_string(), bytes);
    }

    /// The size of the attributes of `execution`'s META item that no step writes, as last
    /// noted (0 when not known).
    pub fn fixed_size(&self, execution: &str) -> usize {
        let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        b.fixed_bytes.get(execution).copied().unwrap_or(0)
    }

    /// The size of `execution`'s META item as last noted (0 when not known).
    pub fn meta_size(&self, execution: &str) -> usize {
        let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        b.meta_bytes.get(execution).copied().unwrap_or(0)
    }

    /// An update of `execution`'s META item (of attributes GSI1 does not project, so nothing
    /// is written to the index): its whole size in write units.
    pub fn meta_update(&self, execution: &str) {
        let bytes = {
            let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
            b.meta_bytes.get(execution).copied().unwrap_or(1024)
        };
        self.dynamodb_write(bytes);
    }

    /// Takes what was counted for the current execution and starts it again from zero.
    pub fn take(&self) -> Usage {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = b.current.clone();
        b.usage.remove(&key).unwrap_or_default()
    }

    /// A DynamoDB write of an item of `bytes`.
    pub fn dynamodb_write(&self, bytes: usize) {
        self.record(|u| {
            u.dynamodb_requests += 1;
            u.dynamodb_write_units += units(bytes, 1024);
        });
    }

    /// A strongly consistent DynamoDB read returning `bytes`.
    pub fn dynamodb_read(&self, bytes: usize) {
        self.record(|u| {
            u.dynamodb_requests += 1;
            u.dynamodb_read_units += units(bytes, 4096);
        });
    }

    /// A write of an index entry of `bytes` to GSI1 (which projects only what listings read:
    /// [`crate::listing`]), one unit per KB.
    pub fn dynamodb_index_write(&self, bytes: usize) {
        self.record(|u| u.dynamodb_write_units += units(bytes, 1024));
    }

    /// A message a Lambda event source mapping delivered: its ReceiveMessage and its
    /// DeleteMessage are billed like the send (one each per message, as a batch of one).
    pub fn sqs_delivery(&self, fifo: bool, bytes: usize) {
        self.sqs(fifo, bytes);
        self.sqs(fifo, 0);
    }

    /// An SQS request carrying `bytes`.
    pub fn sqs(&self, fifo: bool, bytes: usize) {
        let n = units(bytes, 64 * 1024) as u64;
        self.record(|u| {
            if fifo {
                u.sqs_fifo_requests += n;
            } else {
                u.sqs_standard_requests += n;
            }
        });
    }
}

/// Billing units: at least one, rounded up.
pub(crate) fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_and_bill_at_least_one() {
        let m = Meter::default();
        m.dynamodb_write(10);
        m.dynamodb_write(1025);
        m.dynamodb_read(4097);
        m.sqs(true, 70 * 1024);
        let u = m.take();
        assert_eq!(u.dynamodb_write_units, 3.0);
        assert_eq!(u.dynamodb_read_units, 2.0);
        assert_eq!(u.sqs_fifo_requests, 2);
        assert_eq!(m.take(), Usage::default());
    }

    #[test]
    fn usage_is_kept_per_execution() {
        let m = Meter::default();
        m.begin("a");
        m.dynamodb_write(10);
        m.begin("b");
        m.dynamodb_write(10);
        m.dynamodb_write(10);
        assert_eq!(m.take().dynamodb_write_units, 2.0);
        m.begin("a");
        assert_eq!(m.take().dynamodb_write_units, 1.0);
    }

    #[test]
    fn step_functions_charges_25_dollars_per_million_transitions() {
        let u = Usage {
            transitions: 1_000_000,
            ..Usage::default()
        };
        assert!((Prices::default().step_functions_cost(&u) - 25.0).abs() < 1e-9);
    }
}
