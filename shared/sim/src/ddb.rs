//! DynamoDB, as the serverless home uses it: one table keyed by `PK`/`SK` with the `GSI1` index;
//! GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan and TransactWriteItems with their
//! conditions, the 400 KB item limit, a transaction's limits (100 actions, 4 MB, one action per
//! item), its all-or-nothing cancellation with one reason per action, its idempotency token
//! (10 minutes), and Query's 1 MB page.

use crate::expr::{projection, Condition, Ctx, Invalid, Item, Update};
use crate::Reply;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// DynamoDB's item size limit.
pub const ITEM_LIMIT: usize = 400 * 1024;
const TRANSACTION_ACTIONS: usize = 100;
const TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
const PAGE_BYTES: usize = 1024 * 1024;
const TOKEN_MS: i64 = 10 * 60 * 1000;

/// The tables' contents.
#[derive(Default)]
pub struct Ddb {
    /// (PK, SK) -> item, in key order.
    pub items: BTreeMap<(String, String), Item>,
    /// Transaction idempotency tokens: token -> (request, when).
    tokens: BTreeMap<String, (String, i64)>,
    /// The largest item written (bytes).
    pub largest_item: usize,
}

/// An item's size as DynamoDB counts it: names and values (numbers about one byte per two
/// digits).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &Value) -> usize {
    let Some(obj) = v.as_object() else { return 1 };
    let Some((t, x)) = obj.iter().next() else {
        return 1;
    };
    match t.as_str() {
        "S" | "B" => x.as_str().map_or(0, str::len),
        "N" => x.as_str().map_or(1, |s| s.len().div_ceil(2) + 1),
        "L" => {
            3 + x
                .as_array()
                .map_or(0, |l| l.iter().map(|e| 1 + value_size(e)).sum())
        }
        "M" => {
            3 + x.as_object().map_or(0, |m| {
                m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum()
            })
        }
        "SS" | "NS" => x.as_array().map_or(0, |l| {
            l.iter().map(|e| e.as_str().map_or(0, str::len)).sum()
        }),
        _ => 1,
    }
}

fn error(kind: &str, message: &str) -> Reply {
    Reply::json(
        400,
        json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
    )
}

fn invalid(e: Invalid) -> Reply {
    Reply::json(
        400,
        json!({"__type": "com.amazon.coral.validate#ValidationException", "message": e.0}),
    )
}

fn names(req: &Value) -> BTreeMap<String, String> {
    req.get("ExpressionAttributeNames")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn values(req: &Value) -> BTreeMap<String, Value> {
    req.get("ExpressionAttributeValues")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn to_item(v: Option<&Value>) -> Item {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn item_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Map<_, _>>(),
    )
}

fn key_of(item: &Item) -> Result<(String, String), Invalid> {
    let get = |k: &str| {
        item.get(k)
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                Invalid(format!(
                    "One of the required keys was not given a value: {k}"
                ))
            })
    };
    Ok((get("PK")?, get("SK")?))
}

