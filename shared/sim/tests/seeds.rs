//! The simulation over a few hundred seeds (the full 10,000: `cargo run -p stepwise-sim
//! --release -- --seeds 10000`), that a seed replays exactly, and the seeds that found bugs.

use stepwise_sim::workloads::{
    callback, dmap, map, run_machines, run_seed, task_heavy, Options, SeedReport,
};
use stepwise_sim::Faults;

/// The sweep's seeds: light ones (no W2, W7), a small Map.
fn options() -> Options {
    Options {
        map_items: 8,
        heavy: false,
        ..Options::default()
    }
}

/// Fails with the seed's failures and the one command that replays it.
fn check_replay(r: &SeedReport, replay: &str) {
    assert!(
        r.failures.is_empty(),
        "seed {} failed: {:#?}\nreplay: {replay}",
        r.seed,
        r.failures,
    );
}

fn check(r: &SeedReport) {
    check_replay(
        r,
        &format!(
            "cargo run -p stepwise-sim --release -- --light --map-items 8 --big-map-every 0 --w3-every 0 --big-dmap-every 0 --seed {}",
            r.seed
        ),
    );
}

/// Seeds on every core: each runs on its own thread, with its own virtual clock.
fn sweep(seeds: Vec<u64>) -> Vec<SeedReport> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    let chunks: Vec<Vec<u64>> = (0..threads)
        .map(|t| seeds.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|c| {
            std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(move || {
                    c.into_iter()
                        .map(|s| run_seed(s, &options()))
                        .collect::<Vec<_>>()
                })
                .expect("a thread")
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("a seed's thread"))
        .collect()
}

#[test]
fn seeds_lose_nothing_and_call_no_task_twice() {
    // An optimized build runs a light seed in a fraction of a second; a debug build (the AWS
    // SDK's signing and serde unoptimized) takes seconds: a few seeds there, a few hundred with
    // `cargo test -p stepwise-sim --release`, any number with STEPWISE_SIM_SEEDS.
    let default = if cfg!(debug_assertions) { 6 } else { 300 };
    let n: u64 = std::env::var("STEPWISE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    let reports = sweep((1..=n).collect());
    let faults: u64 = reports.iter().map(|r| r.faults.total()).sum();
    assert!(
        faults > n * 5,
        "the seeds met {faults} faults: too few to prove anything"
    );
    for r in &reports {
        check(r);
    }
}

/// Two replays of a seed on two threads make the same requests at the same virtual times with
/// the same fates. Each thread's tokio runtime draws its own random numbers (for `select!`
/// without `biased`): before the map run polled its branches in a fixed order, a piece that
/// met its pause time and a child's end at once went either way (seed 100011: 2 of 6 replays;
/// the 24-item distributed Map of seed 11 below: 3 of 3 test runs failed).
#[test]
fn a_seed_replays_exactly() {
    let on_threads = |f: fn() -> SeedReport| {
        let replays: Vec<_> = (0..4)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn(f)
                    .expect("a thread")
            })
            .collect();
        let reports: Vec<SeedReport> = replays
            .into_iter()
            .map(|h| h.join().expect("a replay"))
            .collect();
        assert!(reports[0].requests > 0);
        for r in &reports[1..] {
            assert_eq!(
                (
                    r.fingerprint,
                    &r.faults,
                    r.requests,
                    r.virtual_ms,
                    &r.failures
                ),
                (
                    reports[0].fingerprint,
                    &reports[0].faults,
                    reports[0].requests,
                    reports[0].virtual_ms,
                    &reports[0].failures
                ),
                "seed {}",
                r.seed
            );
        }
    };
    on_threads(|| run_seed(7, &options()));
    on_threads(|| run_machines(11, Faults::standard(), &[dmap("dmap-24", 24)]));
    // The heavy workloads too (W2, W7): a step whose course hung on its usage, which counts
    // real time, replayed differently (seeds 7, 252, 253 with the sweep's options).
    on_threads(|| run_seed(7, &Options::default()));
}

/// Found by seeds 4, 6 and 10 (each failed before the fix): an invoker stopped after sending a
/// task's outcome but before marking its attempt sent (or whose send failed once) left the
/// attempt unmarked, and the redelivered command failed it as lost: a `.waitForTaskToken` task
/// that had been called and handed its token failed. Now the outcome is recorded on the attempt
/// before it is sent, and sent again on redelivery.
#[test]
fn regression_an_outcome_sent_before_its_attempt_was_marked_is_not_failed_as_lost() {
    let light = options();
    for seed in [4, 6, 10] {
        let r = run_machines(seed, light.faults, &[callback(), task_heavy()]);
        check_replay(
            &r,
            "cargo test -p stepwise-sim --test seeds regression_an_outcome",
        );
    }
}

