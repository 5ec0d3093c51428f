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

/// A new name for an execution started without one: a UUID as AWS gives, of version 7 (RFC
/// 9562: the first 48 bits are the time in milliseconds, the rest random), so that the names of
/// executions started one after the other sort one after the other. Keyed by ARN, their rows
/// and history pages then go at the end of the store's indexes, not to a random page each
/// (version-4 names cost `serve` an eighth of its throughput in index pages written).
pub fn new_execution_name() -> String {
    let random = new_uuid();
    let ms = crate::local::wall_clock_ms().max(0) as u64;
    // xxxxxxxx-xxxx-4xxx-…: the time over the first 12 digits, the version digit 7.
    let mut name = String::with_capacity(36);
    stepwise_engine::write_hex(&mut name, ms >> 16, 8);
    name.push('-');
    stepwise_engine::write_hex(&mut name, ms, 4);
    name.push_str("-7");
    name.push_str(random.get(15..).unwrap_or_default());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_are_v7_uuids_in_the_order_they_were_made() {
        let names: Vec<String> = (0..3)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(2));
                new_execution_name()
            })
            .collect();
        for n in &names {
            assert_eq!(n.len(), 36, "{n}");
            let dashes: Vec<usize> = n.match_indices('-').map(|(i, _)| i).collect();
            assert_eq!(dashes, [8, 13, 18, 23], "{n}");
            assert_eq!(&n[14..15], "7", "{n}");
            assert!(matches!(&n[19..20], "8" | "9" | "a" | "b"), "{n}");
            assert!(n.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{n}");
        }
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        let ms = i64::from_str_radix(&names[0].replace('-', "")[..12], 16).expect("hex");
        assert!((ms - crate::local::wall_clock_ms()).abs() < 60_000);
    }

    #[test]
    fn uuids_are_v4_and_differ() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
