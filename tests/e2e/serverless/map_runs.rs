//! A distributed Map in the serverless home (issue 12 item 6, issue 10 finding 6): its
//! children are executions of their own (each its item, history and message group), started
//! by a map run that the invoker carries out in pieces, pausing and going on from its cursor;
//! the items come from S3 (moto), in batches, and the results go back to S3.

use super::*;

const DATA: &str = "dmap-data";

fn machine(max_concurrency: u64) -> Value {
    json!({"StartAt": "Orders", "States": {"Orders": {
        "Type": "Map",
        "MaxConcurrency": max_concurrency,
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"},
            "ReaderConfig": {"InputType": "JSONL"}
        },
        "ItemBatcher": {"MaxItemsPerBatch": 4, "BatchInput": {"source.$": "$.Key"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Total",
            "States": {"Total": {"Type": "Pass", "Parameters": {
                "source.$": "$.BatchInput.source",
                "count.$": "States.ArrayLength($.Items)"
            }, "End": true}}
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": DATA, "Prefix": "results"}
        },
        "End": true
    }}})
}

async fn object(h: &Harness, key: &str) -> Value {
    let out = h
        .aws
        .s3
        .get_object()
        .bucket(DATA)
        .key(key)
        .send()
        .await
        .expect("get object");
    let bytes = out.body.collect().await.expect("body").into_bytes();
    serde_json::from_slice(&bytes).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_distributed_map_runs_its_batches_as_child_executions_in_pieces() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    // The harness runs the functions one after another: a piece must end for the children's
    // steps to run, so the run pauses and goes on many times.
    h.invoker.map_runs.set_piece(Duration::from_millis(300));
    h.aws
        .s3
        .create_bucket()
        .bucket(DATA)
        .send()
        .await
        .expect("bucket");
    let items: usize = 25;
    let body: String = (0..items)
        .map(|i| format!("{}\n", json!({"id": i, "sku": format!("SKU-{}", i % 7)})))
        .collect();
    h.aws
        .s3
        .put_object()
        .bucket(DATA)
        .key("orders.jsonl")
        .body(body.into_bytes().into())
        .send()
        .await
        .expect("put items");
    let sm = h.create("dmap", &machine(3)).await;
    let arn = start_execution(
        &h,
        &sm,
        None,
        json!({"Bucket": DATA, "Key": "orders.jsonl"}),
        None,
    )
    .await
    .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(240))
        .await;
    let (e, events) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    // The parent holds the run, not its items: a handful of events.
    assert!(events.len() < 20, "{} events in the parent", events.len());
    // The run is the invoker's own work, metered as Stepwise's overhead (the invoker's
    // duration), not as a call of a user's task function.
    assert_eq!(e.usage.task_invocations, 0, "{:?}", e.usage);
    assert!(e.usage.lambda_gb_seconds > 0.0, "{:?}", e.usage);
    let output: Value =
        serde_json::from_str(&e.state.output.as_ref().expect("output").to_string()).expect("json");
    let map_run = output["MapRunArn"].as_str().expect("MapRunArn").to_string();
    assert!(map_run.contains(":mapRun:dmap/"), "{map_run}");
    let label = map_run
        .split(":mapRun:")
        .nth(1)
        .and_then(|t| t.rsplit_once(':'))
        .map(|(l, _)| l.to_string())
        .expect("label");

    // The children are executions: listed by their map run through the API function.
    let api = h.api();
    let listed = call(&api, "ListExecutions", json!({"mapRunArn": map_run})).await;
    let children = listed["executions"].as_array().expect("executions").clone();
    let batches: usize = items.div_ceil(4);
    assert_eq!(children.len(), batches, "{listed}");
    for c in &children {
        let child = c["executionArn"].as_str().expect("arn");
        assert!(child.contains(&format!(":execution:{label}:")), "{child}");
        assert_eq!(c["status"], "SUCCEEDED");
        assert_eq!(c["mapRunArn"], json!(map_run));
        // Each its own execution item and history.
        let (ce, ch) = h.outcome(child).await;
        assert_eq!(ce.state.status, Status::Succeeded);
        assert!(!ch.is_empty());
    }

    let d = call(&api, "DescribeMapRun", json!({"mapRunArn": map_run})).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["executionArn"], json!(arn));
    assert_eq!(d["maxConcurrency"], 3);
    assert_eq!(d["itemCounts"]["total"], items, "{d}");
    assert_eq!(d["itemCounts"]["succeeded"], items, "{d}");
    assert_eq!(d["itemCounts"]["resultsWritten"], items, "{d}");
    assert_eq!(d["itemCounts"]["running"], 0, "{d}");
    assert_eq!(d["executionCounts"]["total"], batches, "{d}");
    assert_eq!(d["executionCounts"]["succeeded"], batches, "{d}");
    let runs = call(&api, "ListMapRuns", json!({"executionArn": arn})).await;
    assert_eq!(runs["mapRuns"][0]["mapRunArn"], json!(map_run), "{runs}");

    // The results: every batch once, in the files the manifest lists.
    let key = output["ResultWriterDetails"]["Key"].as_str().expect("key");
    let manifest = object(&h, key).await;
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]), "{manifest}");
    let mut seen = std::collections::BTreeSet::new();
    let mut counted = 0;
    for f in manifest["ResultFiles"]["SUCCEEDED"]
        .as_array()
        .expect("files")
    {
        let entries = object(&h, f["Key"].as_str().expect("key")).await;
        for entry in entries.as_array().expect("entries") {
            assert!(seen.insert(entry["ExecutionArn"].as_str().expect("arn").to_string()));
            let out: Value =
                serde_json::from_str(entry["Output"].as_str().expect("output")).expect("json");
            assert_eq!(out["source"], "orders.jsonl");
            counted += out["count"].as_u64().expect("count");
        }
    }
    assert_eq!(seen.len(), batches);
    assert_eq!(counted, items as u64);
    // One SUCCEEDED file, as AWS writes them (a new one only past 5 GB), though the run paused
    // many times with it open; the objects that held its text over the pauses are gone.
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{manifest}"
    );
    let folder = key.trim_end_matches("manifest.json");
    let listed = h
        .aws
        .s3
        .list_objects_v2()
        .bucket(DATA)
        .prefix(folder)
        .send()
        .await
        .expect("list results");
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(|k| k.trim_start_matches(folder).to_string()))
        .collect();
    keys.sort();
    assert_eq!(keys, ["SUCCEEDED_0.json", "manifest.json"]);
}

