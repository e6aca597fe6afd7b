//! The Wing–Gong/Lowe search over one partition, with Lowe's memoisation.
//!
//! Calls and returns sit in one doubly-linked list sorted by time (a call before a return at
//! the same instant, so equal times count as concurrent). The search walks the list: at a call
//! it tries to linearize the operation now (model step succeeds and the pair (linearized set,
//! state) is new), lifting the call and its return out of the list; at a return it has to
//! undo the last choice (backtrack). An `info` operation returns at +infinity: reaching the
//! first such return means every remaining operation is `info` and may not have happened.

use super::bitset::{Bitset, ExactKey, FastHash};
use super::entries::{Entries, HEAD, NONE};
use super::memo::{InfoSet, Memo};
use super::stranded::{Stranded, UNKNOWN};
use crate::{Model, Operation};
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// The search polls the deadline, the stop flag and the memory budget this often (first at
/// its first step, so that an expired deadline is seen at once).
const POLL_EVERY_STEPS: u64 = 4096;
/// Caches with at least this many entries are freed in the background.
const RELEASE_IN_BACKGROUND_ENTRIES: usize = 1 << 16;
/// Caches with at most this many entries are kept, emptied, for the next search.
const REUSE_ENTRIES_MAX: usize = 1 << 12;

/// The bounds shared by all searches of one check.
#[derive(Clone, Copy)]
pub(crate) struct Limits<'a> {
    pub deadline: Option<Instant>,
    pub memory_budget_bytes: usize,
    pub memory_used_bytes: &'a AtomicUsize,
    pub stop: &'a AtomicBool,
    /// At most this many search steps (`None`: unbounded but for the other limits).
    pub steps_max: Option<u64>,
    /// Whether to prune steps that strand an observation (see `stranded`); exact either
    /// way, off only to compare against the plain search.
    pub prune_stranded: bool,
}

/// Which bound was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The deadline passed.
    Deadline,
    /// The memoisation cache outgrew the memory budget.
    Memory,
}

/// The result of one search.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Search {
    Linearizable,
    /// `longest` is the longest partial linearization found (local indices, in order).
    NotLinearizable {
        longest: Vec<usize>,
    },
    OutOfBudget(Limit),
    /// Another partition found a violation first.
    Cancelled,
    /// `Limits::steps_max` ran out.
    TooLong,
}

/// How the memoisation cache identifies a linearized set, and the model state beside it.
pub(crate) trait CacheKey: Hash + Eq + Send + 'static {
    /// What the cache keeps of a state.
    type StateKey<S: Clone + Hash + Eq + Send + 'static>: Hash + Eq + Send + 'static;
    fn of(bits: &Bitset) -> Self;
    fn heap_bytes(&self) -> usize;
    fn state_key<S: Clone + Hash + Eq + Send + 'static>(state: &S) -> Self::StateKey<S>;
}

/// Fast mode: a 128-bit fingerprint of the set and a 64-bit hash of the state (no copy of
/// the state is kept). A collision can only prune a branch (a spurious violation, which the
/// caller re-checks exactly), never produce a wrong "linearizable".
impl CacheKey for u128 {
    type StateKey<S: Clone + Hash + Eq + Send + 'static> = u64;
    fn of(bits: &Bitset) -> Self {
        bits.fingerprint()
    }
    fn heap_bytes(&self) -> usize {
        0
    }
    fn state_key<S: Clone + Hash + Eq + Send + 'static>(state: &S) -> u64 {
        FastHash.hash_one(state)
    }
}

/// Exact mode: the set itself, compactly, and the state itself.
impl CacheKey for ExactKey {
    type StateKey<S: Clone + Hash + Eq + Send + 'static> = S;
    fn of(bits: &Bitset) -> Self {
        bits.exact_key()
    }
    fn heap_bytes(&self) -> usize {
        ExactKey::heap_bytes(self)
    }
    fn state_key<S: Clone + Hash + Eq + Send + 'static>(state: &S) -> S {
        state.clone()
    }
}

struct Frame<S> {
    call: u32,
    state: S,
    /// The value id of `state` when known (see `Stranded`).
    value: u32,
}

/// Tracks the longest partial linearization cheaply: `best` shares a prefix of `agree` frames
/// with the current stack.
struct Longest {
    best: Vec<usize>,
    agree: usize,
}

