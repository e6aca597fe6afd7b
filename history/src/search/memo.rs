//! The memoisation cache of the search, with dominance for `info` operations.
//!
//! A configuration is (linearized non-`info` operations, model state, linearized `info`
//! operations). `info` operations never return, so they never constrain when another
//! operation may be linearized; a configuration whose linearized `info` set is a subset of
//! another's, with the same rest, can do everything the other can (it may still skip the
//! extra `info` operations forever). So a configuration is new only if no explored one with
//! the same key and state linearized a subset of its `info` operations.

use super::bitset::FastHash;
use std::collections::hash_map::Entry;
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

/// The `info` sets explored for one (key, state); one set inline, as most have one, and
/// without an allocation when the partition has at most 64 `info` operations.
enum InfoSets {
    Word(u64),
    One(Box<[u64]>),
    Many(Vec<Box<[u64]>>),
}

impl InfoSets {
    fn first(info: &InfoSet) -> InfoSets {
        match info.words.as_slice() {
            [] => InfoSets::Word(0),
            [word] => InfoSets::Word(*word),
            words => InfoSets::One(words.into()),
        }
    }

    /// Whether an explored set is a subset of `info` (which is then dominated).
    fn dominates(&self, info: &InfoSet) -> bool {
        match self {
            InfoSets::Word(word) => word & !info.words.first().copied().unwrap_or(0) == 0,
            InfoSets::One(set) => subset(set, info),
            InfoSets::Many(sets) => sets.iter().any(|explored| subset(explored, info)),
        }
    }

    fn into_vec(self) -> Vec<Box<[u64]>> {
        match self {
            InfoSets::Word(word) => vec![Box::new([word])],
            InfoSets::One(set) => vec![set],
            InfoSets::Many(sets) => sets,
        }
    }
}

/// Explored configurations.
pub(crate) struct Memo<K, S> {
    explored: HashMap<(K, S), InfoSets, FastHash>,
}

impl<K: Hash + Eq, S: Hash + Eq> Memo<K, S> {
    /// A cache with room for `capacity` configurations before it grows.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Memo {
            explored: HashMap::with_capacity_and_hasher(capacity, FastHash),
        }
    }

    /// Forgets every configuration, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.explored.clear();
    }

    /// Room for `additional` more configurations before the cache grows.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.explored.reserve(additional);
    }

    /// How many (key, state) pairs are recorded.
    pub(crate) fn len(&self) -> usize {
        self.explored.len()
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
        let set_bytes = info.words.len() * 8;
        match self.explored.entry((key, state)) {
            Entry::Vacant(vacant) => {
                vacant.insert(InfoSets::first(info));
                Some(
                    std::mem::size_of::<(K, S, InfoSets)>()
                        + key_heap_bytes
                        + set_bytes
                        + ENTRY_OVERHEAD_BYTES,
                )
            }
            Entry::Occupied(mut occupied) => {
                if occupied.get().dominates(info) {
                    return None;
                }
                let mut sets =
                    std::mem::replace(occupied.get_mut(), InfoSets::Many(Vec::new())).into_vec();
                sets.retain(|explored| !info.is_subset_of(explored));
                sets.push(info.words.clone().into_boxed_slice());
                *occupied.get_mut() = InfoSets::Many(sets);
                Some(set_bytes + ENTRY_OVERHEAD_BYTES)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominated_configurations_are_not_new() {
        let mut memo: Memo<u8, u8> = Memo::with_capacity(0);
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
