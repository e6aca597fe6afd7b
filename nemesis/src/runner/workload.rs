//! The seeded workload: what each client asks of the system under test. Operations go to a small
//! hot key set so that they collide, every small written value is unique (a read names the
//! write it saw), and the mix covers puts, compare-and-set by version, appends, deletes,
//! versioned conditional reads (with the version last seen, sometimes an older one), multi-key
//! batches, snapshots, garbage collection and the store's own check (`verify`, which sees
//! damage a later snapshot would fold away). Some writes put a [`large`] value (1–8 KiB): one
//! of a few fixed ones (repeated on purpose: blobs shared by many writes) or, when the mix asks
//! for them (`fresh_large_percent`, off by default), a fresh one or the client's last fresh one
//! again. Fresh values (each a new blob, for a write in flight that a garbage collection may
//! race) go by default to the [`attachments`] keys apart from the hot set, where a blob read
//! under another blob's name shows as a value that key was never given. A fresh value may be
//! written again at once, to another key (two keys holding one attachment), so that when a
//! crash tears the first write's blob the second finds it stored. A delete is often followed
//! by a write of the same key, so that a version restarted or reused after a delete shows.

mod attachments;
mod large;

pub use attachments::{attachment_key_name, attachment_key_names, ATTACHMENT_KEYS};

pub use large::{
    fresh_large_value, fresh_large_value_name, large_value, large_value_name, name_large_values,
    LARGE_VALUE_SIZES,
};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

/// One request of the line protocol (store/SERVE.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StoreOp {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Reads `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Appends `delta` to the value of `key`.
    Patch {
        /// The key.
        key: String,
        /// What is appended.
        delta: String,
    },
    /// Deletes `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Sets `key` to `new_value` if it is at `expected_version` (`None`: absent).
    Cas {
        /// The key.
        key: String,
        /// The version expected; `None` expects the key absent.
        expected_version: Option<u64>,
        /// The new value.
        new_value: String,
    },
    /// Reads `key` unless it is still at `version`.
    GetIfModified {
        /// The key.
        key: String,
        /// The version the client holds.
        version: u64,
    },
    /// Applies several writes atomically.
    Batch {
        /// The writes, on distinct keys.
        ops: Vec<BatchWrite>,
    },
    /// Asks the store to compact its log into a snapshot.
    Snapshot,
    /// Asks the store to delete unreferenced blobs.
    Gc,
    /// Asks the store to check its own directory (`verify`): mid-run, it sees damage a later
    /// snapshot would fold away (a torn blob, a blob collected while a record names it).
    Verify,
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BatchWrite {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Deletes `key`.
    Delete {
        /// The key.
        key: String,
    },
}

impl StoreOp {
    /// The request object to send (the connection adds the `id`).
    pub fn to_request(&self) -> Map<String, Json> {
        match serde_json::to_value(self) {
            Ok(Json::Object(map)) => map,
            _ => unreachable!("a StoreOp serialises to an object"),
        }
    }

    /// Whether the operation asks the store to remove what it no longer needs (a snapshot
    /// folds the log away, a garbage collection deletes blobs), damaged files included.
    pub fn is_cleanup(&self) -> bool {
        matches!(self, StoreOp::Snapshot | StoreOp::Gc)
    }

    /// Whether the operation can change the store's data.
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            StoreOp::Get { .. } | StoreOp::GetIfModified { .. } | StoreOp::Verify
        )
    }
}

