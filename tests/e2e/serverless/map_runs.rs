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
    let items = 25;
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
    let batches = (items + 3) / 4;
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
}
