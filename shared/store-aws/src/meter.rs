//! The cost meter: what AWS requests an execution made, and what they cost at public prices.

use std::sync::Mutex;
pub use stepwise_runtime::durable::{Prices, Usage};

/// Counts requests as they are made; shared by the adapters of one invocation.
#[derive(Debug, Default)]
pub struct Meter(Mutex<Usage>);

impl Meter {
    /// Applies `f` to the running usage.
    pub fn record(&self, f: impl FnOnce(&mut Usage)) {
        let mut u = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut u);
    }

    /// Takes what was counted so far and starts again from zero.
    pub fn take(&self) -> Usage {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
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
fn units(bytes: usize, unit: usize) -> f64 {
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
    fn step_functions_charges_25_dollars_per_million_transitions() {
        let u = Usage {
            transitions: 1_000_000,
            ..Usage::default()
        };
        assert!((u.step_functions_cost(&Prices::default()) - 25.0).abs() < 1e-9);
    }
}
