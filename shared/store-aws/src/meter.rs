//! The cost meter: what AWS requests an execution made, and what they cost at public prices.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Request counts of one execution (or of one stepper invocation, to be added to it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    /// DynamoDB read request units (4 KB strongly consistent reads).
    pub dynamodb_read_units: f64,
    /// DynamoDB write request units (1 KB writes).
    pub dynamodb_write_units: f64,
    /// DynamoDB requests (for reference; units are what is billed).
    pub dynamodb_requests: u64,
    /// SQS requests on FIFO queues (64 KB chunks).
    pub sqs_fifo_requests: u64,
    /// SQS requests on standard queues (64 KB chunks).
    pub sqs_standard_requests: u64,
    /// EventBridge Scheduler schedules that fired (created and deleted are free).
    pub schedules: u64,
    /// Lambda invocations of Stepwise's own functions.
    pub lambda_invocations: u64,
    /// Their duration in GB-seconds (arm64).
    pub lambda_gb_seconds: f64,
    /// S3 PUT requests.
    pub s3_puts: u64,
    /// S3 GET requests.
    pub s3_gets: u64,
    /// State transitions (states entered), what Step Functions Standard bills.
    pub transitions: u64,
}

impl Usage {
    /// Adds another usage to this one.
    pub fn add(&mut self, o: &Usage) {
        self.dynamodb_read_units += o.dynamodb_read_units;
        self.dynamodb_write_units += o.dynamodb_write_units;
        self.dynamodb_requests += o.dynamodb_requests;
        self.sqs_fifo_requests += o.sqs_fifo_requests;
        self.sqs_standard_requests += o.sqs_standard_requests;
        self.schedules += o.schedules;
        self.lambda_invocations += o.lambda_invocations;
        self.lambda_gb_seconds += o.lambda_gb_seconds;
        self.s3_puts += o.s3_puts;
        self.s3_gets += o.s3_gets;
        self.transitions += o.transitions;
    }

    /// The cost in US dollars at [`Prices`].
    pub fn cost(&self, p: &Prices) -> f64 {
        self.dynamodb_read_units * p.dynamodb_read_unit
            + self.dynamodb_write_units * p.dynamodb_write_unit
            + self.sqs_fifo_requests as f64 * p.sqs_fifo_request
            + self.sqs_standard_requests as f64 * p.sqs_standard_request
            + self.schedules as f64 * p.scheduler_invocation
            + self.lambda_invocations as f64 * p.lambda_request
            + self.lambda_gb_seconds * p.lambda_gb_second
            + self.s3_puts as f64 * p.s3_put
            + self.s3_gets as f64 * p.s3_get
    }

    /// What AWS Step Functions Standard would charge for the same transitions.
    pub fn step_functions_cost(&self, p: &Prices) -> f64 {
        self.transitions as f64 * p.step_functions_transition
    }
}

/// Public on-demand prices in us-east-1, in US dollars per unit (list prices as published in
/// 2025; override them when yours differ).
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
        }
    }
}

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
