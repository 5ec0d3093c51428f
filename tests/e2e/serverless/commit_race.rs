//! Two writers stepping one execution from the same version (the API applies events inline
//! while the stepper runs): only the winner's checkpoint and history are ever visible (issue 10,
//! finding 2). On DynamoDB Local and moto's S3.

use super::*;
use stepwise_engine::HistoryEvent;
use stepwise_store_aws::AwsError;

/// What a writer tagged `tag` commits on top of `base`: `events` history events (one past the
/// inline limit, so it goes to S3) and a checkpoint past the inline limit (to S3 too).
fn step_of(base: &StoredExecution, tag: &str, events: u64) -> (StoredExecution, Vec<HistoryEvent>) {
    let first = base.state.last_event_id + 1;
    let history: Vec<HistoryEvent> = (0..events)
        .map(|i| {
            HistoryEvent::new(
                first + i,
                first + i - 1,
                1,
                format!("{tag}Written"),
                Some(json!({
                    "writer": tag,
                    "pad": if i == 0 { "e".repeat(10_000) } else { String::new() },
                })),
            )
        })
        .collect();
    let mut next = base.clone();
    next.version = base.version + 1;
    next.state.last_event_id = first + events - 1;
    next.state.output = Some(json!({"writer": tag, "pad": "s".repeat(70_000)}));
    (next, history)
}

async fn started(h: &Harness, sm: &str, name: &str) -> StoredExecution {
    let arn = start_execution(h, sm, Some(name.into()), json!({}), None)
        .await
        .expect("start");
    h.table()
        .load_execution(&arn)
        .await
        .expect("load")
        .expect("exists")
}

/// The execution shows `winner`'s step, and nothing of the loser's.
async fn shows_only(
    h: &Harness,
    base: &StoredExecution,
    winner: &(StoredExecution, Vec<HistoryEvent>),
) {
    let (e, events) = h.outcome(&base.arn).await;
    assert_eq!(e.version, winner.0.version);
    assert!(
        e.state.output == winner.0.state.output,
        "the checkpoint is {:?}'s, not the winner's",
        e.state.output.as_ref().map(|o| o["writer"].clone())
    );
    let written: Vec<&HistoryEvent> = events
        .iter()
        .filter(|ev| ev.id > base.state.last_event_id)
        .collect();
    assert_eq!(written.len(), winner.1.len(), "the winner's events");
    for (got, want) in written.iter().zip(&winner.1) {
        assert!(
            *got == want,
            "event {} is {}, not the winner's {}",
            want.id,
            got.event_type(),
            want.event_type()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_that_loses_the_version_leaves_no_history_or_checkpoint() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "race",
            &json!({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}),
        )
        .await;
    // One transaction (a few events) and the claimed path (more than a transaction holds); the
    // loser writes more events than the winner, and also fewer.
    for (i, (winner_events, loser_events)) in [(3, 5), (5, 3), (150, 160), (160, 120), (3, 150)]
        .into_iter()
        .enumerate()
    {
        let base = started(&h, &sm, &format!("seq-{i}")).await;
        let winner = step_of(&base, "Winner", winner_events);
        let loser = step_of(&base, "Loser", loser_events);
        h.table()
            .commit(&winner.0, base.version, &winner.1)
            .await
            .expect("the winner commits");
        let lost = h.table().commit(&loser.0, base.version, &loser.1).await;
        assert!(
            matches!(lost, Err(AwsError::Conflict(_))),
            "the loser must lose: {lost:?}"
        );
        shows_only(&h, &base, &winner).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_writers_racing_on_one_execution_leave_only_the_winners_step() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let sm = h
        .create(
            "race",
            &json!({"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}),
        )
        .await;
    for (i, events) in [4u64, 4, 4, 130, 130, 130].into_iter().enumerate() {
        let base = started(&h, &sm, &format!("race-{i}")).await;
        let a = step_of(&base, "A", events);
        let b = step_of(&base, "B", events + 2);
        let (ta, tb) = (h.table(), h.table());
        let (ra, rb) = tokio::join!(
            ta.commit(&a.0, base.version, &a.1),
            tb.commit(&b.0, base.version, &b.1)
        );
        let winner = match (ra, rb) {
            (Ok(()), Err(AwsError::Conflict(_))) => &a,
            (Err(AwsError::Conflict(_)), Ok(())) => &b,
            // Both met at once and DynamoDB cancelled both: nothing written (the stepper
            // reloads and steps again).
            (Err(AwsError::Conflict(_)), Err(AwsError::Conflict(_))) => {
                let (e, events) = h.outcome(&base.arn).await;
                assert_eq!(e.version, base.version);
                assert_eq!(e.state.output, base.state.output);
                assert_eq!(events.len() as u64, base.state.last_event_id);
                continue;
            }
            other => panic!("at most one writer wins: {other:?}"),
        };
        shows_only(&h, &base, winner).await;
    }
}