/// The relative weight of each operation in the mix; zero switches one off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadMix {
    /// Weight of `put`.
    pub put: u32,
    /// Weight of `get`.
    pub get: u32,
    /// Weight of `patch`.
    pub patch: u32,
    /// Weight of `delete`.
    pub delete: u32,
    /// Weight of `cas`.
    pub cas: u32,
    /// Weight of `get_if_modified`.
    pub get_if_modified: u32,
    /// Weight of `batch`.
    pub batch: u32,
    /// Weight of `snapshot`.
    pub snapshot: u32,
    /// Weight of `gc`.
    pub gc: u32,
    /// Weight of `verify` (0 in configurations written before it existed).
    #[serde(default)]
    pub verify: u32,
    /// Weight of a put of a fresh large value to an attachment key ([`attachments`]; 0 in
    /// configurations written before they existed).
    #[serde(default)]
    pub attach: u32,
    /// Percent of gets that read an attachment key (when `attach` puts any).
    #[serde(default)]
    pub attachment_read_percent: u32,
    /// Percent of attachment puts raced by a garbage collection the same client asks at once
    /// (under another process id): a collection that runs while a new blob's record is not
    /// yet durable, which only a pin keeps from deleting the blob.
    #[serde(default)]
    pub attach_gc_race_percent: u32,
    /// Percent of written values (put, cas, batch put) that are large values.
    #[serde(default)]
    pub large_value_percent: u32,
    /// Percent of large values that are fresh (a new value, so a new blob); of the others,
    /// half are the client's last fresh value again and half one of the fixed values. 0: only
    /// the fixed values.
    #[serde(default)]
    pub fresh_large_percent: u32,
    /// Percent of fresh large values written again by the next operation, to a key drawn
    /// anew from the same set (a put; an attachment's to an attachment key).
    #[serde(default)]
    pub fresh_large_again_percent: u32,
    /// Percent of written values padded to 400–1000 bytes (still unique, below the size
    /// a store may move out of its log): log appends then span sectors, so a power cut can
    /// tear them.
    #[serde(default)]
    pub medium_value_percent: u32,
    /// Percent of deletes followed at once by a write of the same key (a put or a `cas`
    /// expecting it absent).
    #[serde(default)]
    pub rewrite_after_delete_percent: u32,
    /// Percent of conditional reads that hold a version older than the last one seen.
    #[serde(default)]
    pub stale_version_percent: u32,
    /// Most writes in one batch (at least 2; at most the number of keys).
    #[serde(default = "default_batch_size_max")]
    pub batch_size_max: u32,
}

fn default_batch_size_max() -> u32 {
    3
}

impl Default for WorkloadMix {
    fn default() -> Self {
        WorkloadMix {
            put: 20,
            get: 25,
            patch: 10,
            delete: 5,
            cas: 10,
            get_if_modified: 10,
            batch: 8,
            snapshot: 1,
            gc: 1,
            verify: 1,
            attach: 2,
            attachment_read_percent: 20,
            attach_gc_race_percent: 50,
            large_value_percent: 8,
            fresh_large_percent: 0,
            fresh_large_again_percent: 20,
            medium_value_percent: 25,
            rewrite_after_delete_percent: 60,
            stale_version_percent: 20,
            batch_size_max: 5,
        }
    }
}

/// Sizes of the padded (medium) values, in bytes.
const MEDIUM_VALUE_BYTES: std::ops::Range<usize> = 400..1000;

/// The operation stream of one client: seeded, so the same seed asks the same questions.
#[derive(Debug)]
pub struct ClientWorkload {
    rng: StdRng,
    client: u64,
    keys: usize,
    mix: WorkloadMix,
    written: u64,
    /// The last version this client saw per key, for conditional reads.
    seen_versions: Vec<Option<u64>>,
    /// A key just deleted, to be written next.
    rewrite: Option<usize>,
    /// The number of this client's last fresh large value.
    last_large: Option<u64>,
    /// The operation just drawn is to be raced by a garbage collection.
    gc_race: bool,
    /// A fresh large value to write again next, by number, and whether to an attachment key.
    again: Option<(u64, bool)>,
}

