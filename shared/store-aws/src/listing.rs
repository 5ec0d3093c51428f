//! How executions are listed: GSI1 and its shards.
//!
//! An execution's META item is in GSI1 under `GSI1PK` = its state machine's ARN, sharded in
//! [`EXECUTION_SHARDS`] partitions by a hash of the execution ARN (shard 0 is the bare state
//! machine ARN, where executions written before the sharding are, so none is lost from the
//! listing), and `GSI1SK` = `<20-digit start ms>#<name>`. One busy state machine thus writes to
//! several index partitions rather than one. ListExecutions queries every shard newest first and
//! merges them by `GSI1SK` (ties by execution ARN), so the order, the offsets the API's
//! pagination tokens carry and the status filter are as with one partition.
//!
//! GSI1 projects only what listings read ([`PROJECTED`]; the keys come with every index item):
//! an update of the META item that changes none of them (nearly every step: the checkpoint,
//! version, outbox and usage are not projected) writes nothing to the index.

use crate::table::{get_s, item_size, Item};
use crate::{fnv64, AwsError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{HashMap, VecDeque};

/// The index partitions of one state machine's executions.
pub const EXECUTION_SHARDS: u64 = 8;

/// The non-key attributes GSI1 projects: the execution rows ListExecutions and its filters read
/// (`meta`, `status`, `stopMs`, `redriveCount`, `versionArn`, `aliasArn`, `mapRunArn`) and the records
/// ListStateMachines/ListActivities read (`arn`, `body`, `parent`). The templates' GSI
/// `NonKeyAttributes` are exactly these.
pub const PROJECTED: [&str; 10] = [
    "meta",
    "status",
    "stopMs",
    "redriveCount",
    "versionArn",
    "aliasArn",
    "mapRunArn",
    "arn",
    "body",
    "parent",
];

/// The GSI1 partition of `execution`, an execution of `state_machine`.
pub fn execution_partition(state_machine: &str, execution: &str) -> String {
    match fnv64(&[execution]) % EXECUTION_SHARDS {
        0 => state_machine.to_string(),
        shard => format!("{state_machine}#{shard}"),
    }
}

/// Every GSI1 partition of `state_machine`'s executions.
pub fn partitions(state_machine: &str) -> Vec<String> {
    (0..EXECUTION_SHARDS)
        .map(|shard| match shard {
            0 => state_machine.to_string(),
            _ => format!("{state_machine}#{shard}"),
        })
        .collect()
}

/// The size of `item`'s GSI1 entry: its projected attributes and the table's and index's keys.
pub fn index_size(item: &Item) -> usize {
    let kept: Item = item
        .iter()
        .filter(|(k, _)| {
            PROJECTED.contains(&k.as_str())
                || matches!(k.as_str(), "PK" | "SK" | "GSI1PK" | "GSI1SK")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    item_size(&kept)
}

/// A DynamoDB key to go on from.
pub type StartKey = HashMap<String, AttributeValue>;

/// Where a listing of one shard after the other goes on from.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// The shard (an index into [`partitions`]).
    pub shard: usize,
    /// The key in it.
    pub key: Option<StartKey>,
}

/// One page of one partition, newest first: the items and the key to go on from.
pub type Page = (Vec<Item>, Option<StartKey>);

/// One shard being read: the items fetched and not yet taken, and where its next page starts.
struct Shard {
    partition: String,
    items: VecDeque<Item>,
    next: Option<StartKey>,
    done: bool,
}

/// The executions of several partitions merged newest first, pages fetched as they are needed.
pub struct Merged {
    shards: Vec<Shard>,
}

fn sort_key(item: &Item) -> (&str, &str) {
    (
        get_s(item, "GSI1SK").unwrap_or_default(),
        get_s(item, "PK").unwrap_or_default(),
    )
}

impl Merged {
    /// A merge of `partitions`, none read yet.
    pub fn new(partitions: Vec<String>) -> Self {
        Merged {
            shards: partitions
                .into_iter()
                .map(|partition| Shard {
                    partition,
                    items: VecDeque::new(),
                    next: None,
                    done: false,
                })
                .collect(),
        }
    }

    /// The next item newest first, reading a page of a shard with `query(partition, start)` when
    /// its fetched items run out; `None` when every shard is read.
    pub async fn next<F, Fut>(&mut self, query: &mut F) -> Result<Option<Item>, AwsError>
    where
        F: FnMut(String, Option<StartKey>) -> Fut,
        Fut: std::future::Future<Output = Result<Page, AwsError>>,
    {
        for shard in &mut self.shards {
            // A filtered page may hold nothing and still go on.
            while shard.items.is_empty() && !shard.done {
                let (items, next) = query(shard.partition.clone(), shard.next.take()).await?;
                shard.items.extend(items);
                shard.done = next.is_none();
                shard.next = next;
            }
        }
        let newest = self
            .shards
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.items.front().map(|item| (i, sort_key(item))))
            .max_by(|a, b| a.1.cmp(&b.1))
            .map(|(i, _)| i);
        Ok(newest.and_then(|i| self.shards[i].items.pop_front()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::s;

    #[test]
    fn executions_spread_over_every_shard_and_shard_zero_is_the_bare_arn() {
        let sm = "arn:aws:states:us-east-1:111111111111:stateMachine:busy";
        let parts = partitions(sm);
        assert_eq!(parts.len() as u64, EXECUTION_SHARDS);
        assert_eq!(parts[0], sm);
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            let p = execution_partition(
                sm,
                &format!("{sm}:e-{i}").replace("stateMachine", "execution"),
            );
            assert!(parts.contains(&p), "{p}");
            seen.insert(p);
        }
        assert_eq!(
            seen.len() as u64,
            EXECUTION_SHARDS,
            "200 executions use every shard"
        );
    }

    #[test]
    fn the_index_entry_holds_only_the_projection_and_the_keys() {
        let item: Item = [
            ("PK", "EX#arn"),
            ("SK", "META"),
            ("GSI1PK", "sm"),
            ("GSI1SK", "00000000000000000001#n"),
            ("status", "RUNNING"),
            ("state", &"x".repeat(10_000)),
            ("outbox", "[]"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), s(v)))
        .collect();
        assert!(index_size(&item) < 100, "{}", index_size(&item));
        assert!(item_size(&item) > 10_000);
    }

    #[test]
    fn the_templates_project_exactly_what_listings_read() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (file, marker) in [
            ("template.yaml", "NonKeyAttributes:"),
            ("infra/lib/stepwise-stack.ts", "nonKeyAttributes:"),
        ] {
            let text = std::fs::read_to_string(root.join(file)).expect("the template");
            let line = text
                .lines()
                .find(|l| l.contains(marker))
                .unwrap_or_else(|| panic!("{file}: no {marker}"));
            let mut listed: Vec<String> = line
                .split_once('[')
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(list, _)| list)
                .unwrap_or_default()
                .split(',')
                .map(|a| a.trim().trim_matches('\'').to_string())
                .collect();
            listed.sort();
            let mut want: Vec<String> = PROJECTED.iter().map(|a| a.to_string()).collect();
            want.sort();
            assert_eq!(listed, want, "{file}");
        }
    }

    #[tokio::test]
    async fn shards_merge_newest_first_across_filtered_and_empty_pages() {
        // Three shards, pages of two, some pages emptied by a filter.
        let mut data: HashMap<String, Vec<Vec<Item>>> = HashMap::new();
        let item = |t: u64, n: &str| -> Item {
            [
                ("PK".to_string(), s(format!("EX#{n}"))),
                ("GSI1SK".to_string(), s(format!("{t:020}#{n}"))),
            ]
            .into_iter()
            .collect()
        };
        data.insert(
            "a".into(),
            vec![vec![item(9, "a9"), item(4, "a4")], vec![item(1, "a1")]],
        );
        data.insert("b".into(), vec![vec![], vec![item(7, "b7")], vec![]]);
        data.insert("c".into(), vec![vec![item(8, "c8"), item(4, "c4")]]);
        let mut calls = 0;
        let mut query = |p: String, start: Option<StartKey>| {
            calls += 1;
            let page = start
                .and_then(|k| get_s(&k, "page").and_then(|n| n.parse::<usize>().ok()))
                .unwrap_or(0);
            let pages = data.get(&p).cloned().unwrap_or_default();
            let items = pages.get(page).cloned().unwrap_or_default();
            let next = (page + 1 < pages.len()).then(|| {
                [("page".to_string(), s((page + 1).to_string()))]
                    .into_iter()
                    .collect()
            });
            async move { Ok::<Page, AwsError>((items, next)) }
        };
        let mut m = Merged::new(vec!["a".into(), "b".into(), "c".into()]);
        let mut got = Vec::new();
        while let Some(i) = m.next(&mut query).await.expect("merge") {
            got.push(get_s(&i, "PK").unwrap_or_default().to_string());
        }
        assert_eq!(got, ["EX#a9", "EX#c8", "EX#b7", "EX#c4", "EX#a4", "EX#a1"]);
        assert!(calls >= 6, "{calls}");
    }
}
