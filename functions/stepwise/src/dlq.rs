//! `stepwise dlq list` and `stepwise dlq redrive`: the messages a deployed serverless home's
//! queues gave up on (after 5 receives a message moves to its dead-letter queue, and the
//! execution it carries waits forever), with the execution each belongs to, and moving them back
//! to the queue they came from so the execution goes on. The tasks dead-letter queue also holds
//! Lambda's on-failure records of Task calls handed to the invoker directly: a redrive sends the
//! call they carry to the tasks queue.
//!
//! The queues: `--queue-url DLQ` (repeatable), or `--stack NAME`, whose outputs ending in
//! `DeadLetterQueueUrl` name them. A dead message goes back to `--to URL`, else to the queue
//! whose redrive policy names the dead-letter queue (SQS's ListDeadLetterSourceQueues). On a FIFO
//! queue it keeps its message group (one per execution, so the execution's order holds) and gets
//! a deduplication id derived from its message id, so running a redrive twice sends it once;
//! either way the stepper applies an event once.
//!
//! Calls go through the generic AWS caller, where the SDK configuration says (`AWS_REGION`,
//! `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL`, `--aws-endpoint-url`).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use stepwise_aws_api::{ApiCall, AwsCaller, AwsSettings};
use stepwise_ports::ids::fnv64;

/// `stepwise dlq`'s subcommands.
#[derive(Subcommand)]
pub enum DlqCmd {
    /// Print each dead message as a JSON line: its queue, message id, execution ARN, what it
    /// carries, how often it was received and when it was first sent.
    List(Queues),
    /// Move dead messages back to the queue they came from (all, or one execution's).
    Redrive {
        #[command(flatten)]
        queues: Queues,
        /// Only this execution's messages.
        #[arg(long)]
        execution: Option<String>,
        /// The queue to move them to (default: the queue whose redrive policy names the
        /// dead-letter queue).
        #[arg(long)]
        to: Option<String>,
    },
}

/// Which dead-letter queues.
#[derive(Args)]
pub struct Queues {
    /// A dead-letter queue URL (repeat for several).
    #[arg(long = "queue-url")]
    queue_urls: Vec<String>,
    /// The CloudFormation stack of the deployment: every output ending in `DeadLetterQueueUrl`.
    #[arg(long)]
    stack: Option<String>,
    /// One endpoint for every AWS call (moto, LocalStack), like AWS_ENDPOINT_URL.
    #[arg(long)]
    aws_endpoint_url: Option<String>,
}

/// How long a message received for listing stays hidden before it is made visible again.
const HIDE_SECONDS: i64 = 60;

struct Sqs {
    caller: AwsCaller,
}

impl Sqs {
    async fn call(&self, service: &str, operation: &str, input: Value) -> Result<Value> {
        let out = self
            .caller
            .call(ApiCall {
                service,
                operation,
                input: &input,
                region: None,
            })
            .await
            .with_context(|| format!("{service} {operation}"))?;
        Ok(out.output)
    }

    /// Every message of a queue, each received once (hidden for [`HIDE_SECONDS`] meanwhile).
    async fn receive_all(&self, url: &str) -> Result<Vec<Value>> {
        let mut all: Vec<Value> = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let out = self
                .call(
                    "sqs",
                    "ReceiveMessage",
                    json!({"QueueUrl": url, "MaxNumberOfMessages": 10,
                           "VisibilityTimeout": HIDE_SECONDS, "WaitTimeSeconds": 0,
                           "MessageSystemAttributeNames": ["All"]}),
                )
                .await?;
            let got = out["Messages"].as_array().cloned().unwrap_or_default();
            empty = if got.is_empty() { empty + 1 } else { 0 };
            all.extend(got);
        }
        Ok(all)
    }

    async fn show_again(&self, url: &str, m: &Value) -> Result<()> {
        self.call(
            "sqs",
            "ChangeMessageVisibility",
            json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}),
        )
        .await
        .map(|_| ())
    }
}

/// The message a dead one stands for: itself, or, for Lambda's on-failure destination record of
/// a Task call handed to the invoker directly (an asynchronous invocation that failed three
/// times), the tasks-queue message it carried, which a redrive sends to the tasks queue.
fn carried(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["requestPayload"]["stepwiseTask"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string())
}

/// The execution a message belongs to, and what it carries (`TaskSucceeded`, `Invoke Work`).
fn describe(body: &str) -> (Option<String>, String) {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return (None, "not Stepwise's JSON".into());
    };
    if let (Some(condition), Some(task)) = (
        v["requestContext"]["condition"].as_str(),
        v["requestPayload"]["stepwiseTask"].as_str(),
    ) {
        let (execution, what) = describe(task);
        return (execution, format!("{what} ({condition})"));
    }
    if let Some(condition) = v["requestContext"]["condition"].as_str() {
        // Lambda's on-failure destination record of a trigger invocation: no execution started.
        return (None, format!("trigger event ({condition})"));
    }
    let execution = v["execution"].as_str().map(str::to_string);
    let what = match (&v["event"], v["kind"].as_str()) {
        // Events are tagged by `type`.
        (Value::Object(e), _) => e
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("event")
            .to_string(),
        (Value::String(e), _) => e.clone(),
        (_, Some(kind)) => match v["command"]["state_name"].as_str() {
            Some(state) => format!("{kind} {state}"),
            None => kind.to_string(),
        },
        _ => "unknown".into(),
    };
    (execution, what)
}

