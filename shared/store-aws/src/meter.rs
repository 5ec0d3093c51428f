//! The cost meter: what AWS requests an execution made, and what they cost at public prices.

use std::collections::HashMap;
use std::sync::Mutex;
pub use stepwise_runtime::durable::{Prices, Usage};

/// Counts requests as they are made, per execution: the adapters of one container serve one
/// execution at a time, named by [`Meter::begin`]; what they count goes to its bucket until it is
/// taken with its next commit.
#[derive(Debug, Default)]
pub struct Meter(Mutex<Buckets>);

#[derive(Debug, Default)]
struct Buckets {
    current: String,
    usage: HashMap<String, Usage>,
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
        assert!((u.step_functions_cost(&Prices::default()) - 25.0).abs() < 1e-9);
    }
}
