//! Where the API's records live in the one table: each kind's partition and sort keys, the
//! GSI1 key that lists a kind in creation order, and the sequence numbers that order them.

use std::sync::atomic::{AtomicU64, Ordering};
use stepwise_ports::api::ResourceKind;
use stepwise_ports::execution::StoreError;
use stepwise_runtime::local::wall_clock_ms;

/// A sequence number that grows within a process and roughly with time across processes:
/// microseconds since the epoch, bumped past the last one handed out.
pub(crate) fn next_seq() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = (wall_clock_ms().max(0) as u64) * 1000;
    let mut cur = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(cur + 1);
        match LAST.compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => cur = seen,
        }
    }
}

/// The state machine a version or alias ARN qualifies (`<sm>:<qualifier>`).
fn qualified_parent(arn: &str) -> Result<&str, StoreError> {
    arn.rsplit_once(':')
        .map(|(sm, _)| sm)
        .ok_or_else(|| StoreError::Other(format!("not a qualified state machine ARN: {arn}")))
}

/// Where a record lives: its partition and sort keys.
pub(crate) fn key_of(kind: ResourceKind, arn: &str) -> Result<(String, String), StoreError> {
    Ok(match kind {
        ResourceKind::StateMachine => (format!("SM#{arn}"), "META".into()),
        ResourceKind::Revision => {
            let (sm, rev) = arn
                .rsplit_once('#')
                .and_then(|(sm, r)| Some((sm, r.parse::<u64>().ok()?)))
                .ok_or_else(|| StoreError::Other(format!("not a revision key: {arn}")))?;
            (format!("SM#{sm}"), format!("DEF#{rev}"))
        }
        ResourceKind::Version => (
            format!("SM#{}", qualified_parent(arn)?),
            format!("VERSION#{arn}"),
        ),
        ResourceKind::Alias => (
            format!("SM#{}", qualified_parent(arn)?),
            format!("ALIAS#{arn}"),
        ),
        ResourceKind::Activity => (format!("ACT#{arn}"), "META".into()),
        ResourceKind::Tags => (format!("TAGS#{arn}"), "-".into()),
        ResourceKind::MapRun => (format!("MAPRUN#{arn}"), "-".into()),
    })
}

/// The sort-key prefix of a kind kept in its state machine's partition.
pub(crate) fn child_prefix(kind: ResourceKind) -> Option<&'static str> {
    match kind {
        ResourceKind::Revision => Some("DEF#"),
        ResourceKind::Version => Some("VERSION#"),
        ResourceKind::Alias => Some("ALIAS#"),
        _ => None,
    }
}

pub(crate) fn kind_key(kind: ResourceKind) -> String {
    format!("KIND#{}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_map_to_their_state_machine_partition() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        let k = |kind, arn: &str| key_of(kind, arn).ok();
        assert_eq!(
            k(ResourceKind::StateMachine, sm),
            Some((format!("SM#{sm}"), "META".into()))
        );
        assert_eq!(
            k(ResourceKind::Revision, &format!("{sm}#12")),
            Some((format!("SM#{sm}"), "DEF#12".into()))
        );
        assert_eq!(
            k(ResourceKind::Version, &format!("{sm}:3")),
            Some((format!("SM#{sm}"), format!("VERSION#{sm}:3")))
        );
        assert_eq!(
            k(ResourceKind::Alias, &format!("{sm}:prod")),
            Some((format!("SM#{sm}"), format!("ALIAS#{sm}:prod")))
        );
        assert!(k(ResourceKind::Revision, sm).is_none());
    }

    #[test]
    fn sequence_numbers_grow() {
        let a = next_seq();
        let b = next_seq();
        assert!(b > a);
    }
}