/// Issue 10's rare bug: `begin_attempt`'s PutItem took effect and every try of the SDK timed
/// out, so the invocation could not know it had recorded the attempt and errored; its command,
/// redelivered after the invocation's deadline, found the record and failed the attempt as lost
/// though the task never ran. Now the invocation hands the command on naming itself, and the
/// redelivery takes the record over and calls the task once. Here each attempt's record meets
/// three timeouts (the SDK's three tries) before one is answered.
#[test]
fn regression_an_attempt_record_every_try_of_which_timed_out_is_not_failed_as_lost() {
    let faults = Faults {
        attempt_record_timeouts: 3,
        ..Faults::none()
    };
    for seed in [1, 2] {
        let r = run_machines(seed, faults, &[task_heavy(), callback()]);
        assert!(r.faults.timeout >= 3 * 10, "{:?}", r.faults);
        check_replay(
            &r,
            "cargo test -p stepwise-sim --test seeds regression_an_attempt_record_every",
        );
    }
}

/// Found by seeds 1, 4, 6 and 10: `begin_attempt`'s conditional PutItem timed out after it took
/// effect; the SDK retried it, the retry's condition failed on the record the first try wrote,
/// and the invoker took its own record for another invoker's: the command was handed back,
/// came again after the invocation's deadline and the attempt failed as lost, with nothing
/// lost. The record now names its invocation (Lambda's request id and deadline). Here every
/// tenth request times out after taking effect, so many attempts meet it.
#[test]
fn regression_a_timed_out_attempt_record_retried_by_the_sdk_is_its_own() {
    let faults = Faults {
        timeout: 0.1,
        ..Faults::none()
    };
    // Task calls handed to the invoker directly make fewer requests (no tasks queue), so fewer
    // meet a timeout: counted over both seeds.
    let mut timeouts = 0;
    for seed in [1, 2] {
        let r = run_machines(seed, faults, &[task_heavy(), callback()]);
        timeouts += r.faults.timeout;
        check_replay(
            &r,
            "cargo test -p stepwise-sim --test seeds regression_a_timed_out",
        );
    }
    assert!(timeouts > 10, "{timeouts} timeouts");
}

/// Issue 10 finding 6, issue 12 item 6: a distributed Map's iterations are child executions of
/// their own (each its item, history and message group), its run carried out by the invoker in
/// pieces that pause and go on from their cursor (30 s of virtual time here), with faults
/// between every two calls of the run as of everything else: every child once, no task
/// attempt twice, the parent's output and history as in the fault-free run.
#[test]
fn a_distributed_map_runs_its_children_as_executions_through_faults() {
    let n = if cfg!(debug_assertions) { 24 } else { 1000 };
    for seed in [3, 8] {
        let r = run_machines(seed, Faults::standard(), &[dmap(&format!("dmap-{n}"), n)]);
        assert_eq!(r.child_executions, n as u64, "seed {seed}");
        assert!(r.faults.total() > 10, "{:?}", r.faults);
        check_replay(
            &r,
            "cargo test -p stepwise-sim --test seeds a_distributed_map",
        );
    }
}

/// Found by seed 13 (this stop's 10,000-seed sweep, 28 s where a seed takes 2): each look at a
/// distributed Map's run sends the next; a look delivered twice (SQS standard queues may) began a
/// second chain of looks that lived as long as the run, each finding the run held by the other
/// and looking again in 2 s; under the seed's faults 27,303 looks were sent for one run. A look
/// that finds the run held by another look (or loses the claim to one) now ends its chain.
#[test]
fn regression_duplicated_looks_at_a_map_run_do_not_multiply() {
    let r = run_seed(13, &Options::default());
    check_replay(
        &r,
        "cargo test -p stepwise-sim --test seeds regression_duplicated_looks",
    );
    assert!(r.job_looks < 200, "{} looks at jobs", r.job_looks);
}

/// Found by seeds 50, 52 and 89 right after the fix above: a look's pause write timed out after
/// it took effect, the SDK's retry lost its condition to it, and the look took its own pause for
/// another look's and ended the only chain: the Map stayed RUNNING. The pause now keeps the
/// look's name, so the look finds its own write and goes on.
#[test]
fn regression_a_pause_whose_retried_write_lost_to_itself_keeps_its_chain() {
    let r = run_seed(89, &Options::default());
    check_replay(
        &r,
        "cargo test -p stepwise-sim --test seeds regression_a_pause_whose",
    );
}

/// Found by seed 100023 (stop 23's release sweep): the first conditional write of a distributed
/// Map run's cursor lost its condition to a write of the same start (a retried write that had
/// taken effect, or the command delivered twice), and the Map failed with `States.Runtime`
/// ("... #cursor was changed concurrently") where the fault-free run succeeded. A start that
/// loses to a start of the same run now goes on with it.
#[test]
fn regression_a_map_run_whose_start_was_written_twice_goes_on() {
    let r = run_seed(100_023, &Options::default());
    check_replay(
        &r,
        "cargo test -p stepwise-sim --test seeds regression_a_map_run_whose_start",
    );
}

