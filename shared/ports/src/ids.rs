//! Stable ids of the serverless home that its operator tools compute too (`stepwise dlq`): kept
//! here, beside no AWS SDK, so that a binary without the serverless home's crates names them
//! the same way.

/// A short stable hash (FNV-1a, 64 bits) for deduplication ids and schedule names.
pub fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.as_bytes().iter().chain(std::iter::once(&0u8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The message group of an execution: SQS allows 128 characters, ARNs can be longer.
pub fn group_id(execution: &str) -> String {
    format!(
        "{:016x}{:016x}",
        fnv64(&[execution]),
        fnv64(&["group", execution])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable() {
        // FNV-1a of "a\0": a changed hash would rename every schedule and message group.
        assert_eq!(fnv64(&["a"]), 0x089b_e207_b544_f1e4);
        assert_eq!(
            group_id("arn:aws:states:us-east-1:1:execution:m:e").len(),
            32
        );
    }
}
