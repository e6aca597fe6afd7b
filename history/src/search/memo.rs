//! The memoisation cache of the search, with dominance for `info` operations.
//!
//! A configuration is (linearized non-`info` operations, model state, linearized `info`
//! operations). `info` operations never return, so they never constrain when another
//! operation may be linearized; a configuration whose linearized `info` set is a subset of
//! another's, with the same rest, can do everything the other can (it may still skip the
//! extra `info` operations forever). So a configuration is new only if no explored one with
//! the same key and state linearized a subset of its `info` operations.

use super::bitset::FastHash;
use std::collections::HashMap;
use std::hash::Hash;

/// Bytes charged per entry on top of key and state (hash table slot, control bytes).
const ENTRY_OVERHEAD_BYTES: usize = 16;

/// Set of linearized `info` operations, by their rank among the partition's `info` operations.
#[derive(Clone, Debug, Default)]
pub(crate) struct InfoSet {
    words: Vec<u64>,
}

impl InfoSet {
    pub(crate) fn new(len: usize) -> InfoSet {
        InfoSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    pub(crate) fn set(&mut self, rank: usize) {
        self.words[rank / 64] |= 1 << (rank % 64);
    }

    pub(crate) fn clear(&mut self, rank: usize) {
        self.words[rank / 64] &= !(1 << (rank % 64));
    }

    fn is_subset_of(&self, other: &[u64]) -> bool {
        self.words
            .iter()
            .zip(other)
            .all(|(mine, theirs)| mine & !theirs == 0)
    }
}

fn subset(small: &[u64], large: &InfoSet) -> bool {
    small
        .iter()
        .zip(&large.words)
        .all(|(mine, theirs)| mine & !theirs == 0)
}

/// Explored configurations.
pub(crate) struct Memo<K, S> {
    explored: HashMap<(K, S), Vec<Box<[u64]>>, FastHash>,
}

impl<K: Hash + Eq, S: Hash + Eq> Memo<K, S> {
    pub(crate) fn new() -> Self {
        Memo {
            explored: HashMap::with_hasher(FastHash),
        }
    }

    /// Records the configuration if it is not dominated by an explored one; returns the bytes
    /// it added (`None`: dominated, do not explore).
    pub(crate) fn insert(
        &mut self,
        key: K,
        key_heap_bytes: usize,
        state: S,
        info: &InfoSet,
    ) -> Option<usize> {
        let mut added = 0;
        let sets = self.explored.entry((key, state)).or_insert_with(|| {
            added = std::mem::size_of::<(K, S, Vec<Box<[u64]>>)>()
                + key_heap_bytes
                + ENTRY_OVERHEAD_BYTES;
            Vec::new()
        });
        if sets.iter().any(|explored| subset(explored, info)) {
            return None;
        }
        sets.retain(|explored| !info.is_subset_of(explored));
        sets.push(info.words.clone().into_boxed_slice());
        Some(added + info.words.len() * 8 + ENTRY_OVERHEAD_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominated_configurations_are_not_new() {
        let mut memo: Memo<u8, u8> = Memo::new();
        let mut info = InfoSet::new(3);
        info.set(1);
        assert!(memo.insert(0, 0, 7, &info).is_some());
        assert!(
            memo.insert(0, 0, 7, &info).is_none(),
            "the same configuration"
        );
        info.set(2);
        assert!(
            memo.insert(0, 0, 7, &info).is_none(),
            "more info linearized: dominated"
        );
        assert!(memo.insert(0, 0, 8, &info).is_some(), "another state");
        info.clear(1);
        info.clear(2);
        assert!(
            memo.insert(0, 0, 7, &info).is_some(),
            "fewer info linearized: new, dominates"
        );
        info.set(0);
        assert!(memo.insert(0, 0, 7, &info).is_none());
    }
}