impl ClientWorkload {
    /// The workload of client `client` over `keys` keys, drawn from `seed`.
    pub fn new(seed: u64, client: u64, keys: usize, mix: WorkloadMix) -> Self {
        let keys = keys.max(1);
        ClientWorkload {
            rng: StdRng::seed_from_u64(seed ^ client.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            client,
            keys,
            mix,
            written: 0,
            seen_versions: vec![None; keys],
            rewrite: None,
            last_large: None,
            again: None,
            gc_race: false,
        }
    }

    /// The name of key number `index`.
    pub fn key_name(index: usize) -> String {
        format!("k{index}")
    }

    /// Remembers the version a read or write of `key` answered, so later conditional operations
    /// ask about versions that exist.
    pub fn observe(&mut self, key: &str, version: Option<u64>) {
        let Some(index) = key.strip_prefix('k').and_then(|n| n.parse::<usize>().ok()) else {
            return;
        };
        if index < self.keys {
            self.seen_versions[index] = version;
        }
    }

    /// Whether the operation [`ClientWorkload::next_op`] just returned is to be raced by a
    /// garbage collection asked at the same time (`attach_gc_race_percent`).
    pub fn take_gc_race(&mut self) -> bool {
        std::mem::take(&mut self.gc_race)
    }

    /// The next operation.
    pub fn next_op(&mut self) -> StoreOp {
        if let Some(index) = self.rewrite.take() {
            return self.rewrite_op(index);
        }
        if let Some((number, attachment)) = self.again.take() {
            let key = if attachment {
                attachment_key_name(self.rng.random_range(0..ATTACHMENT_KEYS))
            } else {
                Self::key_name(self.rng.random_range(0..self.keys))
            };
            return StoreOp::Put {
                key,
                value: fresh_large_value(self.client, number),
            };
        }
        let index = self.rng.random_range(0..self.keys);
        let key = Self::key_name(index);
        let weights = [
            self.mix.put,
            self.mix.get,
            self.mix.patch,
            self.mix.delete,
            self.mix.cas,
            self.mix.get_if_modified,
            self.mix.batch,
            self.mix.snapshot,
            self.mix.gc,
            self.mix.verify,
            self.mix.attach,
        ];
        let total: u32 = weights.iter().sum();
        let mut ticket = self.rng.random_range(0..total.max(1));
        let mut choice = 1;
        for (position, weight) in weights.iter().enumerate() {
            if ticket < *weight {
                choice = position;
                break;
            }
            ticket -= weight;
        }
        match choice {
            0 => StoreOp::Put {
                value: self.fresh_value(),
                key,
            },
            2 => StoreOp::Patch {
                delta: format!("+{}", self.unique_value()),
                key,
            },
            3 => {
                if self.percent(self.mix.rewrite_after_delete_percent) {
                    self.rewrite = Some(index);
                }
                StoreOp::Delete { key }
            }
            4 => StoreOp::Cas {
                expected_version: self.seen_versions[index],
                new_value: self.fresh_value(),
                key,
            },
            5 => {
                let mut version = self.seen_versions[index].unwrap_or(0);
                if self.percent(self.mix.stale_version_percent) {
                    version = version.saturating_sub(self.rng.random_range(1..=3));
                }
                StoreOp::GetIfModified { version, key }
            }
            6 => self.batch(),
            7 => StoreOp::Snapshot,
            8 => StoreOp::Gc,
            9 => StoreOp::Verify,
            10 => self.attach(),
            _ if self.mix.attach > 0 && self.percent(self.mix.attachment_read_percent) => {
                StoreOp::Get {
                    key: attachment_key_name(self.rng.random_range(0..ATTACHMENT_KEYS)),
                }
            }
            _ => StoreOp::Get { key },
        }
    }

    /// A put of a fresh large value to an attachment key, sometimes to be written again at
    /// once to another.
    fn attach(&mut self) -> StoreOp {
        self.written += 1;
        let number = self.written;
        if self.percent(self.mix.fresh_large_again_percent) {
            self.again = Some((number, true));
        }
        self.gc_race = self.percent(self.mix.attach_gc_race_percent);
        StoreOp::Put {
            key: attachment_key_name(self.rng.random_range(0..ATTACHMENT_KEYS)),
            value: fresh_large_value(self.client, number),
        }
    }

    /// A write of key `index` just deleted: a put, or a `cas` expecting it absent.
    fn rewrite_op(&mut self, index: usize) -> StoreOp {
        let key = Self::key_name(index);
        if self.rng.random_bool(0.5) {
            StoreOp::Put {
                value: self.fresh_value(),
                key,
            }
        } else {
            StoreOp::Cas {
                expected_version: None,
                new_value: self.fresh_value(),
                key,
            }
        }
    }

    fn percent(&mut self, percent: u32) -> bool {
        percent > 0 && self.rng.random_range(0..100) < percent
    }

    fn batch(&mut self) -> StoreOp {
        let most = (self.mix.batch_size_max as usize).min(self.keys).max(2);
        let size = self.rng.random_range(2..=most);
        let mut ops = Vec::with_capacity(size);
        let mut used = Vec::new();
        for _ in 0..size {
            let index = self.rng.random_range(0..self.keys);
            if used.contains(&index) {
                continue;
            }
            used.push(index);
            let key = Self::key_name(index);
            if self.rng.random_range(0..5) == 0 {
                ops.push(BatchWrite::Delete { key });
            } else {
                ops.push(BatchWrite::Put {
                    key,
                    value: self.fresh_value(),
                });
            }
        }
        StoreOp::Batch { ops }
    }

    /// A value to write: unique, or now and then a large value.
    fn fresh_value(&mut self) -> String {
        if self.percent(self.mix.large_value_percent) {
            return self.large_value();
        }
        let mut value = self.unique_value();
        if self.percent(self.mix.medium_value_percent) {
            let padded = self.rng.random_range(MEDIUM_VALUE_BYTES);
            value.push('-');
            while value.len() < padded {
                value.push('.');
            }
        }
        value
    }

    /// A fresh large value, this client's last one again, or a fixed one (always a fixed one
    /// when `fresh_large_percent` is 0).
    fn large_value(&mut self) -> String {
        let fresh = self.percent(self.mix.fresh_large_percent);
        match self.last_large {
            _ if self.mix.fresh_large_percent == 0 => {}
            Some(number) if !fresh && self.rng.random_bool(0.5) => {
                return fresh_large_value(self.client, number);
            }
            Some(_) if !fresh => {}
            _ => {
                self.written += 1;
                let number = self.written;
                self.last_large = Some(number);
                if self.percent(self.mix.fresh_large_again_percent) {
                    self.again = Some((number, false));
                }
                return fresh_large_value(self.client, number);
            }
        }
        let index = self.rng.random_range(0..LARGE_VALUE_SIZES.len());
        large_value(index).to_owned()
    }

    fn unique_value(&mut self) -> String {
        self.written += 1;
        format!("c{}-{}", self.client, self.written)
    }
}

/// A read of every key, the attachment keys too, for the end of a run: what survived the
/// last recovery.
pub fn final_reads(keys: usize) -> Vec<StoreOp> {
    (0..keys.max(1))
        .map(ClientWorkload::key_name)
        .chain(attachment_key_names())
        .map(|key| StoreOp::Get { key })
        .collect()
}

/// The request that asks a store which faults it promises to survive or detect.
pub fn hello_request() -> Map<String, Json> {
    match json!({"op": "hello"}) {
        Json::Object(map) => map,
        _ => unreachable!(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn same_seed_same_ops_and_values_are_unique() {
        let run = |seed| {
            let mut workload = ClientWorkload::new(seed, 3, 4, WorkloadMix::default());
            (0..200).map(|_| workload.next_op()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let mut values = std::collections::BTreeSet::new();
        let mut large = 0;
        for op in run(1) {
            if let StoreOp::Put { value, .. } = op {
                if value.len() >= LARGE_VALUE_SIZES[0] {
                    large += 1;
                } else {
                    assert!(values.insert(value), "a small value was written twice");
                }
            }
        }
        assert!(large > 0, "no large value among the puts");
        assert!(
            values
                .iter()
                .any(|value| MEDIUM_VALUE_BYTES.contains(&value.len())),
            "no medium value among the puts"
        );
    }

    #[test]
    fn requests_match_the_line_protocol() {
        let op = StoreOp::Cas {
            key: "k1".into(),
            expected_version: None,
            new_value: "c1-1".into(),
        };
        let request = Json::Object(op.to_request());
        assert_eq!(
            request,
            json!({"op":"cas","key":"k1","expected_version":null,"new_value":"c1-1"})
        );
        let batch = StoreOp::Batch {
            ops: vec![BatchWrite::Delete { key: "k0".into() }],
        };
        assert_eq!(
            Json::Object(batch.to_request()),
            json!({"op":"batch","ops":[{"op":"delete","key":"k0"}]})
        );
    }

    #[test]
    fn a_delete_is_often_followed_by_a_write_of_its_key_and_some_reads_hold_old_versions() {
        let mut workload = ClientWorkload::new(4, 0, 4, WorkloadMix::default());
        let (mut deletes, mut rewrites, mut stale) = (0, 0, 0);
        let mut previous: Option<StoreOp> = None;
        for _ in 0..3000 {
            let op = workload.next_op();
            if let StoreOp::GetIfModified { key, .. } = &op {
                workload.observe(key, Some(10));
            }
            if let StoreOp::GetIfModified { version, .. } = &op {
                stale += usize::from(*version < 10 && *version > 0);
            }
            if let Some(StoreOp::Delete { key: deleted }) = &previous {
                deletes += 1;
                let rewritten = match &op {
                    StoreOp::Put { key, .. } => key == deleted,
                    StoreOp::Cas {
                        key,
                        expected_version: None,
                        ..
                    } => key == deleted,
                    _ => false,
                };
                rewrites += usize::from(rewritten);
            }
            previous = Some(op);
        }
        assert!(
            rewrites * 3 > deletes,
            "{rewrites} rewrites of {deletes} deletes"
        );
        assert!(stale > 0, "no conditional read held an old version");
    }

    #[test]
    fn large_values_are_fresh_written_again_or_fixed() {
        let mix = WorkloadMix {
            gc: 6,
            attach: 0,
            large_value_percent: 15,
            fresh_large_percent: 60,
            fresh_large_again_percent: 70,
            ..WorkloadMix::default()
        };
        let mut workload = ClientWorkload::new(5, 2, 4, mix);
        let mut names = Vec::new();
        let (mut fresh_puts, mut again_at_once) = (0, 0);
        let mut previous_fresh: Option<String> = None;
        for _ in 0..3000 {
            let op = workload.next_op();
            if let (Some(name), StoreOp::Put { value, .. }) = (&previous_fresh, &op) {
                again_at_once += usize::from(name_large_values(value) == *name);
            }
            previous_fresh = match &op {
                StoreOp::Put { value, .. } => Some(name_large_values(value).into_owned())
                    .filter(|name| name.starts_with("big-c2-")),
                _ => None,
            };
            fresh_puts += usize::from(previous_fresh.is_some());
            let values = match op {
                StoreOp::Put { value, .. } => vec![value],
                StoreOp::Cas { new_value, .. } => vec![new_value],
                StoreOp::Batch { ops } => ops
                    .into_iter()
                    .filter_map(|write| match write {
                        BatchWrite::Put { value, .. } => Some(value),
                        BatchWrite::Delete { .. } => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            names.extend(
                values
                    .iter()
                    .filter(|value| value.len() >= LARGE_VALUE_SIZES[0])
                    .map(|value| name_large_values(value).into_owned()),
            );
        }
        let fresh: Vec<&String> = names.iter().filter(|n| n.starts_with("big-c2-")).collect();
        let distinct: std::collections::BTreeSet<&&String> = fresh.iter().collect();
        assert!(distinct.len() > 20, "{} fresh large values", distinct.len());
        assert!(
            fresh.len() > distinct.len() + 10,
            "fresh values written again: {}",
            fresh.len() - distinct.len()
        );
        assert!(
            names.iter().any(|name| *name == large_value_name(0)),
            "no fixed value"
        );
        assert!(
            names.iter().all(|name| name.starts_with("big")),
            "{names:?}"
        );
        assert!(
            again_at_once * 8 > fresh_puts,
            "{again_at_once} of {fresh_puts} fresh puts written again at once"
        );
    }

    #[test]
    fn without_fresh_large_values_only_the_fixed_ones_are_written() {
        let mix = WorkloadMix {
            fresh_large_percent: 0,
            attach: 0,
            ..WorkloadMix::default()
        };
        let mut workload = ClientWorkload::new(5, 2, 4, mix);
        for _ in 0..3000 {
            if let StoreOp::Put { value, .. } = workload.next_op() {
                let name = name_large_values(&value);
                assert!(!name.starts_with("big-c"), "{name}");
            }
        }
    }

    #[test]
    fn attachment_keys_hold_only_fresh_large_values_and_are_read() {
        let mut workload = ClientWorkload::new(6, 1, 4, WorkloadMix::default());
        let (mut attached, mut read) = (BTreeSet::new(), 0);
        let (mut raced, mut attaches) = (0, 0);
        for _ in 0..5000 {
            let op = workload.next_op();
            let race = workload.take_gc_race();
            assert!(!workload.take_gc_race(), "a race is taken once");
            match op {
                StoreOp::Put { key, value } if key.starts_with('a') => {
                    let name = name_large_values(&value).into_owned();
                    assert!(name.starts_with("big-c1-"), "{key} given {name}");
                    attached.insert(name);
                    attaches += 1;
                    raced += usize::from(race);
                }
                _ if race => panic!("only an attachment put is raced by a collection"),
                StoreOp::Put { key, value } => {
                    let name = name_large_values(&value);
                    assert!(!name.starts_with("big-c"), "hot key {key} given {name}");
                }
                StoreOp::Get { key } => read += usize::from(key.starts_with('a')),
                _ => {}
            }
        }
        assert!(attached.len() > 40, "{} attachments", attached.len());
        assert!(
            raced * 4 > attaches && raced < attaches,
            "{raced} of {attaches} attachment puts raced by a collection"
        );
        assert!(read > 40, "{read} reads of attachment keys");
        let finals: Vec<StoreOp> = final_reads(3);
        assert_eq!(finals.len(), 3 + ATTACHMENT_KEYS);
        assert!(finals.contains(&StoreOp::Get { key: "a1".into() }));
    }

    #[test]
    fn only_snapshots_and_garbage_collections_are_cleanups() {
        let key = || "k0".to_owned();
        assert!(StoreOp::Snapshot.is_cleanup() && StoreOp::Gc.is_cleanup());
        assert!(!StoreOp::Verify.is_cleanup() && !StoreOp::Verify.is_write());
        assert!(!StoreOp::Get { key: key() }.is_cleanup());
        assert!(!StoreOp::Delete { key: key() }.is_cleanup());
    }

    #[test]
    fn every_kind_of_operation_is_asked() {
        let mut workload = ClientWorkload::new(9, 0, 4, WorkloadMix::default());
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let request = workload.next_op().to_request();
            kinds.insert(request["op"].as_str().unwrap().to_owned());
        }
        assert_eq!(kinds.len(), 10, "{kinds:?} (an attachment is a put)");
    }
}
