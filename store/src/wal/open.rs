//! Opening a [`Wal`]: recovery of the log, the durable cut of a torn tail, and the segment
//! the new writer appends to (rules: `store/FORMAT.md`, "Recovery").

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::frame::SEGMENT_HEADER_LEN;
use super::group_commit::GroupCommit;
use super::pending::PendingWrites;
use super::segment::{create_segment, SegmentName, SegmentWriter};
use super::{io_error, recovery, Lsn, RecoveredLog, Wal, WalError, WalOptions};
use crate::io::Io;
use crate::lock::Epoch;

impl Wal {
    /// Recovers the log in `dir` (created if missing) for writer `epoch`, returning every
    /// record with an LSN above `after` (the caller's snapshot covers the rest).
    ///
    /// Steps, each durable before the next: fsync the last segment (this writer builds on
    /// what it read, even if a dead writer never synced it); cut a torn tail (set_len + fsync,
    /// or remove + fsync dir if its header was torn); unless the last segment is this epoch's,
    /// create `<last_lsn+1>-<epoch>.wal` (header, fsync, fsync dir).
    pub fn open(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        Wal::open_limited(io, dir, epoch, after, None, options)
    }

    /// Like [`Wal::open`], after a Wal of this process (epoch `failed.0`) was poisoned by a
    /// failed fsync with `failed.1` its last successfully synced LSN. The records after it may
    /// read back (a failed fsync leaves its pages clean in the page cache) yet be lost at the
    /// next power cut: if every record after it is of the failed epoch, they are not
    /// recovered and the new segment starts right after it, so that recovery ends the old
    /// segment there whatever of it survives. If another holder has appended since, it built
    /// on them (and may have acknowledged): nothing is dropped (`store/PROTOCOL.md`, §3).
    pub fn reopen_after_failed_sync(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        failed: (Epoch, Lsn),
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        Wal::open_limited(io, dir, epoch, after, Some(failed), options)
    }

    fn open_limited(
        io: Arc<dyn Io>,
        dir: &Path,
        epoch: Epoch,
        after: Lsn,
        durable_limit: Option<(Epoch, Lsn)>,
        options: WalOptions,
    ) -> Result<(Wal, RecoveredLog), WalError> {
        crate::io::create_dir_durable(io.as_ref(), dir)
            .map_err(|source| io_error("create dir", dir, source))?;
        let mut scan = recovery::scan(io.as_ref(), dir, after)?;
        let mut beyond_durable = false;
        let only_failed_epoch_after = |(failed_epoch, limit): &(Epoch, Lsn)| {
            *limit < scan.last_lsn
                && scan
                    .records
                    .iter()
                    .filter(|record| record.lsn > *limit)
                    .all(|record| record.epoch == *failed_epoch)
        };
        if let Some((_, limit)) = durable_limit.filter(only_failed_epoch_after) {
            if limit < after {
                return Err(WalError::LogEndsBeforeLsn {
                    dir: dir.to_path_buf(),
                    last_lsn: limit,
                    expected_lsn: after,
                });
            }
            scan.records.retain(|record| record.lsn <= limit);
            scan.last_lsn = limit;
            beyond_durable = true;
        }
        let mut live = scan.live;
        if let Some(newest) = live.last().map(|s| s.epoch).filter(|e| *e > epoch) {
            return Err(WalError::StaleEpoch {
                dir: dir.to_path_buf(),
                epoch,
                newest,
            });
        }
        let mut reusable = None;
        if let Some(tail) = live.last().cloned() {
            let path = dir.join(tail.file_name());
            if scan.tail_header_invalid {
                io.remove_file(&path)
                    .map_err(|source| io_error("remove", &path, source))?;
                io.sync_dir(dir)
                    .map_err(|source| io_error("fsync dir", dir, source))?;
                live.pop();
            } else {
                let file = io
                    .open(&path)
                    .map_err(|source| io_error("open", &path, source))?;
                file.sync()
                    .map_err(|source| io_error("fsync", &path, source))?;
                if let Some(cut) = &scan.cut {
                    file.set_len(cut.offset)
                        .map_err(|source| io_error("truncate", &path, source))?;
                    file.sync()
                        .map_err(|source| io_error("fsync", &path, source))?;
                }
                let len = file
                    .len_bytes()
                    .map_err(|source| io_error("stat", &path, source))?;
                if tail.epoch == epoch && !beyond_durable {
                    reusable = live.pop().map(|name| (name, file, len));
                }
            }
        }
        let mut stale = scan.stale;
        if beyond_durable {
            // Segments the failed writer started after its last synced record hold nothing
            // durable; off the chain (the new segment continues the one holding that record).
            let next = scan.last_lsn.next();
            let (kept, beyond): (Vec<_>, Vec<_>) =
                live.into_iter().partition(|s| s.first_lsn <= next);
            live = kept;
            stale.extend(beyond);
        }
        let (active, active_file, active_len) = match reusable {
            Some(reused) => reused,
            None => {
                let name = SegmentName {
                    first_lsn: scan.last_lsn.next(),
                    epoch,
                };
                let prev_epoch = live.last().map_or(Epoch(0), |tail| tail.epoch);
                let file = create_segment(io.as_ref(), dir, &name, prev_epoch)?;
                (name, file, SEGMENT_HEADER_LEN as u64)
            }
        };
        let pending = PendingWrites {
            chunks: Vec::new(),
            bytes: 0,
            epoch,
            tail_first_lsn: active.first_lsn,
            tail_len: active_len,
            options,
        };
        let recovered = RecoveredLog {
            records: scan.records,
            last_lsn: scan.last_lsn,
            cut: scan.cut,
            stale_segments: stale.iter().map(|s| dir.join(s.file_name())).collect(),
        };
        let writer = SegmentWriter {
            io,
            dir: dir.to_path_buf(),
            active,
            active_file,
            active_len,
            sealed: live,
            stale,
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            epoch,
            core: GroupCommit::new(scan.last_lsn.0, pending, options.group_commit_wait_max),
            writer: Mutex::new(writer),
        };
        debug_assert_eq!(wal.check_invariants(), Ok(()));
        Ok((wal, recovered))
    }
}
