//! A map run carried out a piece at a time, for a home whose functions live minutes (the
//! serverless home: Lambda's 15). The map run is a `.sync`-like job of its parent's Map:
//! [`Service::begin_map_run`] writes its cursor, then each look at the job
//! ([`Service::tick_map_run`], a delayed message on the tasks queue) carries the run on with
//! [`Service::carry_out`] until it ends or its time is up; then it pauses: running children go
//! on, the results so far are written as result files, and the cursor (a record beside the
//! MapRun record) says where to go on from — where the items stand, which children run, the
//! counts, the files written. Nothing in it grows with the items: the running children are at
//! most `MaxConcurrency`, the files one per 2 MB of results (and at most three per pause).
//!
//! A look owns the run while its lease holds (a conditional write on the cursor's version), so
//! a duplicated message never runs the run twice at once; a look that dies is followed, once
//! its lease is over, by the next, which goes on from the last pause: children it started are
//! found started (their names are drawn from the parent's seed), files it wrote are written
//! again under the same names.
//!
//! The parent stopped: the look sees it (every [`LOOK`]) and pauses; the job's next look finds
//! the parent no longer waiting and [`Service::abort_map_run`] stops the children and records
//! the run ABORTED.

use super::{runtime, Ran, Results};
use crate::Service;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use stepwise_engine::map_io::MapRunInfo;
use stepwise_engine::map_run::MapRunRequest;
use stepwise_engine::Event;
use stepwise_ports::api::{ApiStore, Resource, ResourceKind};
use stepwise_ports::execution::StoreError;
use stepwise_ports::tasks::{JobLook, TaskFailure};
use stepwise_runtime::local::wall_clock_ms;
use stepwise_tasks_aws::map_io::stream::{MapObjects, PausedFile, SourcePosition};

/// How often a run that can pause looks at its parent, its record and its time.
pub(crate) const LOOK: Duration = Duration::from_secs(10);

/// How long past its time a look keeps the run (its pause's writes).
const LEASE_MARGIN_MS: i64 = 60_000;
/// [`LEASE_MARGIN_MS`] as a duration.
pub(crate) const LEASE_MARGIN: Duration = Duration::from_millis(LEASE_MARGIN_MS as u64);

/// Where a paused run goes on from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub info: MapRunInfo,
    pub tolerated: (Option<u64>, Option<f64>),
    pub pending: (u64, u64),
    /// Children started so far.
    pub slot: usize,
    pub failures: u64,
    pub failure: Option<(String, String)>,
    /// Items are still to come.
    pub more: bool,
    /// Where the items stand after the last child started.
    pub mark: (SourcePosition, usize, usize),
    /// The running children: slot, items.
    pub running: Vec<(usize, u64)>,
    /// The result files written (FAILED, PENDING, SUCCEEDED).
    pub files: [Vec<Value>; 3],
    /// The bytes of the results held for the Map's output (no `ResultWriter`).
    pub held_bytes: usize,
    /// The children's `ExecutionType`.
    pub kind: String,
    /// Items and children counted in full by the counting pass.
    #[serde(default)]
    pub counted: (bool, bool),
    /// How many times the run paused, this pause included.
    #[serde(default)]
    pub pauses: u64,
    /// The result files left open (FAILED, PENDING, SUCCEEDED); their unsent text is in the
    /// objects of this pause ([`Cursor::name`]).
    #[serde(default)]
    pub open: [Option<PausedFile>; 3],
    /// The look that paused (0: a cursor from before pauses were named by their look).
    #[serde(default)]
    pub look: u64,
    /// The look of the pause this piece went on from.
    #[serde(default)]
    pub resumed_look: u64,
}

impl Cursor {
    /// What this pause's records and objects are named by: its number and its look. Two looks
    /// may pause with the same number (one past its lease, its writes late); by number alone a
    /// late write of the losing look replaced the winner's held results, and a child its cursor
    /// still listed as running was in them already: its result came twice (seed 252).
    pub fn name(&self) -> String {
        pause_name(self.pauses, self.look)
    }

