//! Fresh seeds and names, from the clock, the process and a counter: the impure side of what the
//! engine draws from its seed.

use std::sync::atomic::{AtomicU64, Ordering};

/// A seed no other call in this process (or, with the clock and process id, elsewhere) returns.
/// A thread with a seed source of its own ([`crate::clock`]) draws from it.
pub fn fresh_seed() -> u64 {
    if let Some(seed) = crate::clock::thread_seed() {
        return seed;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0xA24B_AED4_963E_E407)
        ^ ((std::process::id() as u64) << 40)
}

/// A new version-4 UUID (execution names, revision ids).
pub fn new_uuid() -> String {
    stepwise_engine::uuid_from_seed(fresh_seed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_differ() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
