//! Timers as EventBridge Scheduler and SQS deliver them, and Task calls under SQS's at-least-once
//! delivery (issue 10, findings 1 and 3).

use super::*;
use crate::serve_common::FakeLambda;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stepwise_store_aws::attempts::{Attempt, Invocation};
use stepwise_store_aws::queues::TaskMessage;

/// The schedules in the harness's group: (name, detail).
async fn schedules(
    h: &Harness,
) -> Vec<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput> {
    let list = h
        .aws
        .scheduler
        .list_schedules()
        .group_name("stepwise")
        .send()
        .await
        .expect("ListSchedules");
    let mut out = Vec::new();
    for s in list.schedules() {
        let name = s.name().expect("name");
        out.push(
            h.aws
                .scheduler
                .get_schedule()
                .name(name)
                .group_name("stepwise")
                .send()
                .await
                .expect("GetSchedule"),
        );
    }
    out
}

async fn history_types(h: &Harness, arn: &str) -> Vec<String> {
    let (_, events) = h.outcome(arn).await;
    events
        .into_iter()
        .map(|e| e.event_type().to_string())
        .collect()
}

/// Messages on a queue, visible or delayed.
pub(super) async fn queued(h: &Harness, url: &str) -> u64 {
    let attrs = h
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("GetQueueAttributes");
    let get = |k: QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&k))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(QueueAttributeName::ApproximateNumberOfMessages)
        + get(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_timer_fired_early_by_scheduler_is_rearmed_not_applied() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "long-wait",
            &json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1000,"End":true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({}), None)
        .await
        .expect("start");
    while h.pump_transitions().await {}
    // The schedule as Scheduler gets it: due at the Wait's end, deleted after completion, with a
    // retry policy and the dead-letter queue.
    let found = schedules(&h).await;
    assert_eq!(found.len(), 1, "one schedule for the Wait");
    let s = &found[0];
    let due = s.schedule_expression().and_then(parse_at).expect("at()");
    assert!(due >= now_ms() + 990_000, "due in 1000 s: {due}");
    assert_eq!(
        s.action_after_completion(),
        Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete)
    );
    let target = s.target().expect("target");
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(h.aws.names.scheduler_dead_letter_queue_arn.as_str())
    );
    let retry = target.retry_policy().expect("retry policy");
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(86_400));
    assert_eq!(retry.maximum_retry_attempts(), Some(185));

    // Scheduler fires it early (as here, far earlier than the minute AWS allows, to see it in a
    // test): the Wait must not end.
    assert!(
        h.fire_schedules_early(2_000_000).await,
        "the schedule fired"
    );
    while h.pump_transitions().await {}
    let e = h
        .table()
        .load_execution(&arn)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(e.state.status, Status::Running, "a Wait never ends early");
    assert!(
        !history_types(&h, &arn)
            .await
            .contains(&"WaitStateExited".to_string()),
        "the Wait was applied early"
    );
    // Armed again for the rest of its time: a schedule of its own at the same due time (the
    // first one is deleted after completion).
    let found = schedules(&h).await;
    assert_eq!(found.len(), 1, "the re-armed timer: {found:?}");
    assert_eq!(
        found[0].schedule_expression().and_then(parse_at),
        Some(due),
        "re-armed for its due time"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_long_timer_has_its_schedule_deleted() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    // The execution timeout (2000 s) is a long timer, cancelled when the execution ends.
    let sm = h
        .create(
            "timeout",
            &json!({"TimeoutSeconds":2000,"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({}), None)
        .await
        .expect("start");
    while h.pump_transitions().await {}
    let e = h
        .table()
        .load_execution(&arn)
        .await
        .expect("load")
        .expect("exists");
    assert_eq!(e.state.status, Status::Succeeded);
    assert!(
        schedules(&h).await.is_empty(),
        "the execution timeout's schedule outlived its execution"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn short_timers_have_a_queue_apart_from_task_calls() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "short-wait",
            &json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({}), None)
        .await
        .expect("start");
    while h.pump_transitions().await {}
    assert_eq!(queued(&h, &h.aws.names.timers_queue_url).await, 1);
    assert_eq!(queued(&h, &h.aws.names.tasks_queue_url).await, 0);
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded);
}

/// A machine with one Lambda task, started, its Task call taken off the tasks queue: (the
/// execution, the message, its task id).
async fn one_task(
    h: &Harness,
    name: &str,
    catch: bool,
) -> (String, Vec<aws_sdk_sqs::types::Message>, u64) {
    let task = json!({"Type":"Task",
        "Resource":"arn:aws:lambda:us-east-1:111111111111:function:counter","End":true});
    let mut states = json!({"T": task});
    if catch {
        states["T"]["Catch"] = json!([{"ErrorEquals":["States.TaskFailed"],"Next":"Lost"}]);
        states["Lost"] = json!({"Type":"Pass","End":true});
    }
    let sm = h
        .create(name, &json!({"StartAt":"T","States": states}))
        .await;
    let arn = start_execution(h, &sm, None, json!({"n": 1}), None)
        .await
        .expect("start");
    while h.pump_transitions().await {}
    let messages = h.receive(&h.aws.names.tasks_queue_url, 1).await;
    assert_eq!(messages.len(), 1, "the Task call");
    let msg: TaskMessage =
        serde_json::from_str(messages[0].body().expect("body")).expect("a task message");
    let TaskMessage::Invoke {
        command: Command::InvokeTask { task, .. },
        ..
    } = msg
    else {
        panic!("not a Task call: {msg:?}");
    };
    (arn, messages, task)
}

fn counter() -> FakeLambda {
    FakeLambda::start(
        true,
        Arc::new(|_name: &str, payload: &Value| json!({"seen": payload})),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_task_command_does_not_call_the_lambda_twice() {
    let lambda = counter();
    let Some(h) = harness_with_lambda(None, false, Some(lambda.endpoint())).await else {
        return;
    };
    let (arn, messages, _) = one_task(&h, "once", false).await;
    // SQS delivers the command again (a duplicate, or after the first invoker's batch was
    // handed back): the function is called once.
    for _ in 0..2 {
        let ev = LambdaEvent::new(Harness::event(&messages), Context::default());
        let resp = h.invoker.handle(ev).await.expect("invoker");
        assert!(resp.batch_item_failures.is_empty());
    }
    h.settle(&h.aws.names.tasks_queue_url, &messages, &HashSet::new())
        .await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    assert_eq!(lambda.calls.load(Ordering::SeqCst), 1, "Lambda calls");
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    assert_eq!(e.state.output, Some(json!({"seen": {"n": 1}})));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_attempt_taken_by_another_invoker_is_never_called_again() {
    let lambda = counter();
    let Some(h) = harness_with_lambda(None, false, Some(lambda.endpoint())).await else {
        return;
    };
    let (arn, messages, task) = one_task(&h, "taken", true).await;
    // Another invoker took the attempt and is still within its deadline: the command goes back
    // to the queue, nothing is called.
    let far = now_ms() + 600_000;
    assert_eq!(
        h.table()
            .begin_attempt(&arn, task, &Invocation::new("another", far))
            .await
            .expect("record"),
        Attempt::First
    );
    let ev = LambdaEvent::new(Harness::event(&messages), Context::default());
    let resp = h.invoker.handle(ev).await.expect("invoker");
    assert_eq!(resp.batch_item_failures.len(), 1, "handed back for later");
    assert_eq!(lambda.calls.load(Ordering::SeqCst), 0);

    // That invoker died (its deadline passed, no outcome sent): the attempt fails as lost,
    // still without a call, and the machine's Catch sees States.TaskFailed.
    let (arn2, messages2, task2) = one_task(&h, "lost", true).await;
    h.table()
        .begin_attempt(&arn2, task2, &Invocation::new("another", now_ms() - 1))
        .await
        .expect("record");
    let ev = LambdaEvent::new(Harness::event(&messages2), Context::default());
    let resp = h.invoker.handle(ev).await.expect("invoker");
    assert!(resp.batch_item_failures.is_empty());
    h.settle(&h.aws.names.tasks_queue_url, &messages2, &HashSet::new())
        .await;
    h.run_until_done(std::slice::from_ref(&arn2), Duration::from_secs(60))
        .await;
    assert_eq!(lambda.calls.load(Ordering::SeqCst), 0, "Lambda calls");
    let (e, events) = h.outcome(&arn2).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    assert!(
        events
            .iter()
            .any(|ev| ev.event_type() == "LambdaFunctionFailed"
                && ev
                    .details()
                    .is_some_and(|d| d["error"] == "States.TaskFailed")),
        "the lost attempt failed with States.TaskFailed"
    );
}

/// The SDK retries a PutItem whose answer was lost after it took effect (a timeout): the retry's
/// condition fails on the record the first try wrote. The invocation that wrote it takes the
/// attempt as its own; any other (another request id, or Lambda's retry of an asynchronous
/// invocation: the same request id, another deadline) finds it taken.
#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_record_found_again_by_its_own_invocation_is_its_own() {
    let Some(h) = harness_with_lambda(None, false, None).await else {
        return;
    };
    let (arn, _, task) = one_task(&h, "own", false).await;
    let deadline = now_ms() + 600_000;
    let table = h.table();
    let first_try = Invocation::new("req-1", deadline);
    assert_eq!(
        table
            .begin_attempt(&arn, task, &first_try)
            .await
            .expect("record"),
        Attempt::First
    );
    // The SDK's retry of that put (its answer lost, so the invocation never learnt it was
    // recorded) finds the record the first try wrote: its own.
    let me = Invocation::new("req-1", deadline);
    assert_eq!(
        table.begin_attempt(&arn, task, &me).await.expect("again"),
        Attempt::First,
        "the record this invocation wrote"
    );
    // Once begun, the same command again in the invocation's batch is not called twice.
    for other in [
        me,
        Invocation::new("req-2", deadline),
        Invocation::new("req-1", deadline + 60_000),
        Invocation::new("", deadline),
    ] {
        assert!(
            matches!(
                table.begin_attempt(&arn, task, &other).await.expect("taken"),
                Attempt::Taken { deadline_ms, outcome: None, sent: false } if deadline_ms == deadline
            ),
            "{other:?} finds the attempt taken"
        );
    }
}

/// A Task call handed to the invoker directly while another invocation holds its attempt goes on
/// through the tasks queue, delayed until that invocation's time is over (then answered, or
/// failed as lost), and nothing is called; Lambda does not retry it.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_call_handed_over_while_its_attempt_is_in_flight_goes_to_the_tasks_queue() {
    let lambda = counter();
    let Some(h) = harness_full(None, false, None, None, None, Some(lambda.endpoint()), true).await
    else {
        return;
    };
    let task = json!({"Type":"Task",
        "Resource":"arn:aws:lambda:us-east-1:111111111111:function:counter","End":true});
    let sm = h
        .create("handed", &json!({"StartAt":"T","States": {"T": task}}))
        .await;
    let arn = start_execution(&h, &sm, None, json!({"n": 1}), None)
        .await
        .expect("start");
    while h.pump_transitions().await {}
    let direct = h.direct.as_ref().expect("calls handed over");
    let taken: Vec<(Value, u32)> = std::mem::take(&mut *direct.pending.lock().expect("lock"));
    assert_eq!(taken.len(), 1, "the Task call, handed over");
    assert_eq!(queued(&h, &h.aws.names.tasks_queue_url).await, 0);
    let call: invoker::TaskInvocation =
        serde_json::from_value(taken[0].0.clone()).expect("a Task call's event");
    let msg: TaskMessage = serde_json::from_str(&call.body).expect("a task message");
    let TaskMessage::Invoke {
        command: Command::InvokeTask { task, .. },
        ..
    } = msg
    else {
        panic!("not a Task call: {msg:?}");
    };
    h.table()
        .begin_attempt(&arn, task, &Invocation::new("another", now_ms() + 600_000))
        .await
        .expect("record");
    h.invoker
        .handle_invocation(LambdaEvent::new(call, Context::default()))
        .await
        .expect("worked: handed to the tasks queue, not failed for Lambda to retry");
    assert_eq!(lambda.calls.load(Ordering::SeqCst), 0, "Lambda calls");
    assert_eq!(queued(&h, &h.aws.names.tasks_queue_url).await, 1);
}