impl Longest {
    fn pushed<S>(&mut self, stack: &[Frame<S>], entries: &Entries) {
        if stack.len() > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend(
                stack[self.agree..]
                    .iter()
                    .map(|frame| entries.op[frame.call as usize] as usize),
            );
            self.agree = stack.len();
        }
    }
    /// The stack followed by `op` is a partial linearization too.
    fn extended<S>(&mut self, stack: &[Frame<S>], entries: &Entries, op: usize) {
        if stack.len() + 1 > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend(
                stack[self.agree..]
                    .iter()
                    .map(|frame| entries.op[frame.call as usize] as usize),
            );
            self.best.push(op);
            self.agree = stack.len();
        }
    }
    fn popped(&mut self, depth: usize) {
        self.agree = self.agree.min(depth);
    }
}

/// Which operations are `info` (open to the end), by rank among them.
fn info_ranks(ops: &[&Operation]) -> (Vec<Option<usize>>, usize) {
    let mut count = 0;
    let ranks = ops
        .iter()
        .map(|op| {
            op.return_ns.is_none().then(|| {
                count += 1;
                count - 1
            })
        })
        .collect();
    (ranks, count)
}

/// The linearized set: non-`info` operations in `bits`, `info` ones in `info`.
struct Linearized {
    bits: Bitset,
    info: InfoSet,
    info_rank: Vec<Option<usize>>,
}

impl Linearized {
    fn set(&mut self, op: usize) {
        match self.info_rank[op] {
            Some(rank) => self.info.set(rank),
            None => self.bits.set(op),
        }
    }
    fn clear(&mut self, op: usize) {
        match self.info_rank[op] {
            Some(rank) => self.info.clear(rank),
            None => self.bits.clear(op),
        }
    }
}

/// Searches for a linearization of `ops` (one partition) under `model`. Candidates are tried
/// in list order: trying `info` operations last explores fewer configurations of a
/// non-linearizable history but was measured to slow clean histories down badly.
pub(crate) fn search<M: Model, K: CacheKey>(
    model: &M,
    ops: &[&Operation],
    limits: &Limits,
) -> Search {
    search_reusing(model, ops, limits, &mut Scratch::<M, K>::default())
}

/// The memory one search needs, kept by a worker from one partition's search to the next
/// (a history has many small partitions): the list of calls and returns, the cache and the
/// stack, emptied between searches.
pub(crate) struct Scratch<M: Model, K: CacheKey> {
    entries: Entries,
    memo: Memo<K, K::StateKey<M::State>>,
    stack: Vec<Frame<M::State>>,
}

impl<M: Model, K: CacheKey> Default for Scratch<M, K> {
    fn default() -> Self {
        Scratch {
            entries: Entries::default(),
            memo: Memo::with_capacity(0),
            stack: Vec::new(),
        }
    }
}

