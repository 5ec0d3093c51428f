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
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

/// A version-4 UUID drawn from `seed` (the same seed gives the same UUID).
pub fn uuid_from_seed(seed: u64) -> String {
    let mut state = seed;
    Rng(&mut state).uuid()
}
