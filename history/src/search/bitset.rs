//! The set of linearized operations: a dense bitset with an incremental fingerprint.

use std::hash::{BuildHasher, Hasher};

/// Dense bitset over a partition's operations, plus a 128-bit Zobrist fingerprint kept up to
/// date on every `set` / `clear` (XOR of a pseudo-random word per member).
///
/// Invariant: `fingerprint == XOR of zobrist(i) for i in self` and `count == |self|`.
#[derive(Clone, Debug)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    fingerprint: u128,
    count: usize,
}

/// SplitMix64 finaliser: a well-mixed 64-bit word from any input.
fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn zobrist(index: usize) -> u128 {
    let index = index as u64;
    (u128::from(mix64(index)) << 64) | u128::from(mix64(index ^ 0xA5A5_5A5A_C3C3_3C3C))
}

impl Bitset {
    pub(crate) fn new(len: usize) -> Bitset {
        Bitset {
            words: vec![0; len.div_ceil(64)],
            fingerprint: 0,
            count: 0,
        }
    }

    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    pub(crate) fn set(&mut self, index: usize) {
        debug_assert!(!self.contains(index));
        self.words[index / 64] |= 1 << (index % 64);
        self.fingerprint ^= zobrist(index);
        self.count += 1;
    }

    pub(crate) fn clear(&mut self, index: usize) {
        debug_assert!(self.contains(index));
        self.words[index / 64] &= !(1 << (index % 64));
        self.fingerprint ^= zobrist(index);
        self.count -= 1;
    }

    pub(crate) fn fingerprint(&self) -> u128 {
        self.fingerprint
    }

    /// An exact, compact key: leading all-ones words counted, trailing zero words dropped.
    pub(crate) fn exact_key(&self) -> ExactKey {
        let full = self
            .words
            .iter()
            .take_while(|word| **word == u64::MAX)
            .count();
        let end = self
            .words
            .iter()
            .rposition(|word| *word != 0)
            .map_or(full, |last| last + 1)
            .max(full);
        ExactKey {
            full_words: full as u32,
            rest: self.words[full..end].into(),
        }
    }

    /// Recomputes what is maintained incrementally; used by tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let members = (0..self.words.len() * 64).filter(|index| self.contains(*index));
        let (count, fingerprint) = members.fold((0, 0), |(count, fp), index| {
            (count + 1, fp ^ zobrist(index))
        });
        assert_eq!((count, fingerprint), (self.count, self.fingerprint));
    }
}

/// The exact identity of a linearized set (see [`Bitset::exact_key`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ExactKey {
    full_words: u32,
    rest: Box<[u64]>,
}

impl ExactKey {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rest.len() * 8
    }
}

/// A fast multiplicative hasher (FxHash style) for the memoisation cache; keys are already
/// well mixed (fingerprints) or small.
#[derive(Clone, Copy, Default)]
pub(crate) struct FastHash;

pub(crate) struct FastHasher(u64);

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.write_u64(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
    }
    // Integers (enum discriminants, lengths, `Value::Int`s) as one word each, without going
    // through the byte loop above.
    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
    fn write_isize(&mut self, value: isize) {
        self.write_u64(value as u64);
    }
    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_and_exact_key_follow_membership() {
        let mut a = Bitset::new(200);
        let mut b = Bitset::new(200);
        for index in [0, 5, 64, 130] {
            a.set(index);
        }
        for index in [130, 64, 5, 0, 7] {
            b.set(index);
        }
        b.clear(7);
        a.check_invariants();
        b.check_invariants();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.exact_key(), b.exact_key());
        b.clear(130);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.exact_key(), b.exact_key());
        let mut full = Bitset::new(128);
        (0..64).for_each(|index| full.set(index));
        assert_eq!(full.exact_key().rest.len(), 0);
    }
}
