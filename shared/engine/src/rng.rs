//! The execution's deterministic random numbers (SplitMix64): the seed is part of the state, so a
//! replayed step draws the same numbers.

use stepwise_asl::Entropy;

/// A SplitMix64 generator over a borrowed state word.
pub(crate) struct Rng<'a>(pub &'a mut u64);

impl Entropy for Rng<'_> {
    fn next_u64(&mut self) -> u64 {
        *self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Rng<'_> {
    /// A float in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random version-4 UUID (task tokens).
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        // By hand: `format!` with padded hex fields cost ten times as much, and `serve` makes
        // three a StartExecution (request ids, the execution's name).
        let mut out = String::with_capacity(36);
        write_hex(&mut out, a >> 32, 8);
        out.push('-');
        write_hex(&mut out, a >> 16, 4);
        out.push('-');
        write_hex(&mut out, a, 4);
        out.push('-');
        write_hex(&mut out, b >> 48, 4);
        out.push('-');
        write_hex(&mut out, b, 12);
        out
    }
}

/// Appends the low `digits` hexadecimal digits of `v` (lower case, most significant first,
/// zeros kept): `format!("{:0digits$x}", v & mask)`.
pub fn write_hex(out: &mut String, v: u64, digits: u32) {
    for i in (0..digits).rev() {
        let digit = (v >> (4 * i)) & 0xF;
        out.push(char::from(b"0123456789abcdef"[digit as usize]));
    }
}

/// A version-4 UUID drawn from `seed` (the same seed gives the same UUID).
pub fn uuid_from_seed(seed: u64) -> String {
    let mut state = seed;
    Rng(&mut state).uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The UUIDs written by hand are the ones `format!` writes.
    #[test]
    fn uuids_are_written_as_format_writes_them() {
        for seed in [
            0,
            1,
            42,
            u64::MAX,
            0x0123_4567_89AB_CDEF,
            0xFFFF_0000_FFFF_0000,
        ] {
            let mut state = seed;
            let mut rng = Rng(&mut state);
            let (a, b) = (rng.next_u64(), rng.next_u64());
            let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
            let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
            let want = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xFFFF,
                a & 0xFFFF,
                b >> 48,
                b & 0xFFFF_FFFF_FFFF
            );
            assert_eq!(uuid_from_seed(seed), want);
        }
        for (v, digits) in [
            (0u64, 4),
            (0xABC, 4),
            (u64::MAX, 16),
            (0x1_0000, 4),
            (5, 12),
        ] {
            let mut out = String::new();
            write_hex(&mut out, v, digits);
            let mask = if digits == 16 {
                u64::MAX
            } else {
                (1 << (4 * digits)) - 1
            };
            assert_eq!(out, format!("{:0w$x}", v & mask, w = digits as usize));
        }
    }
}
