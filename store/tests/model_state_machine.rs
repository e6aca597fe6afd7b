//! State-machine test: random sequences of operations run against the Store on a real
//! directory and against a plain in-memory model (a BTreeMap plus an LSN counter). Every answer
//! must match the model exactly, versions included (a version is the LSN of the change, so the
//! model predicts it), and every version handed out must exceed every earlier one.
//!
//! Operations include reopening the store, snapshots, GC, a pinned snapshot reader read across
//! later writes and compactions, aborted batches, and a crash before a batch's commit record
//! became durable (simulated by cutting the commit record off the end of the log). Some values
//! are above the blob threshold, so puts, compare-and-sets and batches also go through value
//! blobs (equal values sharing one), which GC must keep while the log names them.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use store::record::WalRecord;
use store::wal::frame::RECORD_HEADER_LEN;
use store::{CasExpected, CasOutcome, Entry, IfModified, PinnedSnapshot, Store, StoreOptions};

#[derive(Clone, Debug)]
enum BatchStep {
    Put(u8, u8),
    Delete(u8),
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u8),
    Patch(u8, u8),
    Delete(u8),
    Get(u8),
    /// `get_if_modified` with the key's current version (`true`) or a stale one.
    GetIfModified(u8, bool),
    /// Compare-and-set by version (current or stale) or by value.
    CasVersion(u8, bool, u8),
    CasValue(u8, u8, u8),
    Batch(Vec<BatchStep>),
    AbortedBatch(Vec<BatchStep>),
    CrashBeforeCommit(Vec<BatchStep>),
    Reopen,
    Snapshot,
    Gc,
    Pin,
    ReadPinned(u8),
}

fn key(k: u8) -> String {
    format!("k{}", k % 4)
}

/// Values at least this long go to value blobs (`StoreOptions::blob_threshold_bytes`).
const BLOB_THRESHOLD_BYTES: usize = 32;

/// One of three small values, or (one in five) one of two large ones kept in value blobs.
fn value(v: u8) -> Vec<u8> {
    if v % 5 == 4 {
        vec![b'A' + v % 2; BLOB_THRESHOLD_BYTES + 8]
    } else {
        vec![b'a' + v % 3]
    }
}

fn batch_steps() -> impl Strategy<Value = Vec<BatchStep>> {
    let step = prop_oneof![
        (any::<u8>(), any::<u8>()).prop_map(|(k, v)| BatchStep::Put(k, v)),
        any::<u8>().prop_map(BatchStep::Delete),
    ];
    proptest::collection::vec(step, 1..4)
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Op::Patch(k, v)),
        2 => any::<u8>().prop_map(Op::Delete),
        3 => any::<u8>().prop_map(Op::Get),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(k, c)| Op::GetIfModified(k, c)),
        2 => (any::<u8>(), any::<bool>(), any::<u8>()).prop_map(|(k, c, v)| Op::CasVersion(k, c, v)),
        1 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(k, e, v)| Op::CasValue(k, e, v)),
        2 => batch_steps().prop_map(Op::Batch),
        1 => batch_steps().prop_map(Op::AbortedBatch),
        1 => batch_steps().prop_map(Op::CrashBeforeCommit),
        1 => Just(Op::Reopen),
        1 => Just(Op::Snapshot),
        1 => Just(Op::Gc),
        1 => Just(Op::Pin),
        1 => any::<u8>().prop_map(Op::ReadPinned),
    ]
}

/// The model: what the store must answer.
#[derive(Default)]
struct Model {
    entries: BTreeMap<String, Entry>,
    last_lsn: u64,
    pinned: Option<BTreeMap<String, Entry>>,
}

impl Model {
    fn write(&mut self, key: String, value: Vec<u8>) -> u64 {
        self.last_lsn += 1;
        self.entries.insert(
            key,
            Entry {
                value,
                version: self.last_lsn,
            },
        );
        self.last_lsn
    }

    fn batch(&mut self, steps: &[BatchStep]) -> u64 {
        let commit_lsn = self.last_lsn + steps.len() as u64 + 2;
        for step in steps {
            match step {
                BatchStep::Put(k, v) => {
                    self.entries.insert(
                        key(*k),
                        Entry {
                            value: value(*v),
                            version: commit_lsn,
                        },
                    );
                }
                BatchStep::Delete(k) => {
                    self.entries.remove(&key(*k));
                }
            }
        }
        self.last_lsn = commit_lsn;
        commit_lsn
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        gc_grace_ms: 0,
        lease_ms: 1_000,
        blob_threshold_bytes: BLOB_THRESHOLD_BYTES,
        ..StoreOptions::default()
    }
}

fn fill<'a>(mut batch: store::Batch<'a>, steps: &[BatchStep]) -> store::Batch<'a> {
    for step in steps {
        match step {
            BatchStep::Put(k, v) => batch.put(&key(*k), &value(*v)).unwrap(),
            BatchStep::Delete(k) => batch.delete(&key(*k)).unwrap(),
        }
    }
    batch
}