    /// The name of the pause before, whose records no cursor names once this one is read.
    pub fn name_before(&self) -> Option<String> {
        (self.pauses > 1).then(|| pause_name(self.pauses - 1, self.resumed_look))
    }
}

pub(crate) fn pause_name(pauses: u64, look: u64) -> String {
    if look == 0 {
        pauses.to_string()
    } else {
        format!("{pauses}.{look:016x}")
    }
}

/// The cursor's record: who owns the run until when, and the cursor once the run paused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CursorRecord {
    version: u64,
    lease_ms: i64,
    /// Which look holds the lease (drawn at its claim): a look whose claim was retried after
    /// it took effect finds its own.
    #[serde(default)]
    look: u64,
    /// The parent's redrive count when the run began.
    #[serde(default)]
    generation: u32,
    #[serde(default)]
    run: Option<Box<Cursor>>,
}

/// What [`Service::carry_out`] knows when it pauses.
pub(crate) struct PauseState<'a> {
    pub info: &'a MapRunInfo,
    pub tolerated: (Option<u64>, Option<f64>),
    pub pending: (u64, u64),
    pub slot: usize,
    pub failures: u64,
    pub failure: &'a Option<(String, String)>,
    pub more: bool,
    pub live: &'a [(usize, u64, String)],
    pub kind: &'a str,
    pub counted: (bool, bool),
    /// This pause's number (from 1).
    pub pauses: u64,
    /// The look pausing, and the look of the pause it went on from.
    pub look: u64,
    pub resumed_look: u64,
}

fn cursor_arn(map_run_arn: &str) -> String {
    format!("{map_run_arn}#cursor")
}

/// The results held for the Map's output while the run is paused (at most the payload quota).
/// The record of the results held at pause `pauses`: one per pause, so a pause whose cursor
/// write lost leaves the record the cursor names untouched (one fixed record let the next piece
/// read results newer than its cursor and add them twice: seed 100011 under load).
fn held_arn(map_run_arn: &str, pause: &str) -> String {
    format!("{map_run_arn}#held.{pause}")
}

