//! `stepwise-sim --seeds 10000`: the simulation over many seeds; `--seed N` replays one.

use clap::Parser;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use stepwise_sim::workloads::{run_seed, Failure, Options};
use stepwise_sim::{FaultCounts, Faults};

// A seed allocates and frees a great deal (checkpoints, SDK requests): glibc's allocator was a
// fifth of a heavy seed's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the serverless home's handlers on simulated AWS over many seeds.
#[derive(Parser)]
struct Args {
    /// How many seeds (from --first).
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    first: u64,
    /// Replay just this seed (and print what it found).
    #[arg(long)]
    seed: Option<u64>,
    /// Items of the Map of tasks every seed runs.
    #[arg(long, default_value_t = 20)]
    map_items: usize,
    /// Every this many seeds, a Map of --big-map-items tasks too (0: never).
    #[arg(long, default_value_t = 100)]
    big_map_every: u64,
    /// Its items.
    #[arg(long, default_value_t = 1000)]
    big_map_items: usize,
    /// Every this many seeds, the 10,000-item inline Maps W3 and W3b too (0: never).
    #[arg(long, default_value_t = 500)]
    w3_every: u64,
    /// Items of the distributed Map every seed runs (0: none).
    #[arg(long, default_value_t = 10)]
    dmap_items: usize,
    /// Every this many seeds, a distributed Map of --big-dmap-items too (0: never).
    #[arg(long, default_value_t = 100)]
    big_dmap_every: u64,
    /// Its items.
    #[arg(long, default_value_t = 1000)]
    big_dmap_items: usize,
    /// Run without faults.
    #[arg(long)]
    no_faults: bool,
    /// Leave out W2 and W7 (most of a seed's time).
    #[arg(long)]
    light: bool,
    /// Seeds run at once, each on a thread of its own (a seed's run is one thread).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Print every SDK request (virtual time, service, operation, fate, body) to stderr: two
    /// replays of a seed print the same lines.
    #[arg(long)]
    trace: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.trace {
        std::env::set_var("STEPWISE_SIM_TRACE", "1");
    }
    let opts = Options {
        faults: if args.no_faults {
            Faults::none()
        } else {
            Faults::standard()
        },
        map_items: args.map_items,
        big_map_every: args.big_map_every,
        big_map_items: args.big_map_items,
        w3_every: args.w3_every,
        heavy: !args.light,
        dmap_items: args.dmap_items,
        big_dmap_every: args.big_dmap_every,
        big_dmap_items: args.big_dmap_items,
    };
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (args.first..args.first + args.seeds).collect(),
    };
    let started = Instant::now();
    let mut faults = FaultCounts::default();
    let (mut executions, mut lost, mut doubled, mut diverged, mut dead, mut lost_attempts) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut failing = Vec::new();
    let (mut requests, mut virtual_ms, mut answers_lost) = (0u64, 0i64, 0u64);
    // Workers take the next seed; reports come back in the order seeds end.
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..args.jobs.max(1) {
        let (next, tx, seeds, opts) = (next.clone(), tx.clone(), seeds.clone(), opts.clone());
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || loop {
                let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                let t = Instant::now();
                let r = run_seed(seed, &opts);
                if tx.send((seed, t.elapsed(), r)).is_err() {
                    return;
                }
            })?;
    }
    drop(tx);
    for (i, (seed, took, r)) in rx.iter().enumerate() {
        let seed = &seed;
        faults.add(&r.faults);
        executions += r.executions;
        lost_attempts += r.lost_attempts;
        answers_lost += r.answers_lost;
        requests += r.requests;
        virtual_ms += r.virtual_ms;
        for f in &r.failures {
            match f {
                Failure::Lost(_) => lost += 1,
                Failure::Doubled(_) => doubled += 1,
                Failure::Diverged(..) => diverged += 1,
                Failure::DeadLetter(_) => dead += 1,
            }
        }
        if args.seed.is_some() || !r.failures.is_empty() {
            println!(
                "seed {seed}: {} failures, {} faults, {} requests (fingerprint {:016x}), {} job looks, {} task calls sent, {:.1} s virtual, {} ms real, largest item {} B",
                r.failures.len(),
                r.faults.total(),
                r.requests,
                r.fingerprint,
                r.job_looks,
                r.task_calls_sent,
                r.virtual_ms as f64 / 1000.0,
                took.as_millis(),
                r.largest_item
            );
            for f in &r.failures {
                println!("  {f:?}");
            }
            if args.seed.is_some() {
                for (m, c, t) in &r.costs {
                    println!(
                        "  {m:12} {t:6} transitions, ${c:.2} per million transitions (metered)"
                    );
                }
            }
            if !r.failures.is_empty() {
                println!(
                    "  replay: cargo run -p stepwise-sim --release -- {}--map-items {} --big-map-every {} --big-map-items {} --w3-every {} --dmap-items {} --big-dmap-every {} --big-dmap-items {} --seed {seed}",
                    if args.light { "--light " } else { "" },
                    args.map_items,
                    args.big_map_every,
                    args.big_map_items,
                    args.w3_every,
                    args.dmap_items,
                    args.big_dmap_every,
                    args.big_dmap_items
                );
                failing.push(*seed);
            }
        }
        if (i + 1) % 10 == 0 {
            eprintln!(
                "{} seeds, {:.0} ms/seed, {} failing so far; lost {lost}, doubled {doubled}, diverged {diverged}, dead letters {dead}; faults {}",
                i + 1,
                started.elapsed().as_millis() as f64 / (i + 1) as f64,
                failing.len(),
                serde_json::to_string(&faults)?
            );
        }
    }
    let n = seeds.len().max(1) as f64;
    println!(
        "{} seeds, {executions} executions, {requests} SDK requests, {:.1} h virtual; {:.0} ms per seed ({} at once)",
        seeds.len(),
        virtual_ms as f64 / 3_600_000.0,
        started.elapsed().as_millis() as f64 / n,
        args.jobs.max(1)
    );
    println!(
        "faults injected: {} {}",
        faults.total(),
        serde_json::to_string(&faults)?
    );
    println!(
        "lost {lost}, doubled {doubled}, diverged {diverged}, dead letters {dead}; task attempts failed as lost by design: {lost_attempts} (answers lost with a crashed invoker: {answers_lost})"
    );
    if !failing.is_empty() {
        println!("failing seeds: {failing:?}");
        std::process::exit(1);
    }
    Ok(())
}