/// Cuts the last record (the batch's commit) off the newest WAL segment: the state a crash
/// leaves when the commit record never reached the disk.
fn cut_commit_record(dir: &Path) {
    let wal = dir.join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let commit = WalRecord::BatchCommit {
        batch: 0,
        op_count: 0,
    }
    .encode();
    let len = std::fs::metadata(last).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    file.set_len(len - (RECORD_HEADER_LEN + commit.len()) as u64)
        .unwrap();
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(Store::open(dir.path(), options()).unwrap());
    let mut model = Model::default();
    let mut reader: Option<PinnedSnapshot> = None;
    let mut highest_version = 0;
    for op in ops {
        let s = store.as_ref().unwrap();
        let written = match &op {
            Op::Put(k, v) => {
                let version = s.put(&key(*k), &value(*v)).unwrap();
                prop_assert_eq!(version, model.write(key(*k), value(*v)));
                Some(version)
            }
            Op::Patch(k, v) => {
                let mut next = model
                    .entries
                    .get(&key(*k))
                    .map(|e| e.value.clone())
                    .unwrap_or_default();
                next.extend(value(*v));
                let version = s.patch(&key(*k), &value(*v)).unwrap();
                prop_assert_eq!(version, model.write(key(*k), next));
                Some(version)
            }
            Op::Delete(k) => {
                let deleted = s.delete(&key(*k)).unwrap();
                let expected = model.entries.remove(&key(*k)).map(|_| {
                    model.last_lsn += 1;
                    model.last_lsn
                });
                prop_assert_eq!(deleted, expected);
                deleted
            }
            Op::Get(k) => {
                prop_assert_eq!(
                    s.get(&key(*k)).unwrap(),
                    model.entries.get(&key(*k)).cloned()
                );
                None
            }
            Op::GetIfModified(k, current) => {
                let known = model.entries.get(&key(*k)).map_or(0, |e| e.version);
                let asked = if *current {
                    known
                } else {
                    known.saturating_sub(1)
                };
                let expected = match model.entries.get(&key(*k)) {
                    Some(entry) if entry.version == asked => IfModified::NotModified,
                    other => IfModified::Modified(other.cloned()),
                };
                prop_assert_eq!(s.get_if_modified(&key(*k), asked).unwrap(), expected);
                None
            }
            Op::CasVersion(k, current, v) => {
                let current_entry = model.entries.get(&key(*k)).cloned();
                let expected = match (&current_entry, current) {
                    (Some(entry), true) => CasExpected::Version(entry.version),
                    (Some(entry), false) => CasExpected::Version(entry.version + 1),
                    (None, true) => CasExpected::Absent,
                    (None, false) => CasExpected::Version(1),
                };
                let outcome = s.cas(&key(*k), &expected, &value(*v)).unwrap();
                if *current {
                    let version = model.write(key(*k), value(*v));
                    prop_assert_eq!(outcome, CasOutcome::Written(version));
                    Some(version)
                } else {
                    prop_assert_eq!(outcome, CasOutcome::Mismatch(current_entry));
                    None
                }
            }
            Op::CasValue(k, e, v) => {
                let current_entry = model.entries.get(&key(*k)).cloned();
                let outcome = s
                    .cas(&key(*k), &CasExpected::Value(value(*e)), &value(*v))
                    .unwrap();
                if current_entry
                    .as_ref()
                    .is_some_and(|entry| entry.value == value(*e))
                {
                    let version = model.write(key(*k), value(*v));
                    prop_assert_eq!(outcome, CasOutcome::Written(version));
                    Some(version)
                } else {
                    prop_assert_eq!(outcome, CasOutcome::Mismatch(current_entry));
                    None
                }
            }
            Op::Batch(steps) => {
                let version = fill(s.batch(), steps).commit().unwrap();
                prop_assert_eq!(version, model.batch(steps));
                Some(version)
            }
            Op::AbortedBatch(steps) => {
                fill(s.batch(), steps).abort();
                None
            }
            Op::CrashBeforeCommit(steps) => {
                fill(s.batch(), steps).commit().unwrap();
                drop(store.take());
                cut_commit_record(dir.path());
                store = Some(Store::open(dir.path(), options()).unwrap());
                // Begin and the operations keep their LSNs in the log; the commit's is free.
                model.last_lsn += steps.len() as u64 + 1;
                None
            }
            Op::Reopen => {
                drop(store.take());
                store = Some(Store::open(dir.path(), options()).unwrap());
                None
            }
            Op::Snapshot => {
                prop_assert_eq!(s.snapshot().unwrap().covered_lsn, model.last_lsn);
                None
            }
            Op::Gc => {
                s.gc().unwrap();
                None
            }
            Op::Pin => {
                reader = Some(s.pin_snapshot().unwrap());
                model.pinned = Some(model.entries.clone());
                None
            }
            Op::ReadPinned(k) => {
                if let (Some(reader), Some(pinned)) = (&reader, &model.pinned) {
                    prop_assert_eq!(reader.get(&key(*k)).unwrap(), pinned.get(&key(*k)).cloned());
                }
                None
            }
        };
        if let Some(version) = written {
            prop_assert!(
                version > highest_version,
                "version {} after {}",
                version,
                highest_version
            );
            highest_version = version;
        }
        store
            .as_ref()
            .unwrap()
            .check_invariants()
            .map_err(TestCaseError::fail)?;
    }
    let s = store.as_ref().unwrap();
    for k in 0..4u8 {
        prop_assert_eq!(s.get(&key(k)).unwrap(), model.entries.get(&key(k)).cloned());
    }
    prop_assert_eq!(s.verify().unwrap(), Vec::<String>::new());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model(ops in proptest::collection::vec(any_op(), 1..40)) {
        run(ops)?;
    }
}
