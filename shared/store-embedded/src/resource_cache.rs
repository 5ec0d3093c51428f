//! The control-plane records every StartExecution reads (its state machine, the revision it runs,
//! a version or alias) kept in memory as last read: reading them from SQLite and parsing the
//! definition's text again took a tenth of `serve`'s time under load.
//!
//! Only this store writes the table, so a write forgets its key once it is committed. A read
//! that began before that write may still be under way: a generation counter, bumped by every
//! forget, keeps such a read from putting the old record back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use stepwise_ports::api::{Resource, ResourceKind};

/// Records kept at most; past it the cache starts again empty (records are small and few).
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(crate) struct ResourceCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<(&'static str, String), Option<Arc<Resource>>>,
}

/// What a cache lookup found.
pub(crate) enum Cached {
    /// The record as last read (`None`: there is none).
    Hit(Option<Arc<Resource>>),
    /// Not kept: read it, then [`ResourceCache::fill`] with this generation.
    Miss(u64),
}

/// Whether records of this kind are kept (the ones the start of an execution reads; map runs
/// change with every piece of their run and are read by their own execution only).
fn kept(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::StateMachine
            | ResourceKind::Revision
            | ResourceKind::Version
            | ResourceKind::Alias
    )
}

impl ResourceCache {
    pub(crate) fn get(&self, kind: ResourceKind, arn: &str) -> Cached {
        let Ok(inner) = self.inner.lock() else {
            return Cached::Miss(u64::MAX);
        };
        if !kept(kind) {
            return Cached::Miss(u64::MAX);
        }
        match inner.entries.get(&(kind.as_str(), arn.to_string())) {
            Some(r) => Cached::Hit(r.clone()),
            None => Cached::Miss(inner.generation),
        }
    }

    /// Keeps what a read found, unless a write was committed since the read began.
    pub(crate) fn fill(
        &self,
        generation: u64,
        kind: ResourceKind,
        arn: &str,
        found: &Option<Arc<Resource>>,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation || !kept(kind) {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner
            .entries
            .insert((kind.as_str(), arn.to_string()), found.clone());
    }

    /// A write to this record was committed (or may have been).
    pub(crate) fn forget(&self, kind: ResourceKind, arn: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation = inner.generation.wrapping_add(1);
            inner.entries.remove(&(kind.as_str(), arn.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sm(body: i64) -> Option<Arc<Resource>> {
        Some(Arc::new(Resource {
            kind: ResourceKind::StateMachine,
            arn: "sm".into(),
            parent: None,
            body: json!(body),
        }))
    }

    #[test]
    fn a_read_that_began_before_a_write_does_not_put_the_old_record_back() {
        let c = ResourceCache::default();
        let Cached::Miss(g) = c.get(ResourceKind::StateMachine, "sm") else {
            panic!("empty cache hit");
        };
        c.forget(ResourceKind::StateMachine, "sm");
        c.fill(g, ResourceKind::StateMachine, "sm", &sm(1));
        assert!(matches!(
            c.get(ResourceKind::StateMachine, "sm"),
            Cached::Miss(_)
        ));
        let Cached::Miss(g) = c.get(ResourceKind::StateMachine, "sm") else {
            panic!("hit");
        };
        c.fill(g, ResourceKind::StateMachine, "sm", &sm(2));
        match c.get(ResourceKind::StateMachine, "sm") {
            Cached::Hit(r) => assert_eq!(r, sm(2)),
            Cached::Miss(_) => panic!("a fill without a write in between is kept"),
        }
        c.forget(ResourceKind::StateMachine, "sm");
        assert!(matches!(
            c.get(ResourceKind::StateMachine, "sm"),
            Cached::Miss(_)
        ));
    }

    #[test]
    fn map_runs_are_not_kept() {
        let c = ResourceCache::default();
        let Cached::Miss(g) = c.get(ResourceKind::MapRun, "m") else {
            panic!("hit");
        };
        c.fill(g, ResourceKind::MapRun, "m", &None);
        assert!(matches!(c.get(ResourceKind::MapRun, "m"), Cached::Miss(_)));
    }
}