/// The peak resident memory of this process (VmHWM), in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Resets this process's peak resident memory (VmHWM) to its current size, so the peak read
/// later is the run's and not the set-up's (Linux: `5` to `/proc/self/clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Samples the resident memory every 100 ms until stopped: (peak KiB, seconds in when it was
/// reached, samples), to tell a steady climb with the items from a short spike.
fn sample_rss(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(u64, f64, Vec<u64>)> {
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let (mut peak, mut at, mut samples) = (0, 0.0, Vec::new());
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let kib = status_kib("VmRSS:");
            if kib > peak {
                (peak, at) = (kib, t0.elapsed().as_secs_f64());
            }
            samples.push(kib);
            std::thread::sleep(Duration::from_millis(100));
        }
        (peak, at, samples)
    })
}

/// The largest item of the table (DynamoDB's item size: names and values) and the item count.
async fn largest_item(h: &Harness) -> (usize, String, usize) {
    use aws_sdk_dynamodb::types::AttributeValue;
    fn size(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + size(x)).sum::<usize>(),
            AttributeValue::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + size(x)).sum::<usize>(),
            AttributeValue::Ss(l) | AttributeValue::Ns(l) => l.iter().map(String::len).sum(),
            _ => 1,
        }
    }
    let (mut largest, mut which, mut count) = (0, String::new(), 0);
    let mut start = None;
    loop {
        let out = h
            .aws
            .dynamodb
            .scan()
            .table_name(&h.aws.names.table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        for item in out.items() {
            count += 1;
            let n: usize = item.iter().map(|(k, v)| k.len() + size(v)).sum();
            if n > largest {
                largest = n;
                which = format!(
                    "{} {}",
                    item.get("PK")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default(),
                    item.get("SK")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                );
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return (largest, which, count);
        }
    }
}

/// Benchmark (not a test; `cargo test -p stepwise-tests --test e2e w8_ -- --ignored
/// --nocapture`, `STEPWISE_W8_ITEMS`, 10,000 by default): W8 (tests/bench/W8-dmap: JSONL items
/// on S3, ItemBatcher of 100, ResultWriter, EXPRESS children) in the serverless home on DynamoDB
/// Local and moto, the functions running side by side as Lambda runs them (four steppers, one
/// invoker at a time, its map run pieces of the deployed length). Prints the wall time, this
/// process's peak memory (every function's), the largest DynamoDB item and the metered cost.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn w8_in_the_serverless_home() {
    let n: usize = std::env::var("STEPWISE_W8_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let Some(h) = harness(None, false).await else {
        return;
    };
    // The functions run side by side here: pieces as deployed.
    h.invoker.map_runs.set_piece(invoker::MAP_RUN_PIECE);
    let h = std::sync::Arc::new(h);
    h.aws
        .s3
        .create_bucket()
        .bucket(DATA)
        .send()
        .await
        .expect("bucket");
    // The items go up from a file, streamed: this process holds none of them, as no function
    // of the serverless home does (the user puts them on S3).
    let data = std::env::temp_dir().join(format!("stepwise-w8-{}-{n}.jsonl", std::process::id()));
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&data).expect("data file"));
        for i in 0..n {
            writeln!(
                f,
                "{}",
                json!({"id": i, "sku": format!("SKU-{}", i % 977), "qty": i % 13, "price": (i % 500) as f64 / 10.0})
            )
            .expect("write");
        }
        f.flush().expect("flush");
    }
    h.aws
        .s3
        .put_object()
        .bucket(DATA)
        .key("orders.jsonl")
        .body(
            aws_sdk_s3::primitives::ByteStream::from_path(&data)
                .await
                .expect("data file"),
        )
        .send()
        .await
        .expect("put items");
    let _ = std::fs::remove_file(&data);
    let definition: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/W8-dmap/definition.json"),
        )
        .expect("W8 definition"),
    )
    .expect("json");
    let sm = h.create("w8", &definition).await;
    reset_peak_rss();
    let idle_kib = status_kib("VmRSS:");
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_rss(sampling.clone());
    let started = Instant::now();
    let arn = start_execution(
        &h,
        &sm,
        None,
        json!({"Bucket": DATA, "Key": "orders.jsonl", "ResultBucket": DATA}),
        None,
    )
    .await
    .expect("start");
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pumps = Vec::new();
    for i in 0..6 {
        let (h, done) = (h.clone(), done.clone());
        pumps.push(tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let moved = match i {
                    0 => h.pump_tasks().await,
                    1 => h.pump_timers().await | h.fire_schedules().await,
                    _ => h.pump_transitions().await,
                };
                if !moved {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    loop {
        let e = h
            .table()
            .load_execution(&arn)
            .await
            .expect("load")
            .expect("exists");
        if e.state.status != Status::Running {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(7200),
            "W8 still running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in pumps {
        let _ = p.await;
    }
    let peak_kib = peak_rss_kib();
    sampling.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sampled_kib, peak_at, samples) = sampler.join().expect("sampler");
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    let output: Value =
        serde_json::from_str(&e.state.output.as_ref().expect("output").to_string()).expect("json");
    let map_run = output["MapRunArn"].as_str().expect("MapRunArn").to_string();
    let manifest = object(
        &h,
        output["ResultWriterDetails"]["Key"].as_str().expect("key"),
    )
    .await;
    let (mut batches, mut items) = (0, 0);
    for f in manifest["ResultFiles"]["SUCCEEDED"]
        .as_array()
        .expect("files")
    {
        for entry in object(&h, f["Key"].as_str().expect("key"))
            .await
            .as_array()
            .expect("entries")
        {
            let out: Value =
                serde_json::from_str(entry["Output"].as_str().expect("output")).expect("json");
            batches += 1;
            items += out["count"].as_u64().expect("count");
        }
    }
    assert_eq!((batches, items), (n.div_ceil(100), n as u64));
    let files = manifest["ResultFiles"]["SUCCEEDED"]
        .as_array()
        .map_or(0, Vec::len);
    // Metered: the parent and every child (the map run's own requests are not metered).
    let mut total = e.usage.clone();
    let mut token: Option<String> = None;
    let api = h.api();
    loop {
        let mut req = json!({"mapRunArn": map_run, "maxResults": 1000});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = call(&api, "ListExecutions", req).await;
        for c in page["executions"].as_array().expect("executions") {
            let child = c["executionArn"].as_str().expect("arn");
            if let Ok(Some(ce)) = h.table().load_execution(child).await {
                total.add(&ce.usage);
            }
        }
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let (largest, which, count) = largest_item(&h).await;
    eprintln!(
        "W8 serverless {n} items: {:.2} s wall, {:.1} us/item, peak RSS {:.1} MiB (idle {:.1} MiB), \
         {batches} batches in {files} result files, {count} DynamoDB items, largest {largest} B ({which})",
        wall.as_secs_f64(),
        wall.as_secs_f64() / n as f64 * 1e6,
        peak_kib as f64 / 1024.0,
        idle_kib as f64 / 1024.0,
    );
    // The resident memory in tenths of the run: flat, or climbing with the items.
    let tenths: Vec<String> = (1..=10)
        .map(|k| {
            let i = (samples.len() * k / 10).saturating_sub(1);
            format!(
                "{:.1}",
                samples.get(i).copied().unwrap_or(0) as f64 / 1024.0
            )
        })
        .collect();
    eprintln!(
        "resident MiB over the run (every tenth): {}; sampled peak {:.1} MiB at {peak_at:.1} s",
        tenths.join(" "),
        sampled_kib as f64 / 1024.0,
    );
    super::runs::print_usage(&format!("W8 {n} items"), &total);
    eprintln!(
        "metered total: ${:.4} Stepwise overhead (Step Functions: ${:.4})",
        stepwise_store_aws::meter::Prices::default().cost(&total),
        stepwise_store_aws::meter::Prices::default().step_functions_cost(&total),
    );
}

impl Harness {
    /// Runs every queue once; whether anything moved.
    async fn pump_all(&self) -> bool {
        let mut moved = self.pump_transitions().await;
        moved |= self.pump_timers().await;
        moved |= self.pump_tasks().await;
        moved | self.fire_schedules().await
    }

    /// Pumps the queues until `done` says so (or `limit` passes: a failure).
    async fn pump_until<F, Fut>(&self, limit: Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let end = Instant::now() + limit;
        while !done().await {
            assert!(Instant::now() < end, "not done after {limit:?}");
            if !self.pump_all().await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_parent_stops_the_running_children_and_aborts_the_map_run() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    h.invoker.map_runs.set_piece(Duration::from_millis(300));
    let sm = h
        .create(
            "dmap-stop",
            &json!({"StartAt": "M", "States": {"M": {
                "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": true}}
                },
                "End": true}}}),
        )
        .await;
    let arn = start_execution(&h, &sm, None, json!({"items": [1, 2, 3, 4, 5, 6]}), None)
        .await
        .expect("start");
    let api = h.api();
    let map_run = std::sync::Mutex::new(String::new());
    h.pump_until(Duration::from_secs(60), || {
        let (api, arn, map_run) = (&api, &arn, &map_run);
        async move {
            let runs = call(api, "ListMapRuns", json!({"executionArn": arn})).await;
            let Some(m) = runs["mapRuns"][0]["mapRunArn"].as_str() else {
                return false;
            };
            *map_run.lock().expect("lock") = m.to_string();
            // Not found until the run's first piece has written its record.
            let (_, running) = call_raw(
                api,
                Some("AWSStepFunctions.ListExecutions"),
                &json!({"mapRunArn": m, "statusFilter": "RUNNING"}).to_string(),
                false,
            )
            .await;
            running["executions"].as_array().map_or(0, Vec::len) == 4
        }
    })
    .await;
    let map_run = map_run.into_inner().expect("lock");
    call(&api, "StopExecution", json!({"executionArn": arn})).await;
    h.pump_until(Duration::from_secs(90), || {
        let (api, map_run) = (&api, &map_run);
        async move {
            let d = call(api, "DescribeMapRun", json!({"mapRunArn": map_run})).await;
            d["status"] == "ABORTED"
        }
    })
    .await;
    // The children it had started are stopped; the two never started stay so.
    let listed = call(&api, "ListExecutions", json!({"mapRunArn": map_run})).await;
    let children = listed["executions"].as_array().expect("executions");
    assert_eq!(children.len(), 4, "{listed}");
    for c in children {
        assert_eq!(c["status"], "ABORTED", "{c}");
    }
    let d = call(&api, "DescribeMapRun", json!({"mapRunArn": map_run})).await;
    assert_eq!(d["executionCounts"]["running"], 0, "{d}");
    assert_eq!(d["executionCounts"]["aborted"], 4, "{d}");
}

/// Redriving a parent whose map run failed runs the same map run again (MapRunRedriven), as in
/// `serve`: the child that succeeded keeps its outcome, the failed one is redriven, the one that
/// never started starts.
#[tokio::test(flavor = "multi_thread")]
async fn redriving_the_parent_reruns_only_failed_and_unstarted_children() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    h.invoker.map_runs.set_piece(Duration::from_millis(300));
    // Item 1 fails until its child execution is redriven.
    let sm = h
        .create(
            "dmap-redrive",
            &json!({"StartAt": "M", "States": {"M": {
                "Type": "Map", "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "W", "States": {"W": {
                        "Type": "Pass", "QueryLanguage": "JSONata", "End": true,
                        "Output": "{% ($states.context.Execution.RedriveCount = 0 and $states.input.v = 1) ? $error(\"first time\") : {\"v\": $states.input.v, \"rc\": $states.context.Execution.RedriveCount} %}"
                    }}
                },
                "End": true}}}),
        )
        .await;
    let input = json!([{"v": 0}, {"v": 1}, {"v": 2}]);
    let arn = start_execution(&h, &sm, None, input, None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(240))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Failed);
    let api = h.api();
    let runs = call(&api, "ListMapRuns", json!({"executionArn": arn})).await;
    let map_run = runs["mapRuns"][0]["mapRunArn"]
        .as_str()
        .expect("map run")
        .to_string();
    let listed = call(&api, "ListExecutions", json!({"mapRunArn": map_run})).await;
    let first: std::collections::BTreeMap<String, String> = listed["executions"]
        .as_array()
        .expect("executions")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut statuses: Vec<&str> = first.values().map(String::as_str).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["FAILED", "SUCCEEDED"], "{listed}");
    let d = call(&api, "DescribeMapRun", json!({"mapRunArn": map_run})).await;
    assert_eq!(d["status"], "FAILED", "{d}");

    call(&api, "RedriveExecution", json!({"executionArn": arn})).await;
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(240))
        .await;
    let (e, events) = h.outcome(&arn).await;
    assert_eq!(e.state.status, Status::Succeeded, "{:?}", e.state.cause);
    let output: Value =
        serde_json::from_str(&e.state.output.as_ref().expect("output").to_string()).expect("json");
    assert_eq!(
        output,
        json!([{"v": 0, "rc": 0}, {"v": 1, "rc": 1}, {"v": 2, "rc": 0}])
    );
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "MapRunRedriven").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "MapRunStarted").count(),
        1,
        "{kinds:?}"
    );
    let listed = call(&api, "ListExecutions", json!({"mapRunArn": map_run})).await;
    let kids = listed["executions"].as_array().expect("executions");
    assert_eq!(kids.len(), 3, "{listed}");
    for k in kids {
        assert_eq!(k["status"], "SUCCEEDED", "{k}");
        let before = first.get(k["name"].as_str().unwrap_or_default());
        let want = u64::from(before.is_some_and(|s| s == "FAILED"));
        assert_eq!(k["redriveCount"], want, "{k}");
    }
    let d = call(&api, "DescribeMapRun", json!({"mapRunArn": map_run})).await;
    assert_eq!(
        (d["status"].clone(), d["redriveCount"].clone()),
        (json!("SUCCEEDED"), json!(1)),
        "{d}"
    );
    assert_eq!(d["executionCounts"]["succeeded"], 3, "{d}");
}