/// Found by seed 500 (the first with the 10,000-item Maps, which never ended): a Map's step
/// commits its fan-out of task calls, and while the invocation that committed it sends them
/// (seconds for a thousand), every task answer the invoker applied inline found the outbox not
/// yet cleared and sent it all again: a Map of n tasks sent ~n²/2 task calls (fault-free, 200
/// items: 6,292 requests before the fix, 1,289 after), and under faults the duplicates' answers
/// fed more. An answer applied beside the queue now leaves such an outbox to its sender and
/// goes through the execution's queue.
#[test]
fn regression_task_answers_do_not_send_a_maps_fan_out_again() {
    let r = run_machines(1, Faults::none(), &[map("map-200", 200)]);
    eprintln!(
        "fault-free: {} task calls sent, {} requests",
        r.task_calls_sent, r.requests
    );
    check_replay(
        &r,
        "cargo test -p stepwise-sim --test seeds regression_task_answers_do_not",
    );
    assert!(
        r.task_calls_sent <= 200,
        "{} task calls sent for 200 tasks",
        r.task_calls_sent
    );
}

/// Found by seed 500: a distributed Map of 1,000 items took 71 hours of virtual time. A look
/// carrying a map run's piece on for minutes meets a crash or a timeout often, and its message
/// came back only after the tasks queue's visibility timeout (90 minutes, set for the longest
/// task call), each time. The look now makes its message visible again once its hold on the run
/// has surely ended (the invocation's end, a piece and the lease's margin): a 60-item
/// distributed Map over seeds 1, 4 and 500 took 18.1 h of virtual time before, 5.8 h after.
/// (A first try brought the message back when the hold begun at the look's start ended: seed 4
/// lost its Map, the message back while its own lease held ending the only chain of looks.)
#[test]
fn regression_a_stopped_look_at_a_map_run_is_taken_up_when_its_hold_ends() {
    let mut hours = 0.0;
    for seed in [1, 4, 500] {
        let r = run_machines(seed, Faults::standard(), &[dmap("dmap-60", 60)]);
        check_replay(
            &r,
            "cargo test -p stepwise-sim --test seeds regression_a_stopped_look",
        );
        eprintln!(
            "seed {seed}: {} looks, {:.2} h virtual",
            r.job_looks,
            r.virtual_ms as f64 / 3.6e6
        );
        hours += r.virtual_ms as f64 / 3.6e6;
    }
    assert!(hours < 9.0, "{hours:.1} h virtual over three seeds");
}

/// A look at a map run whose claim's answer was lost (a timeout after a throttled retry: the
/// claim took effect) took it for not taken and queued the next look at once; that look found
/// the lease held and, taking it for a living look's, ended the only chain: the Map ran forever
/// (seed 6843 of the sweep, 72 h virtual). Now a look unsure of its claim comes back once the
/// lease it may hold is over.
#[test]
fn regression_a_look_unsure_of_its_claim_on_a_map_run_comes_back_after_the_lease() {
    let r = run_seed(6843, &Options::default());
    check_replay(
        &r,
        "cargo run -p stepwise-sim --release -- --map-items 20 --big-map-every 100 --big-map-items 1000 --w3-every 500 --dmap-items 10 --big-dmap-every 100 --big-dmap-items 1000 --seed 6843",
    );
}

/// Found by seed 84 of the sweep: the first write of a distributed Map's cursor was throttled
/// and then timed out through every retry of the SDK, and the map run's start failed the Map
/// (`States.Runtime`, a DynamoDB error) where the fault-free run succeeds. Its command now
/// comes again and begins the run again.
#[test]
fn regression_a_map_run_whose_cursor_could_not_be_written_begins_again() {
    let r = run_seed(84, &Options::default());
    check_replay(&r, "cargo run -p stepwise-sim --release -- --seed 84");
}

/// Found by seed 2529 of this stop's sweep: a distributed Map's look (a job's poll, minutes
/// long) was delivered five times, three looks stopped by crashes and two deletes lost, and the
/// message went to the tasks dead-letter queue although every look had been taken up again (a
/// few more stops and the Map would have waited on a dead letter). A look delivered again now
/// goes on as a fresh message (tested on its own in tests/e2e/serverless/jobs.rs). Since then
/// the simulation's lost deletes, like its crashes, hit a message's first three deliveries only,
/// so this seed no longer meets that course; it stays as the seed that found it.
#[test]
fn regression_a_look_delivered_again_goes_on_as_a_fresh_message() {
    let r = run_seed(2529, &Options::default());
    check_replay(&r, "cargo run -p stepwise-sim --release -- --seed 2529");
}
