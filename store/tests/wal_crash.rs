//! Property: a WAL that loses power at any instant opens again with every acknowledged record,
//! as an exact prefix of what was appended, even after takeovers by new writers.
//!
//! The disk is `store::io::sim::SimDisk`: a kill keeps the volatile state (the page cache
//! survives a process); a power cut keeps the durable state plus a torn, partly reordered piece
//! of each file's unsynced tail, and loses every create, rename and unlink not followed by a
//! directory fsync.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use store::io::sim::SimDisk;
use store::lock::Epoch;
use store::wal::{Lsn, Wal, WalOptions};

#[derive(Debug, Clone)]
enum Step {
    /// Append this many records, then sync them (acknowledged) or not.
    Append { records: u8, sync: bool },
    /// The process is killed: the page cache survives; a new writer takes over.
    Kill,
    /// Append and sync this many records, but the process dies after the write, before the
    /// fsync: the records are in the page cache only; a new writer takes over.
    KillBeforeFsync { records: u8 },
    /// Power is cut: unsynced data is lost, torn or reordered; a new writer takes over.
    PowerCut { seed: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..6u8, any::<bool>()).prop_map(|(records, sync)| Step::Append { records, sync }),
        1 => Just(Step::Kill),
        1 => (1..4u8).prop_map(|records| Step::KillBeforeFsync { records }),
        1 => any::<u64>().prop_map(|seed| Step::PowerCut { seed }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_acknowledged_record_survives_kills_and_power_cuts(steps in prop::collection::vec(step(), 1..40)) {
        let disk = SimDisk::new();
        let dir = Path::new("/store/wal");
        let options = WalOptions { segment_max_bytes: 300, ..WalOptions::default() };
        let open = |epoch: u64| Wal::open(Arc::new(disk.clone()), dir, Epoch(epoch), Lsn::ZERO, options);
        let mut epoch = 1;
        let (mut wal, _) = open(epoch).unwrap();
        // Payloads by LSN as this run appended them; how many of them are acknowledged.
        let mut log: Vec<Vec<u8>> = Vec::new();
        let mut acknowledged = 0usize;
        for (index, step) in steps.iter().enumerate() {
            match step {
                Step::Append { records, sync } => {
                    let mut last = Lsn::ZERO;
                    for record in 0..*records {
                        let payload = format!("step {index} record {record} {}", "x".repeat(index % 50)).into_bytes();
                        last = wal.append(&payload).unwrap();
                        prop_assert_eq!(last.0 as usize, log.len() + 1);
                        log.push(payload);
                    }
                    if *sync {
                        wal.sync(last).unwrap();
                        acknowledged = log.len();
                    }
                }
                Step::KillBeforeFsync { records } => {
                    for record in 0..*records {
                        let payload = format!("step {index} unsynced {record}").into_bytes();
                        wal.append(&payload).unwrap();
                        log.push(payload);
                    }
                    disk.kill_before_next_sync();
                    let error = wal.sync(wal.last_lsn()).unwrap_err();
                    prop_assert!(error.is_indeterminate(), "{}", error);
                }
                _ => {}
            }
            if matches!(step, Step::Kill | Step::KillBeforeFsync { .. } | Step::PowerCut { .. }) {
                drop(wal);
                if let Step::PowerCut { seed } = step {
                    disk.power_cut(*seed);
                }
                epoch += 1;
                let (next, recovered) = open(epoch)
                    .map_err(|error| TestCaseError::fail(format!("recovery failed: {error}")))?;
                prop_assert!(recovered.records.len() >= acknowledged,
                    "lost acknowledged records: {} < {}", recovered.records.len(), acknowledged);
                for (offset, record) in recovered.records.iter().enumerate() {
                    prop_assert_eq!(record.lsn, Lsn(offset as u64 + 1));
                    prop_assert_eq!(&record.payload, &log[offset]);
                }
                // What the new writer read is what it builds on: it counts as acknowledged.
                log.truncate(recovered.records.len());
                acknowledged = log.len();
                wal = next;
            }
        }
    }
}