/// Found by simulation seed 200002: a map run waits for each child with the driver's
/// `wait_end_of`, which took a failed read of the child (throttled, timed out) or a child not
/// there yet for its end; the run then counted the still-running child as failed and the Map
/// failed with `States.Runtime` and no cause. A wait ends only on an end read from the table.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_an_execution_ends_only_when_it_is_read_ended() {
    use stepwise_ports::api::Driver;
    use stepwise_store_aws::api_driver::AwsDriver;
    use stepwise_store_aws::meter::Meter;
    use stepwise_store_aws::ports::AwsStore;
    let Some(h) = harness(None, false).await else {
        return;
    };
    let driver = |aws: Aws| {
        std::sync::Arc::new(AwsDriver::new(std::sync::Arc::new(AwsStore::new(
            aws,
            std::sync::Arc::new(Meter::default()),
        ))))
    };
    // Every read fails (a table that is not there): the wait lasts until its time is up.
    let mut broken = h.aws.clone();
    broken.names = std::sync::Arc::new(Names {
        table: "no-such-table".into(),
        ..(*h.aws.names).clone()
    });
    let begun = Instant::now();
    driver(broken)
        .wait_end(
            "arn:aws:states:us-east-1:111111111111:execution:any:one",
            1_500,
        )
        .await;
    assert!(
        begun.elapsed() >= Duration::from_millis(1_500),
        "a failed read was taken for the execution's end"
    );
    // An execution not there yet is waited for until it is there and has ended.
    let sm = h
        .create(
            "waited",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        )
        .await;
    let arn = format!("{}:late", sm.replace(":stateMachine:", ":execution:"));
    let d = driver(h.aws.clone());
    let waiting = {
        let arn = arn.clone();
        tokio::spawn(async move { d.wait_end(&arn, 60_000).await })
    };
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(
        !waiting.is_finished(),
        "an execution not there yet was taken for ended"
    );
    let started = start_execution(&h, &sm, Some("late".into()), json!({}), None)
        .await
        .expect("start");
    assert_eq!(started, arn);
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(60))
        .await;
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the wait ends once the execution has")
        .expect("join");
}