async fn dead_letter_queues(sqs: &Sqs, q: &Queues) -> Result<Vec<String>> {
    let mut urls = q.queue_urls.clone();
    if let Some(stack) = &q.stack {
        let out = sqs
            .call(
                "cloudformation",
                "DescribeStacks",
                json!({"StackName": stack}),
            )
            .await?;
        let outputs = out["Stacks"][0]["Outputs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for o in outputs {
            if o["OutputKey"]
                .as_str()
                .is_some_and(|k| k.ends_with("DeadLetterQueueUrl"))
            {
                if let Some(u) = o["OutputValue"].as_str() {
                    urls.push(u.to_string());
                }
            }
        }
        if urls.is_empty() {
            bail!("stack {stack} has no output ending in DeadLetterQueueUrl");
        }
    }
    if urls.is_empty() {
        bail!("give --queue-url DLQ_URL (repeatable) or --stack NAME");
    }
    Ok(urls)
}

async fn sqs_for(q: &Queues) -> Sqs {
    Sqs {
        caller: AwsCaller::from_env(AwsSettings {
            region: None,
            endpoint_url: q.aws_endpoint_url.clone(),
        })
        .await,
    }
}

/// Runs a `dlq` subcommand.
pub async fn run(cmd: DlqCmd) -> Result<()> {
    match cmd {
        DlqCmd::List(q) => list(&q).await,
        DlqCmd::Redrive {
            queues,
            execution,
            to,
        } => redrive(&queues, execution.as_deref(), to.as_deref()).await,
    }
}

async fn list(q: &Queues) -> Result<()> {
    let sqs = sqs_for(q).await;
    for url in dead_letter_queues(&sqs, q).await? {
        let messages = sqs.receive_all(&url).await?;
        for m in &messages {
            let (execution, what) = describe(m["Body"].as_str().unwrap_or_default());
            let attrs = &m["Attributes"];
            let sent_ms = attrs["SentTimestamp"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok());
            let line = json!({
                "queueUrl": url,
                "messageId": m["MessageId"],
                "executionArn": execution,
                "carries": what,
                "receiveCount": attrs["ApproximateReceiveCount"].as_str().and_then(|s| s.parse::<u64>().ok()),
                "sentTimestamp": sent_ms,
            });
            println!("{line}");
        }
        for m in &messages {
            sqs.show_again(&url, m).await?;
        }
    }
    Ok(())
}

async fn redrive(q: &Queues, only: Option<&str>, to: Option<&str>) -> Result<()> {
    let sqs = sqs_for(q).await;
    let mut moved = 0;
    for url in dead_letter_queues(&sqs, q).await? {
        let target = match to {
            Some(t) => t.to_string(),
            None => {
                let out = sqs
                    .call(
                        "sqs",
                        "ListDeadLetterSourceQueues",
                        json!({"QueueUrl": url}),
                    )
                    .await?;
                match out["queueUrls"].as_array().map(Vec::as_slice) {
                    Some([one]) => one.as_str().unwrap_or_default().to_string(),
                    Some([]) | None => {
                        bail!("no queue sends its dead letters to {url}: give --to URL")
                    }
                    Some(_) => {
                        bail!("several queues send their dead letters to {url}: give --to URL")
                    }
                }
            }
        };
        let fifo = target.ends_with(".fifo");
        for m in sqs.receive_all(&url).await? {
            let body = m["Body"].as_str().unwrap_or_default();
            let (execution, what) = describe(body);
            if only.is_some() && execution.as_deref() != only {
                sqs.show_again(&url, &m).await?;
                continue;
            }
            let mut send = json!({"QueueUrl": target, "MessageBody": carried(body)});
            if fifo {
                let id = m["MessageId"].as_str().unwrap_or_default();
                let group = m["Attributes"]["MessageGroupId"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| execution.as_deref().map(stepwise_ports::ids::group_id))
                    .context("a FIFO message without a message group")?;
                send["MessageGroupId"] = json!(group);
                send["MessageDeduplicationId"] =
                    json!(format!("redrive-{:016x}", fnv64(&["redrive", id])));
            }
            sqs.call("sqs", "SendMessage", send).await?;
            sqs.call(
                "sqs",
                "DeleteMessage",
                json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
            )
            .await?;
            moved += 1;
            let line = json!({"redriven": m["MessageId"], "executionArn": execution, "carries": what, "to": target});
            println!("{line}");
        }
    }
    eprintln!("stepwise: {moved} message(s) redriven");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_message_names_its_execution_and_what_it_carries() {
        let transition = r#"{"execution":"arn:aws:states:us-east-1:1:execution:m:e","event":{"type":"TimerFired","timer":3}}"#;
        assert_eq!(
            describe(transition),
            (
                Some("arn:aws:states:us-east-1:1:execution:m:e".into()),
                "TimerFired".into()
            )
        );
        let task = r#"{"kind":"Invoke","execution":"x","state_machine_name":"m","test_case":null,
            "command":{"type":"InvokeTask","state_name":"Work"}}"#;
        assert_eq!(describe(task), (Some("x".into()), "Invoke Work".into()));
        assert_eq!(describe("no json").0, None);
        let failed_start = r#"{"version":"1.0","requestContext":{"condition":"RetriesExhausted",
            "approximateInvokeCount":3},"requestPayload":{"Records":[]}}"#;
        assert_eq!(
            describe(failed_start),
            (None, "trigger event (RetriesExhausted)".into())
        );
        assert_eq!(carried(failed_start), failed_start);
        // A Task call handed to the invoker that failed three times: the call it carries.
        let failed_call = json!({"version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"stepwiseTask": task}})
        .to_string();
        assert_eq!(
            describe(&failed_call),
            (Some("x".into()), "Invoke Work (RetriesExhausted)".into())
        );
        assert_eq!(carried(&failed_call), task);
    }
}