fn project(item: &Item, req: &Value) -> Result<Item, Invalid> {
    let Some(p) = req.get("ProjectionExpression").and_then(Value::as_str) else {
        return Ok(item.clone());
    };
    let (n, v) = (names(req), values(req));
    let keep = projection(
        p,
        &Ctx {
            names: &n,
            values: &v,
        },
    )?;
    Ok(item
        .iter()
        .filter(|(k, _)| keep.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

fn all_old_on_failure(req: &Value) -> bool {
    req.get("ReturnValuesOnConditionCheckFailure")
        .and_then(Value::as_str)
        == Some("ALL_OLD")
}

/// One write of a transaction or a single-item call, checked and ready to apply.
struct Write {
    key: (String, String),
    /// The new item (`None`: delete; for a condition check, nothing changes).
    next: Option<Option<Item>>,
    holds: bool,
}

impl Ddb {
    fn plan(&self, kind: &str, req: &Value) -> Result<Write, Invalid> {
        let (n, v) = (names(req), values(req));
        let ctx = Ctx {
            names: &n,
            values: &v,
        };
        let (key, proposed) = if kind == "Put" {
            let item = to_item(req.get("Item"));
            (key_of(&item)?, Some(item))
        } else {
            (key_of(&to_item(req.get("Key")))?, None)
        };
        let current = self.items.get(&key);
        let empty = Item::new();
        let holds = match req.get("ConditionExpression").and_then(Value::as_str) {
            Some(c) => Condition::parse(c, &ctx)?.holds(current.unwrap_or(&empty)),
            None => true,
        };
        let next = match kind {
            "Put" => Some(proposed),
            "Delete" => Some(None),
            "Update" => {
                let text = req
                    .get("UpdateExpression")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Invalid("UpdateExpression is required".into()))?;
                let update = Update::parse(text, &ctx)?;
                let mut item = current.cloned().unwrap_or_else(|| {
                    Item::from([
                        ("PK".to_string(), json!({"S": key.0})),
                        ("SK".to_string(), json!({"S": key.1})),
                    ])
                });
                if holds {
                    update.apply(&mut item)?;
                }
                Some(Some(item))
            }
            _ => None,
        };
        if let Some(Some(item)) = &next {
            if item_size(item) > ITEM_LIMIT {
                return Err(Invalid(
                    "Item size has exceeded the maximum allowed size".into(),
                ));
            }
        }
        Ok(Write { key, next, holds })
    }

    fn apply(&mut self, w: Write) {
        match w.next {
            Some(Some(item)) => {
                self.largest_item = self.largest_item.max(item_size(&item));
                self.items.insert(w.key, item);
            }
            Some(None) => {
                self.items.remove(&w.key);
            }
            None => {}
        }
    }

    /// Answers one request (`op` from `X-Amz-Target`).
    pub fn handle(&mut self, op: &str, req: &Value, now_ms: i64) -> Reply {
        match self.answer(op, req, now_ms) {
            Ok(r) => r,
            Err(e) => invalid(e),
        }
    }

    fn answer(&mut self, op: &str, req: &Value, now_ms: i64) -> Result<Reply, Invalid> {
        match op {
            "GetItem" => {
                let key = key_of(&to_item(req.get("Key")))?;
                Ok(Reply::json(
                    200,
                    match self.items.get(&key) {
                        Some(item) => json!({"Item": item_json(&project(item, req)?)}),
                        None => json!({}),
                    },
                ))
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => {
                let kind = &op[..op.len() - 4];
                let w = self.plan(kind, req)?;
                if !w.holds {
                    let mut r = error(
                        "ConditionalCheckFailedException",
                        "The conditional request failed",
                    );
                    // `ReturnValuesOnConditionCheckFailure: ALL_OLD`: the item the condition saw.
                    if let Some(item) = self.items.get(&w.key).filter(|_| all_old_on_failure(req)) {
                        let mut body: Value =
                            serde_json::from_slice(&r.body).unwrap_or_else(|_| json!({}));
                        body["Item"] = item_json(item);
                        r.body = body.to_string().into_bytes();
                    }
                    return Ok(r);
                }
                let old = self.items.get(&w.key).cloned();
                let new = match &w.next {
                    Some(Some(i)) => Some(i.clone()),
                    _ => None,
                };
                self.apply(w);
                let out = match req.get("ReturnValues").and_then(Value::as_str) {
                    Some("ALL_OLD") => old.map(|i| json!({"Attributes": item_json(&i)})),
                    Some("ALL_NEW") => new.map(|i| json!({"Attributes": item_json(&i)})),
                    _ => None,
                };
                Ok(Reply::json(200, out.unwrap_or_else(|| json!({}))))
            }
            "TransactWriteItems" => self.transact(req, now_ms),
            "Query" | "Scan" => self.query(op == "Query", req),
            other => Ok(error(
                "UnknownOperationException",
                &format!("{other} is not simulated"),
            )),
        }
    }

    fn transact(&mut self, req: &Value, now_ms: i64) -> Result<Reply, Invalid> {
        let actions = req
            .get("TransactItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if actions.is_empty() || actions.len() > TRANSACTION_ACTIONS {
            return Err(Invalid(format!(
                "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to {TRANSACTION_ACTIONS}"
            )));
        }
        let text = req.to_string();
        if text.len() > TRANSACTION_BYTES {
            return Err(Invalid("Transaction request size exceeds 4 MB".into()));
        }
        let token = req.get("ClientRequestToken").and_then(Value::as_str);
        let mut body = req.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("ClientRequestToken");
        }
        let body = body.to_string();
        self.tokens.retain(|_, (_, at)| now_ms - *at < TOKEN_MS);
        if let Some(t) = token {
            if let Some((seen, _)) = self.tokens.get(t) {
                return Ok(if *seen == body {
                    Reply::json(200, json!({}))
                } else {
                    error(
                        "IdempotentParameterMismatchException",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
                });
            }
        }
        let mut plans = Vec::new();
        let mut keys = std::collections::BTreeSet::new();
        for a in &actions {
            let Some((kind, inner)) = a.as_object().and_then(|o| o.iter().next()) else {
                return Err(Invalid("an empty transaction action".into()));
            };
            let kind = match kind.as_str() {
                "Put" => "Put",
                "Update" => "Update",
                "Delete" => "Delete",
                "ConditionCheck" => "ConditionCheck",
                other => return Err(Invalid(format!("unknown action {other}"))),
            };
            let w = self.plan(kind, inner)?;
            if !keys.insert(w.key.clone()) {
                return Err(Invalid(
                    "Transaction request cannot include multiple operations on one item".into(),
                ));
            }
            plans.push(w);
        }
        if plans.iter().any(|w| !w.holds) {
            let reasons: Vec<Value> = plans
                .iter()
                .zip(&actions)
                .map(|(w, a)| {
                    if w.holds {
                        return json!({"Code": "None"});
                    }
                    let mut r = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
                    let inner = a.as_object().and_then(|o| o.values().next());
                    if let Some(item) = self
                        .items
                        .get(&w.key)
                        .filter(|_| inner.is_some_and(all_old_on_failure))
                    {
                        r["Item"] = item_json(item);
                    }
                    r
                })
                .collect();
            let codes: Vec<&str> = plans
                .iter()
                .map(|w| {
                    if w.holds {
                        "None"
                    } else {
                        "ConditionalCheckFailed"
                    }
                })
                .collect();
            return Ok(Reply::json(
                400,
                json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
                    "CancellationReasons": reasons,
                }),
            ));
        }
        for w in plans {
            self.apply(w);
        }
        if let Some(t) = token {
            self.tokens.insert(t.to_string(), (body, now_ms));
        }
        Ok(Reply::json(200, json!({})))
    }

    /// A transaction cancelled because another one touched its items (`TransactionConflict`),
    /// as DynamoDB answers when two transactions meet: nothing written.
    pub fn conflict(req: &Value) -> Reply {
        let n = req
            .get("TransactItems")
            .and_then(Value::as_array)
            .map_or(1, Vec::len);
        let mut reasons = vec![
            json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}),
        ];
        reasons.extend((1..n).map(|_| json!({"Code": "None"})));
        Reply::json(
            400,
            json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                "CancellationReasons": reasons,
            }),
        )
    }

    fn query(&self, query: bool, req: &Value) -> Result<Reply, Invalid> {
        let (n, v) = (names(req), values(req));
        let ctx = Ctx {
            names: &n,
            values: &v,
        };
        let index = req.get("IndexName").and_then(Value::as_str);
        let (hash, range) = match index {
            Some("GSI1") => ("GSI1PK", "GSI1SK"),
            Some(other) => {
                return Err(Invalid(format!(
                    "The table does not have the specified index: {other}"
                )))
            }
            None => ("PK", "SK"),
        };
        let key_cond = if query {
            let text = req
                .get("KeyConditionExpression")
                .and_then(Value::as_str)
                .ok_or_else(|| Invalid("KeyConditionExpression is required".into()))?;
            let c = Condition::parse(text, &ctx)?;
            if c.equality_on(hash).is_none() {
                return Err(Invalid("Query condition missed key schema element".into()));
            }
            Some(c)
        } else {
            None
        };
        let filter = req
            .get("FilterExpression")
            .and_then(Value::as_str)
            .map(|t| Condition::parse(t, &ctx))
            .transpose()?;
        let sort_key = |i: &Item| -> (String, String, String) {
            let s = |k: &str| {
                i.get(k)
                    .and_then(|v| v.get("S"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            (s(range), s("PK"), s("SK"))
        };
        let mut candidates: Vec<&Item> = match (&key_cond, index) {
            (Some(c), None) => {
                let pk = c
                    .equality_on("PK")
                    .and_then(|v| v.get("S").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                self.items
                    .range((pk.clone(), String::new())..)
                    .take_while(|((p, _), _)| *p == pk)
                    .map(|(_, i)| i)
                    .filter(|i| c.holds(i))
                    .collect()
            }
            (Some(c), Some(_)) => {
                let mut v: Vec<&Item> = self
                    .items
                    .values()
                    .filter(|i| i.contains_key(hash) && i.contains_key(range) && c.holds(i))
                    .collect();
                v.sort_by_key(|i| sort_key(i));
                v
            }
            (None, _) => self.items.values().collect(),
        };
        if query && req.get("ScanIndexForward") == Some(&Value::Bool(false)) {
            candidates.reverse();
        }
        if let Some(start) = req.get("ExclusiveStartKey") {
            let start = to_item(Some(start));
            let sk = sort_key(&start);
            let forward = !(query && req.get("ScanIndexForward") == Some(&Value::Bool(false)));
            candidates.retain(|i| {
                let k = sort_key(i);
                if index.is_some() {
                    if forward {
                        k > sk
                    } else {
                        k < sk
                    }
                } else if forward {
                    (k.1.clone(), k.2.clone()) > (sk.1.clone(), sk.2.clone())
                } else {
                    (k.1.clone(), k.2.clone()) < (sk.1.clone(), sk.2.clone())
                }
            });
        }
        let limit = req.get("Limit").and_then(Value::as_u64).map(|l| l as usize);
        let mut items = Vec::new();
        let mut scanned = 0;
        let mut bytes = 0;
        let mut last = None;
        for i in &candidates {
            scanned += 1;
            bytes += item_size(i);
            if filter.as_ref().is_none_or(|f| f.holds(i)) {
                items.push(item_json(&project(i, req)?));
            }
            let full = limit.is_some_and(|l| scanned >= l) || bytes >= PAGE_BYTES;
            if full {
                if scanned < candidates.len() {
                    let mut k = Item::new();
                    for a in ["PK", "SK", hash, range] {
                        if let Some(v) = i.get(a) {
                            k.insert(a.to_string(), v.clone());
                        }
                    }
                    last = Some(item_json(&k));
                }
                break;
            }
        }
        let mut out = json!({"Items": items, "Count": items.len(), "ScannedCount": scanned});
        if let Some(l) = last {
            out["LastEvaluatedKey"] = l;
        }
        Ok(Reply::json(200, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(pk: &str, extra: Value) -> Value {
        let mut item = json!({"PK": {"S": pk}, "SK": {"S": "META"}});
        if let (Some(i), Some(e)) = (item.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        json!({"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(PK)"})
    }

    fn kind(r: &Reply) -> String {
        let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        v["__type"].as_str().unwrap_or_default().to_string()
    }

    #[test]
    fn a_conditional_put_writes_once_and_can_return_the_item_it_met() {
        let mut d = Ddb::default();
        assert_eq!(
            d.handle("PutItem", &put("a", json!({"v": {"N": "1"}})), 0)
                .status,
            200
        );
        let mut again = put("a", json!({"v": {"N": "2"}}));
        again["ReturnValuesOnConditionCheckFailure"] = json!("ALL_OLD");
        let r = d.handle("PutItem", &again, 0);
        assert!(kind(&r).ends_with("ConditionalCheckFailedException"));
        let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(v["Item"]["v"], json!({"N": "1"}));
    }

    #[test]
    fn items_past_400_kb_and_transactions_past_their_limits_are_refused() {
        let mut d = Ddb::default();
        let big = put("a", json!({"v": {"S": "x".repeat(ITEM_LIMIT)}}));
        assert!(kind(&d.handle("PutItem", &big, 0)).ends_with("ValidationException"));
        let action = |pk: String| json!({"Put": put(&pk, json!({}))});
        let many: Vec<Value> = (0..101).map(|i| action(format!("k{i}"))).collect();
        let r = d.handle("TransactWriteItems", &json!({"TransactItems": many}), 0);
        assert!(kind(&r).ends_with("ValidationException"));
        let twice = vec![action("k".into()), action("k".into())];
        let r = d.handle("TransactWriteItems", &json!({"TransactItems": twice}), 0);
        assert!(kind(&r).ends_with("ValidationException"));
        // All or nothing: one failed condition cancels the lot, with a reason per action.
        assert_eq!(d.handle("PutItem", &put("b", json!({})), 0).status, 200);
        let both = vec![action("c".into()), action("b".into())];
        let r = d.handle("TransactWriteItems", &json!({"TransactItems": both}), 0);
        assert!(kind(&r).ends_with("TransactionCanceledException"));
        let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(v["CancellationReasons"][0]["Code"], "None");
        assert_eq!(
            v["CancellationReasons"][1]["Code"],
            "ConditionalCheckFailed"
        );
        assert!(!d.items.contains_key(&("c".to_string(), "META".to_string())));
    }
}
