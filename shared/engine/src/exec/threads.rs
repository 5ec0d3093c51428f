//! The thread table: an execution's threads by id.

use crate::exec::state::Thread;
use crate::exec::ThreadId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// An execution's threads by id, read in id order wherever the order shows, and stored as the
/// `BTreeMap` it replaced (a map from id to thread, in id order).
///
/// A hash table: nearly every move of a Parallel's branch or a Map's iteration takes its thread
/// out of the table and puts it back, and a `BTreeMap`'s searches and node shifts were an
/// eighth of a catch loop's instructions (W6).
#[derive(Debug, Clone, Default)]
pub(crate) struct ThreadTable(HashMap<ThreadId, Box<Thread>, BuildHasherDefault<IdHasher>>);

impl ThreadTable {
    #[inline]
    pub(crate) fn get(&self, id: &ThreadId) -> Option<&Thread> {
        self.0.get(id).map(|t| &**t)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &ThreadId) -> Option<&mut Thread> {
        self.0.get_mut(id).map(|t| &mut **t)
    }

    #[inline]
    pub(crate) fn insert(&mut self, id: ThreadId, t: Box<Thread>) -> Option<Box<Thread>> {
        self.0.insert(id, t)
    }

    #[inline]
    pub(crate) fn remove(&mut self, id: &ThreadId) -> Option<Box<Thread>> {
        self.0.remove(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The threads with their ids, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ThreadId, &Thread)> {
        let mut all: Vec<(ThreadId, &Thread)> = self.0.iter().map(|(id, t)| (*id, &**t)).collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        all.into_iter()
    }

    /// The threads, in id order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Thread> {
        self.iter().map(|(_, t)| t)
    }

    /// The ids, in order.
    pub(crate) fn ids(&self) -> Vec<ThreadId> {
        self.iter().map(|(id, _)| id).collect()
    }
}

impl Serialize for ThreadTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ThreadTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = BTreeMap::<ThreadId, Box<Thread>>::deserialize(d)?;
        Ok(ThreadTable(stored.into_iter().collect()))
    }
}

/// Thread ids are numbers given in sequence: multiplied by an odd constant (Fibonacci hashing),
/// their high bits are well mixed for the table's control bytes and their low bits stay
/// distinct for its buckets; SipHash (the default) cost several times as much.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::info;
    use crate::{step, Event, ExecutionState};
    use serde_json::json;
    use stepwise_asl::model::Definition;

    /// A Parallel's branches waiting on their tasks: the table is stored as the `BTreeMap` it
    /// replaced (ids in order), reads back from that form, and lists its ids in order.
    #[test]
    fn the_table_is_stored_as_a_map_in_id_order() {
        let task = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
            "End": true}}});
        let def = Definition::from_value(&json!({"StartAt": "P", "States": {"P": {
            "Type": "Parallel", "Branches": [task, task, task, task, task], "End": true}}}))
        .expect("definition");
        let tr = step(
            &def,
            ExecutionState::new(info()),
            0,
            Event::Start { input: json!({}) },
        );
        let ids = tr.state.threads.ids();
        assert_eq!(ids.len(), 6);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let stored = serde_json::to_value(&tr.state).expect("writes");
        let keys: Vec<ThreadId> = stored["threads"]
            .as_object()
            .expect("a map")
            .keys()
            .map(|k| k.parse().expect("an id"))
            .collect();
        assert_eq!(keys, ids);
        let back: ExecutionState = serde_json::from_value(stored.clone()).expect("reads");
        assert_eq!(serde_json::to_value(&back).expect("writes"), stored);
        let as_before: BTreeMap<ThreadId, serde_json::Value> =
            serde_json::from_value(stored["threads"].clone()).expect("a BTreeMap's form");
        assert_eq!(
            serde_json::to_value(as_before).expect("writes"),
            stored["threads"]
        );
    }

    #[test]
    fn ids_hash_apart() {
        let hash = |n: u32| {
            let mut h = IdHasher::default();
            h.write_u32(n);
            h.finish()
        };
        let low: std::collections::HashSet<u64> = (0..64).map(|n| hash(n) & 63).collect();
        assert_eq!(low.len(), 64);
    }
}
