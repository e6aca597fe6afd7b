//! File data on the live view: read, write, truncate, attributes and open handles. Writes
//! and truncates append the file operation that the file's fsync later makes durable.

use std::time::SystemTime;

use super::{DiskModel, MAX_FILE_BYTES};
use crate::lazyfs::ops::{write_at, Ino, Op};
use crate::lazyfs::FsError;

impl DiskModel {
    /// Read up to `size` live bytes at `offset`.
    pub fn read(&self, ino: Ino, offset: u64, size: usize) -> Result<&[u8], FsError> {
        let inode = self.file(ino)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(inode.live.len());
        let end = start.saturating_add(size).min(inode.live.len());
        Ok(&inode.live[start..end])
    }

    /// Write `data` at `offset` of file `ino`. A misdirected write shows at `offset` in the
    /// live view but reaches the disk at `misdirect_to`.
    pub fn write(
        &mut self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        misdirect_to: Option<u64>,
    ) -> Result<(), FsError> {
        let inode = self.file(ino)?;
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|&end| end <= MAX_FILE_BYTES);
        let Some(end) = end else {
            return Err(FsError::Invalid);
        };
        let growth = end.saturating_sub(inode.live.len() as u64);
        self.check_room(growth + data.len() as u64)?;
        self.used_bytes += growth + data.len() as u64;
        let inode = self.file_mut(ino)?;
        write_at(&mut inode.live, offset, data);
        inode.mtime = SystemTime::now();
        self.push(Op::Write {
            ino,
            offset,
            data: data.to_vec(),
            misdirect_to,
        });
        Ok(())
    }

    /// Set the live length of file `ino`.
    pub fn truncate(&mut self, ino: Ino, len: u64) -> Result<(), FsError> {
        if len > MAX_FILE_BYTES {
            return Err(FsError::Invalid);
        }
        let old = self.file(ino)?.live.len() as u64;
        self.check_room(len.saturating_sub(old))?;
        self.used_bytes = self.used_bytes + len - old.min(len) - old.saturating_sub(len);
        let inode = self.file_mut(ino)?;
        inode.live.resize(len as usize, 0);
        inode.mtime = SystemTime::now();
        self.push(Op::Truncate { ino, len });
        Ok(())
    }

    /// Change permission bits (not modelled as durable: they survive every crash).
    pub fn set_perm(&mut self, ino: Ino, perm: u16) -> Result<(), FsError> {
        self.inode_mut(ino)?.perm = perm & 0o7777;
        Ok(())
    }

    /// Set the modification time (not modelled as durable).
    pub fn set_mtime(&mut self, ino: Ino, mtime: SystemTime) -> Result<(), FsError> {
        self.inode_mut(ino)?.mtime = mtime;
        Ok(())
    }

    /// Count an open handle on `ino` (unlinked files stay readable while open).
    pub fn open(&mut self, ino: Ino) -> Result<(), FsError> {
        self.inode_mut(ino)?.open_handles += 1;
        Ok(())
    }

    /// Drop an open handle; an unlinked, closed file's live content is freed (and the whole
    /// inode once no durable name is left).
    pub fn release(&mut self, ino: Ino) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.open_handles = inode.open_handles.saturating_sub(1);
        }
        self.forget_if_unreachable(ino);
        let orphan = self.inodes.get(&ino).is_some_and(|inode| {
            inode.open_handles == 0 && inode.live_parent.is_none() && inode.durable_parent.is_none()
        });
        if orphan {
            self.collect_garbage();
        }
    }
}
