//! The seeded generator behind every jitter. The crate draws no randomness of its own: the caller
//! supplies the seed, so a run is reproducible from its seed and its inputs.

use core::time::Duration;

/// SplitMix64 (Steele, Lea & Flood, 2014): tiny, fast, and well distributed for jitter. Not for
/// anything secret.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniformly drawn duration in `[0, max]`, at millisecond resolution.
    pub(crate) fn duration_up_to(&mut self, max: Duration) -> Duration {
        let max_ms = crate::time::duration_millis(max);
        let span = u128::from(max_ms) + 1;
        // Multiply-high maps the 64-bit draw onto [0, span) without modulo bias worth noticing.
        // A 64-bit draw times a span of at most 2^64 fits in 128 bits.
        let ms = u128::from(self.next_u64()).saturating_mul(span) >> 64;
        Duration::from_millis(u64::try_from(ms).unwrap_or(max_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_different_seeds_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn matches_the_reference_splitmix64_output() {
        // First outputs of the reference implementation for seed 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn duration_up_to_stays_in_range_and_spreads() {
        let mut r = Rng::new(42);
        let max = Duration::from_millis(1000);
        let draws: Vec<Duration> = (0..2000).map(|_| r.duration_up_to(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        let low = draws.iter().filter(|d| d.as_millis() < 500).count();
        assert!((800..1200).contains(&low), "{low} of 2000 below the middle");
        assert_eq!(r.duration_up_to(Duration::ZERO), Duration::ZERO);
        assert!(r.duration_up_to(Duration::MAX) <= Duration::MAX);
    }
}
