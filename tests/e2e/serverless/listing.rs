//! ListExecutions over GSI1's shards on DynamoDB Local: one state machine's executions spread
//! over several index partitions, listed newest first across them, paged with nextToken and
//! filtered by status as from one partition; the index holds only what listings read.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;

fn names(v: &Value) -> Vec<String> {
    v["executions"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every page of ListExecutions with `page` results at a time.
async fn list_all(svc: &api::ApiService, sm: &str, status: Option<&str>, page: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"stateMachineArn": sm, "maxResults": page});
        if let Some(s) = status {
            req["statusFilter"] = json!(s);
        }
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let r = call(svc, "ListExecutions", req).await;
        let got = names(&r);
        assert!(got.len() <= page as usize, "{r}");
        out.extend(got);
        match r["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_executions_merges_the_index_shards_newest_first_with_paging_and_filters() {
    let Some(h) = harness(None, false).await else {
        return;
    };
    let svc = h.api();
    let sm = create_through_api(
        &svc,
        "busy",
        json!({"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}),
    )
    .await;
    let mut started = Vec::new();
    for i in 0..24 {
        let name = format!("e{i:02}");
        let r = call(
            &svc,
            "StartExecution",
            json!({"stateMachineArn": sm, "name": name, "input": "{}"}),
        )
        .await;
        started.push((name, r["executionArn"].as_str().expect("arn").to_string()));
        // Distinct start times: the expected order is the reverse of the starts.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    h.settle_queues().await;

    // The executions are spread over several index partitions of the state machine.
    let mut partitions = HashSet::new();
    for (_, arn) in &started {
        let item = meta_item(&h, arn).await.expect("META");
        let pk = item["GSI1PK"].as_s().expect("GSI1PK").clone();
        assert!(pk == sm || pk.starts_with(&format!("{sm}#")), "{pk}");
        partitions.insert(pk);
    }
    assert!(partitions.len() >= 4, "one hot partition: {partitions:?}");

    // The index holds what listings read, not the checkpoint or the outbox.
    let some = h
        .aws
        .dynamodb
        .query()
        .table_name("stepwise")
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :p")
        .expression_attribute_values(
            ":p",
            AttributeValue::S(partitions.iter().next().cloned().expect("one")),
        )
        .send()
        .await
        .expect("query the index");
    let entry = some.items().first().expect("an index entry");
    for absent in ["state", "outbox", "usage", "version"] {
        assert!(
            !entry.contains_key(absent),
            "GSI1 projects {absent}: {entry:?}"
        );
    }
    for present in ["meta", "status", "PK", "GSI1SK"] {
        assert!(
            entry.contains_key(present),
            "GSI1 lacks {present}: {entry:?}"
        );
    }

    // Newest first across the shards, whatever the page size.
    let newest_first: Vec<String> = started.iter().rev().map(|(n, _)| n.clone()).collect();
    for page in [1, 5, 7, 24, 100] {
        assert_eq!(
            list_all(&svc, &sm, None, page).await,
            newest_first,
            "pages of {page}"
        );
    }

    // A status filter across the shards: every third execution stopped.
    let mut aborted = Vec::new();
    for (i, (name, arn)) in started.iter().enumerate() {
        if i % 3 == 0 {
            call(&svc, "StopExecution", json!({"executionArn": arn})).await;
            aborted.push(name.clone());
        }
    }
    h.settle_queues().await;
    aborted.reverse();
    let running: Vec<String> = newest_first
        .iter()
        .filter(|n| !aborted.contains(n))
        .cloned()
        .collect();
    assert_eq!(list_all(&svc, &sm, Some("ABORTED"), 3).await, aborted);
    assert_eq!(list_all(&svc, &sm, Some("RUNNING"), 4).await, running);
    assert!(list_all(&svc, &sm, Some("SUCCEEDED"), 10).await.is_empty());

    // An execution indexed before the sharding (under the bare state machine ARN) is listed
    // in its place.
    let (name, arn) = started
        .iter()
        .find(|(_, arn)| stepwise_store_aws::listing::execution_partition(&sm, arn) != sm)
        .cloned()
        .expect("an execution off shard 0");
    h.aws
        .dynamodb
        .update_item()
        .table_name("stepwise")
        .key("PK", AttributeValue::S(format!("EX#{arn}")))
        .key("SK", AttributeValue::S("META".into()))
        .update_expression("SET GSI1PK = :sm")
        .expression_attribute_values(":sm", AttributeValue::S(sm.clone()))
        .send()
        .await
        .expect("un-shard one");
    let all = list_all(&svc, &sm, None, 5).await;
    assert_eq!(all, newest_first, "{name} moved to the bare partition");
}
