//! A small deterministic random source (SplitMix64). The engine takes its seed as an input, so
//! `States.MathRandom`, `States.UUID` and retry jitter replay exactly for the same seed.

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }

    /// A float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in [lo, hi] (inclusive); lo must not exceed hi.
    pub fn range_inclusive(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }

    /// A random (version 4) UUID in its canonical text form.
    pub fn uuid_v4(&mut self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        uuid_v4_text(high, low)
    }
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijection of u64, so distinct inputs give distinct outputs.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Identifiers (request ids, execution names) that need to be unique, not secret: a SplitMix64
/// sequence whose state is one atomic counter, so any thread may draw from it without a lock.
pub struct IdSource(std::sync::atomic::AtomicU64);

impl IdSource {
    pub const fn new(seed: u64) -> IdSource {
        IdSource(std::sync::atomic::AtomicU64::new(seed))
    }

    /// Starts a new sequence (a forked process must not repeat its parent's identifiers).
    pub fn reseed(&self, seed: u64) {
        self.0.store(seed, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn next_u64(&self) -> u64 {
        let previous = self
            .0
            .fetch_add(GAMMA, std::sync::atomic::Ordering::Relaxed);
        mix(previous.wrapping_add(GAMMA))
    }

    pub fn uuid_v4(&self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        uuid_v4_text(high, low)
    }
}

/// The canonical text of the version 4 UUID made of these 128 random bits (6 of them overwritten by
/// the version and the variant).
fn uuid_v4_text(high: u64, low: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const VERSION: (u128, u128) = (0xF << 76, 0x4 << 76); // hex digit 13: "4"
    const VARIANT: (u128, u128) = (0xC << 60, 0x8 << 60); // hex digit 17: 8, 9, a or b
    let mut bits = (u128::from(high) << 64) | u128::from(low);
    bits = (bits & !VERSION.0) | VERSION.1;
    bits = (bits & !VARIANT.0) | VARIANT.1;
    let mut out = String::with_capacity(36);
    for digit in 0..32 {
        if matches!(digit, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(char::from(
            HEX[((bits >> (124 - 4 * digit)) & 0xF) as usize],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_eq!(a.uuid_v4(), b.uuid_v4());
    }

    #[test]
    fn ranges_and_uuid_shape() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let x = r.range_inclusive(-3, 3);
            assert!((-3..=3).contains(&x));
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        let u = r.uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn uuid_text_places_version_variant_and_dashes() {
        assert_eq!(uuid_v4_text(0, 0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(
            uuid_v4_text(u64::MAX, u64::MAX),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(
            uuid_v4_text(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            "01234567-89ab-4def-bedc-ba9876543210"
        );
    }

    #[test]
    fn an_id_source_does_not_repeat_and_restarts_on_reseed() {
        let ids = IdSource::new(5);
        let first: Vec<String> = (0..1000).map(|_| ids.uuid_v4()).collect();
        let unique: std::collections::HashSet<&String> = first.iter().collect();
        assert_eq!(unique.len(), first.len());
        ids.reseed(5);
        assert_eq!(ids.uuid_v4(), first[0]);
    }
}