impl<S: ApiStore + 'static> Service<S> {
    async fn cursor(&self, map_run_arn: &str) -> Result<CursorRecord, StoreError> {
        let rec = self
            .store
            .get_resource(ResourceKind::MapRun, &cursor_arn(map_run_arn))
            .await?;
        Ok(rec
            .and_then(|r| serde_json::from_value(r.body).ok())
            .unwrap_or_default())
    }

    async fn put_cursor(
        &self,
        map_run_arn: &str,
        rec: &CursorRecord,
        expected: u64,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_value(rec).map_err(|e| StoreError::Other(e.to_string()))?;
        let resource = Resource {
            kind: ResourceKind::MapRun,
            arn: cursor_arn(map_run_arn),
            parent: None,
            body,
        };
        self.store.put_resource_if(&resource, expected).await
    }

    /// A map run starts: its cursor from the beginning, unless this start was made before
    /// (the command delivered again: the run goes on); a redriven parent's run
    /// (`generation`: its redrive count) starts over.
    pub async fn begin_map_run(
        &self,
        r: &MapRunRequest,
        generation: u32,
    ) -> Result<(), TaskFailure> {
        let rec = self.cursor(&r.map_run_arn).await.map_err(runtime)?;
        if rec.version > 0 && rec.generation == generation {
            return Ok(());
        }
        let fresh = CursorRecord {
            version: rec.version + 1,
            generation,
            ..CursorRecord::default()
        };
        match self.put_cursor(&r.map_run_arn, &fresh, rec.version).await {
            // Lost to a start of this same run (the command delivered twice, or this write
            // retried after it took effect): the run has begun, it goes on.
            Err(StoreError::Conflict(_)) => {
                let now = self.cursor(&r.map_run_arn).await.map_err(runtime)?;
                if now.version > 0 && now.generation == generation {
                    Ok(())
                } else {
                    Err(runtime(format!(
                        "the map run {} could not begin: its record changed concurrently",
                        r.map_run_arn
                    )))
                }
            }
            other => other.map_err(runtime),
        }
    }

    /// Carries a map run on for at most `budget` (see the module's documentation):
    /// [`JobLook::Running`] when it paused (or could not go on now), [`JobLook::Elsewhere`]
    /// when another look owns it (its lease holds, or it won the claim: that look's message
    /// stays queued until its piece is done, and a look it loses to goes on after), else its
    /// outcome.
    pub async fn tick_map_run(
        &self,
        objects: &MapObjects,
        parent_arn: &str,
        r: MapRunRequest,
        budget: Duration,
    ) -> Result<JobLook, TaskFailure> {
        let arn = r.map_run_arn.clone();
        let Ok(rec) = self.cursor(&arn).await else {
            return Ok(JobLook::Running);
        };
        let now = wall_clock_ms();
        if rec.lease_ms > now {
            return Ok(JobLook::Elsewhere);
        }
        let claimed = CursorRecord {
            version: rec.version + 1,
            lease_ms: now + budget.as_millis() as i64 + LEASE_MARGIN_MS,
            look: stepwise_runtime::ids::fresh_seed(),
            generation: rec.generation,
            run: rec.run.clone(),
        };
        // A claim whose answer is lost (a timeout, a throttled retry) may have taken effect:
        // its lease may hold with no look behind it, and the next look would find it held and
        // end the chain (seed 6843 lost its Map so). The next look comes once it is over.
        let unsure = JobLook::Unrecorded {
            until_ms: claimed.lease_ms,
        };
        match self.put_cursor(&arn, &claimed, rec.version).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => match self.cursor(&arn).await {
                Ok(now) if now.version == claimed.version && now.look == claimed.look => {}
                Ok(_) => return Ok(JobLook::Elsewhere),
                Err(_) => return Ok(unsure),
            },
            Err(_) => return Ok(unsure),
        }
        let until = tokio::time::Instant::now() + budget;
        let ran = self
            .carry_out(
                objects,
                parent_arn,
                r,
                rec.run.map(|c| *c),
                Some((until, claimed.look)),
            )
            .await;
        let next = match ran {
            Ok(Ran::Done(outcome)) => return outcome.map(JobLook::Ended),
            Ok(Ran::Paused(c)) => Some(c),
            Err(f) => {
                eprintln!("map run {arn}: goes on later: {}: {}", f.error, f.cause);
                claimed.run.clone()
            }
        };
        // The pause keeps the look's name: a write retried after it took effect is told from
        // another look's.
        let paused = CursorRecord {
            version: claimed.version + 1,
            lease_ms: 0,
            look: claimed.look,
            generation: claimed.generation,
            run: next,
        };
        match self.put_cursor(&arn, &paused, claimed.version).await {
            Ok(()) => Ok(JobLook::Running),
            Err(StoreError::Conflict(_)) => match self.cursor(&arn).await {
                // This very pause, written by a try whose answer was lost.
                Ok(now) if now.version == paused.version && now.look == paused.look => {
                    Ok(JobLook::Running)
                }
                // Past its lease, another look took the run over.
                Ok(_) => Ok(JobLook::Elsewhere),
                Err(_) => Ok(JobLook::Unrecorded {
                    until_ms: claimed.lease_ms,
                }),
            },
            // The lease still holds, and a look finding it held ends its chain: the next look
            // comes once it is over.
            Err(e) => {
                eprintln!("map run {arn}: its pause is not recorded: {e}");
                Ok(JobLook::Unrecorded {
                    until_ms: claimed.lease_ms,
                })
            }
        }
    }

    /// The parent no longer waits for its map run (it was stopped, or timed out): the running
    /// children are stopped and the run recorded ABORTED, once no look owns it.
    pub async fn abort_map_run(&self, r: &MapRunRequest) {
        let arn = &r.map_run_arn;
        let Ok(Some(record)) = self.store.get_resource(ResourceKind::MapRun, arn).await else {
            return;
        };
        let parent = record.parent.clone().unwrap_or_default();
        let Ok(mut info) = serde_json::from_value::<MapRunInfo>(record.body) else {
            return;
        };
        if info.status != "RUNNING" {
            return;
        }
        // A look sees the parent stopped within LOOK and pauses.
        let mut rec = CursorRecord::default();
        for _ in 0..60 {
            match self.cursor(arn).await {
                Ok(c) if c.lease_ms <= wall_clock_ms() => {
                    rec = c;
                    break;
                }
                _ => tokio::time::sleep(Duration::from_secs(2)).await,
            }
        }
        let Some(run) = rec.run.as_ref() else {
            return self.record_aborted(&parent, &mut info).await;
        };
        let prefix = arn.split_once(":mapRun:").map_or("", |(h, _)| h);
        let seed = match self.store.load(&parent).await {
            Ok(Some(p)) => p.state.info.seed,
            _ => return,
        };
        for &(slot, _) in &run.running {
            let (_, child) = super::child_arn(prefix, r.machine_and_label(), &run.kind, seed, slot);
            let stop = Event::Stop {
                error: None,
                cause: None,
            };
            if let Err(e) = self.driver.apply(&child, stop).await {
                eprintln!("map run {arn}: {child} not stopped: {e}");
            }
        }
        info = run.info.clone();
        self.record_aborted(&parent, &mut info).await;
    }

    async fn record_aborted(&self, parent: &str, info: &mut MapRunInfo) {
        info.status = "ABORTED".into();
        info.stop_ms = Some(wall_clock_ms());
        for c in [&mut info.item_counts, &mut info.execution_counts] {
            c.aborted += c.running;
            c.running = 0;
        }
        let _ = self
            .store
            .put_resource(&super::map_run_record(parent, info), false)
            .await;
    }

    /// Whether the parent still runs (a look that cannot tell goes on).
    pub(super) async fn still_running(&self, parent_arn: &str) -> bool {
        match self.store.execution_row(parent_arn).await {
            Ok(Some(row)) => row.status == "RUNNING",
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// The results held for the Map's output by the last pause.
    pub(super) async fn held_results(
        &self,
        map_run_arn: &str,
        c: &Cursor,
    ) -> Result<Option<Vec<(usize, Value)>>, TaskFailure> {
        if c.held_bytes > super::MAX_OUTPUT {
            return Ok(None);
        }
        self.held_at(map_run_arn, &c.name(), c.name_before().as_deref())
            .await
            .map(Some)
    }

    /// The results the pause named `pause` held; the record of the pause before it (`before`),
    /// no longer named by any cursor, is deleted.
    async fn held_at(
        &self,
        map_run_arn: &str,
        pause: &str,
        before: Option<&str>,
    ) -> Result<Vec<(usize, Value)>, TaskFailure> {
        let rec = self
            .store
            .get_resource(ResourceKind::MapRun, &held_arn(map_run_arn, pause))
            .await
            .map_err(runtime)?;
        if let Some(before) = before {
            let _ = self
                .store
                .delete_resource(ResourceKind::MapRun, &held_arn(map_run_arn, before))
                .await;
        }
        Ok(rec
            .and_then(|r| serde_json::from_value(r.body["held"].clone()).ok())
            .unwrap_or_default())
    }

    /// Keeps the results held at the pause named `pause`.
    async fn hold(
        &self,
        map_run_arn: &str,
        pause: &str,
        held: &[(usize, Value)],
    ) -> Result<(), TaskFailure> {
        let rec = Resource {
            kind: ResourceKind::MapRun,
            arn: held_arn(map_run_arn, pause),
            parent: None,
            body: json!({ "held": held }),
        };
        self.store.put_resource(&rec, false).await.map_err(runtime)
    }

    /// Writes what only this process knows and says where to go on from.
    pub(super) async fn pause(
        &self,
        r: &MapRunRequest,
        results: &mut Results,
        inputs: &super::Inputs<'_>,
        st: PauseState<'_>,
    ) -> Result<Cursor, TaskFailure> {
        let mut files = Default::default();
        let mut open = Default::default();
        let mut held_bytes = 0;
        let name = pause_name(st.pauses, st.look);
        match results {
            Results::Sink(sink) => {
                open = sink.pause(&name).await.map_err(runtime)?;
                files = sink.written();
            }
            Results::Held(held, bytes) => {
                held_bytes = *bytes;
                if let Some(h) = held {
                    self.hold(&r.map_run_arn, &name, h).await?;
                }
            }
        }
        Ok(Cursor {
            info: st.info.clone(),
            tolerated: st.tolerated,
            pending: st.pending,
            slot: st.slot,
            failures: st.failures,
            failure: st.failure.clone(),
            more: st.more,
            mark: inputs.mark.clone(),
            running: st.live.iter().map(|(s, n, _)| (*s, *n)).collect(),
            files,
            held_bytes,
            kind: st.kind.to_string(),
            counted: st.counted,
            pauses: st.pauses,
            open,
            look: st.look,
            resumed_look: st.resumed_look,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use stepwise_engine::Event;
    use stepwise_ports::api::Driver;
    use stepwise_ports::execution::Advanced;
    use stepwise_ports::BoxFuture;
    use stepwise_store_embedded::SqliteStore;

    /// Held results are read and written without applying any event.
    struct NoDriver;
    impl Driver for NoDriver {
        fn apply<'a>(
            &'a self,
            _: &'a str,
            _: Event,
        ) -> BoxFuture<'a, Result<Advanced, StoreError>> {
            Box::pin(async { Err(StoreError::Other("no driver in this test".into())) })
        }
        fn submit(&self, _: &str, _: Event) {}
        fn wait_end<'a>(&'a self, _: &'a str, _: u64) -> BoxFuture<'a, ()> {
            Box::pin(async {})
        }
        fn wait_activity<'a>(&'a self, _: &'a str, _: u64) -> BoxFuture<'a, ()> {
            Box::pin(async {})
        }
        fn now_ms(&self, _: &str) -> i64 {
            0
        }
    }

    /// Two looks pause with the same number: B, which took the run over from the cursor of
    /// pause 1 once A's lease was past, and A, whose writes land late (its held results after
    /// B's). B's cursor reads B's results: with records named by the number alone it read A's,
    /// which held a child B's cursor lists as still running, and that child's result came twice
    /// (seed 252 of stop 27's sweep).
    #[tokio::test]
    async fn a_late_pause_of_a_look_that_lost_the_run_leaves_the_winners_results() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(SqliteStore::open(dir.path()).expect("the store opens"));
        let svc = Service::new(store, Arc::new(NoDriver), Default::default());
        let run = "arn:aws:states:us-east-1:123456789012:mapRun:sm/map:run";
        let (first, a, b) = (7, 0xa, 0xb);
        svc.hold(run, &pause_name(1, first), &[(0, json!({"n": 1}))])
            .await
            .expect("pause 1 held");
        let winner = [(0, json!({"n": 1})), (1, json!({"n": 2}))];
        let loser = [
            (0, json!({"n": 1})),
            (1, json!({"n": 2})),
            (2, json!({"n": 3})),
        ];
        svc.hold(run, &pause_name(2, b), &winner)
            .await
            .expect("B held");
        svc.hold(run, &pause_name(2, a), &loser)
            .await
            .expect("A held late");
        let before = pause_name(1, first);
        let held = svc
            .held_at(run, &pause_name(2, b), Some(&before))
            .await
            .expect("B's results");
        assert_eq!(held, winner.to_vec());
        // The record of pause 1 is gone; A's stray record names no cursor.
        let gone = svc
            .held_at(run, &before, None)
            .await
            .expect("pause 1's record read");
        assert!(gone.is_empty(), "{gone:?}");
    }
}