/// [`search`] in the memory of `scratch`.
pub(crate) fn search_reusing<M: Model, K: CacheKey>(
    model: &M,
    ops: &[&Operation],
    limits: &Limits,
    scratch: &mut Scratch<M, K>,
) -> Search {
    let Scratch {
        entries,
        memo,
        stack,
    } = scratch;
    entries.rebuild(ops);
    memo.clear();
    stack.clear();
    let (info_rank, info_count) = info_ranks(ops);
    let mut linearized = Linearized {
        bits: Bitset::new(ops.len()),
        info: InfoSet::new(info_count),
        info_rank,
    };
    // A clean history linearizes each operation about once: room for that from the start.
    memo.reserve(ops.len() + 1);
    let mut longest = Longest {
        best: Vec::new(),
        agree: 0,
    };
    let mut state = model.init();
    let mut stranded = if limits.prune_stranded {
        Stranded::build(model, ops)
    } else {
        None
    };
    let mut value = stranded
        .as_ref()
        .map_or(UNKNOWN, |stranded| stranded.init_value);
    let (mut charged_bytes, mut unflushed_bytes, mut steps) = (0usize, 0usize, 0u64);
    let mut entry = entries.next[HEAD as usize];
    let steps_max = limits.steps_max.unwrap_or(u64::MAX);
    let result = loop {
        steps += 1;
        if steps > steps_max {
            break Search::TooLong;
        }
        if steps % POLL_EVERY_STEPS == 1 {
            charged_bytes += unflushed_bytes;
            let used = limits
                .memory_used_bytes
                .fetch_add(unflushed_bytes, Ordering::Relaxed)
                + unflushed_bytes;
            unflushed_bytes = 0;
            if let Some(stop) = poll(limits, used) {
                break stop;
            }
        }
        if entry == NONE {
            break Search::Linearizable;
        }
        let op = entries.op[entry as usize] as usize;
        let is_info = linearized.info_rank[op].is_some();
        if entries.is_call[entry as usize] {
            // An `info` operation that would change nothing here is better never linearized
            // (it may always be skipped, and stays available for later): prune that branch.
            let next_state = model
                .step(&state, ops[op])
                .filter(|next| !is_info || *next != state);
            let next_state = next_state.and_then(|next_state| {
                let Some(stranded) = stranded.as_mut() else {
                    return Some((next_state, UNKNOWN));
                };
                stranded.linearize(op);
                if next_state == state {
                    return Some((next_state, value));
                }
                if stranded.strands(value) {
                    // A valid partial linearization still, only without completion.
                    stranded.unlinearize(op);
                    longest.extended(stack, entries, op);
                    return None;
                }
                Some((next_state, stranded.sets(op)))
            });
            if let Some((next_state, next_value)) = next_state {
                linearized.set(op);
                let key = K::of(&linearized.bits);
                let key_bytes = key.heap_bytes();
                if let Some(bytes) =
                    memo.insert(key, key_bytes, K::state_key(&next_state), &linearized.info)
                {
                    unflushed_bytes += bytes;
                    let previous = std::mem::replace(&mut state, next_state);
                    stack.push(Frame {
                        call: entry,
                        state: previous,
                        value: std::mem::replace(&mut value, next_value),
                    });
                    longest.pushed(stack, entries);
                    entries.lift(entry);
                    entry = entries.next[HEAD as usize];
                    continue;
                }
                linearized.clear(op);
                if let Some(stranded) = stranded.as_mut() {
                    stranded.unlinearize(op);
                }
            }
            entry = entries.next[entry as usize];
        } else if is_info {
            // The first return in the list is at +infinity: only `info` operations remain.
            break Search::Linearizable;
        } else {
            let Some(frame) = stack.pop() else {
                break Search::NotLinearizable {
                    longest: std::mem::take(&mut longest.best),
                };
            };
            longest.popped(stack.len());
            state = frame.state;
            value = frame.value;
            let popped = entries.op[frame.call as usize] as usize;
            linearized.clear(popped);
            if let Some(stranded) = stranded.as_mut() {
                stranded.unlinearize(popped);
            }
            entries.unlift(frame.call);
            entry = entries.next[frame.call as usize];
        }
    };
    limits
        .memory_used_bytes
        .fetch_sub(charged_bytes, Ordering::Relaxed);
    stack.clear();
    match memo.len() {
        entries if entries >= RELEASE_IN_BACKGROUND_ENTRIES => {
            release(std::mem::replace(memo, Memo::with_capacity(0)));
        }
        // Emptying a large table costs time in proportion to its size on every later search.
        entries if entries > REUSE_ENTRIES_MAX => *memo = Memo::with_capacity(0),
        _ => memo.clear(),
    }
    result
}

/// Frees a large cache on a thread of its own, so that a search that hit its deadline
/// answers at once (freeing millions of entries takes seconds).
fn release<K: Hash + Eq + Send + 'static, S: Hash + Eq + Send + 'static>(memo: Memo<K, S>) {
    // If no thread can be started the closure, and the cache with it, is dropped here.
    let _ = std::thread::Builder::new()
        .name("faultline-free-cache".into())
        .spawn(move || drop(memo));
}

/// Checks the bounds; `Some` when the search must stop.
fn poll(limits: &Limits, used_bytes: usize) -> Option<Search> {
    if limits.stop.load(Ordering::Relaxed) {
        return Some(Search::Cancelled);
    }
    if used_bytes > limits.memory_budget_bytes {
        return Some(Search::OutOfBudget(Limit::Memory));
    }
    if limits
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        return Some(Search::OutOfBudget(Limit::Deadline));
    }
    None
}
