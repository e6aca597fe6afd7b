//! Damage to data at rest: a bit that decays on the disk, a file whose content was written
//! under another file's name. Unlike the injected faults of `faults.rs`, which act on one
//! operation, these change the durable content itself (and the live view, which reads it).

use std::time::SystemTime;

use super::DiskModel;
use crate::lazyfs::ops::{Ino, NodeKind};
use crate::lazyfs::FsError;

/// One file of the durable namespace: its durable path, inode and durable length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableFile {
    /// Path relative to the root.
    pub path: String,
    /// Its inode.
    pub ino: Ino,
    /// Durable length in bytes.
    pub len: u64,
    /// Last modification (a power cut sets every file's to the time of the cut).
    pub mtime: SystemTime,
}

impl DiskModel {
    /// Every file the durable namespace names, by inode number (oldest first).
    pub fn durable_files(&self) -> Vec<DurableFile> {
        let mut files: Vec<DurableFile> = self
            .inodes
            .iter()
            .filter(|(_, inode)| inode.kind == NodeKind::File)
            .filter_map(|(&ino, inode)| {
                Some(DurableFile {
                    path: self.durable_path(ino)?,
                    ino,
                    len: inode.durable.len() as u64,
                    mtime: inode.mtime,
                })
            })
            .collect();
        files.sort_by_key(|file| file.ino);
        files
    }

    /// Flips bit `bit` of durable byte `offset` of file `ino` (the disk decayed). The live
    /// view shows the flip too unless a pending write changed that byte since.
    pub fn rot_bit(&mut self, ino: Ino, offset: u64, bit: u8) -> Result<(), FsError> {
        let inode = self.file_mut(ino)?;
        let index = usize::try_from(offset).map_err(|_| FsError::Invalid)?;
        let Some(&durable) = inode.durable.get(index) else {
            return Err(FsError::Invalid);
        };
        let mask = 1u8 << (bit % 8);
        if inode.live.get(index) == Some(&durable) {
            inode.live[index] ^= mask;
        }
        inode.durable[index] ^= mask;
        Ok(())
    }

    /// Makes the durable content of file `from` the content of file `to`, durably and in the
    /// live view (a whole file's write that landed under another name). Pending writes to
    /// `to` stay pending and land on top of it at its next fsync.
    pub fn misplace_content(&mut self, from: Ino, to: Ino) -> Result<(), FsError> {
        let content = self.file(from)?.durable.clone();
        let target = self.file(to)?;
        let old = (target.live.len() + target.durable.len()) as u64;
        let new = 2 * content.len() as u64;
        self.check_room(new.saturating_sub(old))?;
        self.used_bytes = self.used_bytes - old + new;
        let target = self.file_mut(to)?;
        target.live = content.clone();
        target.durable = content;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lazyfs::ops::ROOT_INO;

    fn synced_file(model: &mut DiskModel, name: &str, data: &[u8]) -> Ino {
        let ino = model
            .create(ROOT_INO, name, NodeKind::File, 0o644)
            .expect("create");
        model.write(ino, 0, data, None).expect("write");
        model.fsync(ino).expect("fsync");
        model.fsync_dir(ROOT_INO).expect("fsync dir");
        ino
    }

    #[test]
    fn a_rotten_bit_is_durable_and_seen() {
        let mut model = DiskModel::new(1 << 20);
        let ino = synced_file(&mut model, "a", b"\x00\x00\x00");
        model.rot_bit(ino, 1, 3).unwrap();
        assert_eq!(model.durable_content(ino).unwrap(), b"\x00\x08\x00");
        assert_eq!(model.read(ino, 0, 3).unwrap(), b"\x00\x08\x00");
        assert_eq!(model.rot_bit(ino, 3, 0), Err(FsError::Invalid));
        model.check_invariants();
    }

    #[test]
    fn a_misplaced_file_holds_the_other_content() {
        let mut model = DiskModel::new(1 << 20);
        let first = synced_file(&mut model, "first", b"the first file");
        let second = synced_file(&mut model, "second", b"second");
        model.misplace_content(first, second).unwrap();
        assert_eq!(model.durable_content(second).unwrap(), b"the first file");
        assert_eq!(model.read(second, 0, 100).unwrap(), b"the first file");
        let files = model.durable_files();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["first", "second"]
        );
        model.check_invariants();
    }
}
