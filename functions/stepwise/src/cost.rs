//! `stepwise cost`: what executions of the serverless home cost, from the requests the adapters
//! counted, next to what AWS Step Functions Standard charges for the same transitions.

use anyhow::{bail, Context, Result};
use stepwise_ports::execution::Usage;
use stepwise_store_aws::meter::{Meter, Prices};
use stepwise_store_aws::table::Table;
use stepwise_store_aws::{Aws, Names};

/// Prints the usage and cost of one execution, or of every execution of a state machine.
pub async fn report(
    table: &str,
    execution: Option<&str>,
    state_machine: Option<&str>,
) -> Result<()> {
    let names = Names {
        table: table.to_string(),
        transitions_queue_url: String::new(),
        transitions_queue_arn: String::new(),
        tasks_queue_url: String::new(),
        timers_queue_url: String::new(),
        scheduler_dead_letter_queue_arn: String::new(),
        payload_bucket: std::env::var("STEPWISE_PAYLOAD_BUCKET").unwrap_or_default(),
        schedule_group: String::new(),
        scheduler_role_arn: String::new(),
        retention_days: None,
        invoker_function: None,
    };
    let aws = Aws::from_env(names).await;
    let meter = Meter::default();
    let t = Table::new(&aws, &meter);
    let mut arns = Vec::new();
    match (execution, state_machine) {
        (Some(e), _) => arns.push(e.to_string()),
        (None, Some(sm)) => {
            let mut start = None;
            loop {
                let (rows, next) = t.list_executions(sm, None, 100, start).await?;
                arns.extend(rows.into_iter().map(|(arn, _)| arn));
                match next {
                    Some(n) => start = Some(n),
                    None => break,
                }
            }
        }
        (None, None) => bail!("give --execution ARN or --state-machine ARN"),
    }
    let prices = Prices::default();
    let mut total = Usage::default();
    for arn in &arns {
        let e = t
            .load_execution(arn)
            .await?
            .with_context(|| format!("no execution {arn}"))?;
        print_usage(arn, &e.usage, &prices);
        total.add(&e.usage);
    }
    if arns.len() > 1 {
        print_usage(&format!("all {} executions", arns.len()), &total, &prices);
    }
    Ok(())
}

fn print_usage(what: &str, u: &Usage, p: &Prices) {
    let cost = p.cost(u);
    let tasks = p.task_cost(u);
    let sfn = p.step_functions_cost(u);
    let per_million = |c: f64| {
        if u.transitions > 0 {
            c / u.transitions as f64 * 1e6
        } else {
            0.0
        }
    };
    println!("{what}");
    println!(
        "  transitions {} | DynamoDB {:.0} WRU, {:.0} RRU ({} requests) | SQS {} FIFO + {} standard | schedules {} | Lambda {} invocations, {:.3} GB-s | S3 {} PUT, {} GET | task calls {} ({:.3} s)",
        u.transitions,
        u.dynamodb_write_units,
        u.dynamodb_read_units,
        u.dynamodb_requests,
        u.sqs_fifo_requests,
        u.sqs_standard_requests,
        u.schedules,
        u.lambda_invocations,
        u.lambda_gb_seconds,
        u.s3_puts,
        u.s3_gets,
        u.task_invocations,
        u.task_seconds
    );
    println!(
        "  Stepwise overhead ${cost:.6} (${:.2} per million transitions) | the task functions ${tasks:.6} (paid the same with Step Functions) | AWS Step Functions Standard ${sfn:.6} (${:.2} per million)",
        per_million(cost),
        per_million(sfn)
    );
}
