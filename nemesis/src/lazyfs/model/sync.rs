//! Making pending operations durable: `fsync` of a file or a directory, the ext4 fsync-EIO
//! semantics, a clean shutdown, and the durable snapshot a crash state starts from.

use std::collections::HashSet;

use super::DiskModel;
use crate::lazyfs::crash::DurableSnapshot;
use crate::lazyfs::ops::{apply_file_op, Ino, NodeKind, Op, ROOT_INO};
use crate::lazyfs::FsError;

impl DiskModel {
    /// `fsync(ino)`: for a file, its pending writes and truncates become durable (in issue
    /// order); for a directory, see [`DiskModel::fsync_dir`]. Returns the operations made
    /// durable, in order, for the backing directory to mirror.
    pub fn fsync(&mut self, ino: Ino) -> Result<Vec<Op>, FsError> {
        if self.inode(ino)?.kind == NodeKind::Dir {
            return self.fsync_dir(ino);
        }
        let ops = self.take_file_ops(ino);
        let inode = self.inode_mut(ino)?;
        let before = inode.durable.len() as u64;
        for op in &ops {
            apply_file_op(&mut inode.durable, op);
        }
        let after = inode.durable.len() as u64;
        self.used_bytes =
            self.used_bytes + after - before.min(after) - before.saturating_sub(after);
        Ok(ops)
    }

    /// `fsync` of directory `dir`: its pending creates, renames and unlinks become durable,
    /// together with the earlier pending directory operations on the same names or inodes
    /// (a name cannot become durable before the operation that made it). Returns them.
    pub fn fsync_dir(&mut self, dir: Ino) -> Result<Vec<Op>, FsError> {
        if self.inode(dir)?.kind != NodeKind::Dir {
            return Err(FsError::NotDir);
        }
        let mut names: HashSet<(Ino, String)> = HashSet::new();
        let mut inos: HashSet<Ino> = HashSet::new();
        let mut selected = vec![false; self.pending.len()];
        for (index, pending) in self.pending.iter().enumerate().rev() {
            let op = &pending.op;
            if !op.is_dir_op() {
                continue;
            }
            let (keys, ino) = dir_op_keys(op);
            let related = keys.iter().any(|key| names.contains(key))
                || ino.is_some_and(|i| inos.contains(&i));
            if op.touches_dir(dir) || related {
                selected[index] = true;
                names.extend(keys);
                inos.extend(ino);
            }
        }
        let mut applied = Vec::new();
        let mut index = 0;
        self.pending.retain(|pending| {
            let keep = !selected[index];
            index += 1;
            if !keep {
                applied.push(pending.op.clone());
            }
            keep
        });
        for op in &applied {
            self.apply_durable_dir_op(op);
        }
        self.collect_garbage();
        Ok(applied)
    }

    /// fsync failed with `EIO` (Linux ext4 semantics): the file's pending writes are marked
    /// clean without reaching the disk. Readers still see them until the next power cut,
    /// which loses them; the next fsync has nothing to write and succeeds. Returns how many
    /// operations were lost.
    pub fn fail_fsync(&mut self, ino: Ino) -> Result<usize, FsError> {
        self.inode(ino)?;
        Ok(self.take_file_ops(ino).len())
    }

    /// A clean shutdown: every pending operation becomes durable, in issue order.
    pub fn persist_everything(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for pending in pending {
            match pending.op.file_ino() {
                Some(ino) => {
                    self.used_bytes -= pending.op.held_bytes();
                    if let Some(inode) = self.inodes.get_mut(&ino) {
                        let before = inode.durable.len() as u64;
                        apply_file_op(&mut inode.durable, &pending.op);
                        let after = inode.durable.len() as u64;
                        self.used_bytes = self.used_bytes + after
                            - before.min(after)
                            - before.saturating_sub(after);
                    }
                }
                None => self.apply_durable_dir_op(&pending.op),
            }
        }
    }

    /// The durable state as plain data, the start of every crash state.
    pub(crate) fn durable_snapshot(&self) -> DurableSnapshot {
        DurableSnapshot {
            entries: self.durable.clone(),
            kinds: self
                .inodes
                .iter()
                .map(|(&ino, inode)| (ino, inode.kind))
                .collect(),
            contents: self
                .inodes
                .iter()
                .filter(|(_, inode)| inode.kind == NodeKind::File)
                .map(|(&ino, inode)| (ino, inode.durable.clone()))
                .collect(),
        }
    }

    /// The durable content of file `ino`.
    pub fn durable_content(&self, ino: Ino) -> Result<&[u8], FsError> {
        Ok(&self.file(ino)?.durable)
    }

    /// The durable entries of directory `dir` (name, inode, kind).
    pub fn durable_entries(&self, dir: Ino) -> Vec<(String, Ino, NodeKind)> {
        self.durable
            .get(&dir)
            .into_iter()
            .flatten()
            .filter_map(|(name, &ino)| Some((name.clone(), ino, self.inodes.get(&ino)?.kind)))
            .collect()
    }

    /// Panics if an invariant of the model is broken (for tests).
    pub fn check_invariants(&self) {
        let content: u64 = self
            .inodes
            .values()
            .map(|i| (i.live.len() + i.durable.len()) as u64)
            .sum();
        let pending: u64 = self.pending.iter().map(|p| p.op.held_bytes()).sum();
        assert_eq!(self.used_bytes, content + pending, "used_bytes out of step");
        for (label, entries, parent_of) in [
            (
                "live",
                &self.live,
                (|i: &super::Inode| i.live_parent.clone()) as fn(&super::Inode) -> _,
            ),
            ("durable", &self.durable, |i: &super::Inode| {
                i.durable_parent.clone()
            }),
        ] {
            for (&dir, children) in entries {
                for (name, ino) in children {
                    let inode = self
                        .inodes
                        .get(ino)
                        .unwrap_or_else(|| panic!("{label} entry {name:?} names a missing inode"));
                    assert_eq!(
                        parent_of(inode),
                        Some((dir, name.clone())),
                        "{label} parent of {ino}"
                    );
                }
            }
        }
        let seqs: Vec<u64> = self.pending.iter().map(|p| p.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "pending operations out of order"
        );
    }

    /// Drop every inode nothing can reach any more: no live name, no durable name, not
    /// open, not named by a pending directory operation, and (for a directory) no durable
    /// entries. Its pending writes can never reach a crash state, so they go too.
    pub(crate) fn collect_garbage(&mut self) {
        let named: HashSet<Ino> = self
            .pending
            .iter()
            .filter_map(|p| dir_op_keys(&p.op).1)
            .collect();
        let durable = &self.durable;
        let dead: HashSet<Ino> = self
            .inodes
            .iter()
            .filter(|(ino, inode)| {
                inode.live_parent.is_none()
                    && inode.durable_parent.is_none()
                    && inode.open_handles == 0
                    && **ino != ROOT_INO
                    && !named.contains(ino)
                    && durable.get(ino).is_none_or(|entries| entries.is_empty())
            })
            .map(|(ino, _)| *ino)
            .collect();
        if dead.is_empty() {
            return;
        }
        let mut freed = 0u64;
        self.pending.retain(|pending| match pending.op.file_ino() {
            Some(ino) if dead.contains(&ino) => {
                freed += pending.op.held_bytes();
                false
            }
            _ => true,
        });
        for ino in &dead {
            if let Some(inode) = self.inodes.remove(ino) {
                freed += (inode.live.len() + inode.durable.len()) as u64;
            }
            self.live.remove(ino);
            self.durable.remove(ino);
        }
        self.used_bytes -= freed;
    }

    fn take_file_ops(&mut self, ino: Ino) -> Vec<Op> {
        let mut ops = Vec::new();
        self.pending.retain(|pending| {
            if pending.op.file_ino() == Some(ino) {
                ops.push(pending.op.clone());
                false
            } else {
                true
            }
        });
        self.used_bytes -= ops.iter().map(Op::held_bytes).sum::<u64>();
        ops
    }

    fn apply_durable_dir_op(&mut self, op: &Op) {
        let (removed, added) = match op {
            Op::Link { dir, name, ino } => (None, Some((*dir, name.clone(), *ino))),
            Op::Unlink { dir, name } => (Some((*dir, name.clone())), None),
            Op::Rename {
                from_dir,
                from_name,
                to_dir,
                to_name,
                ino,
            } => (
                Some((*from_dir, from_name.clone())),
                Some((*to_dir, to_name.clone(), *ino)),
            ),
            Op::Write { .. } | Op::Truncate { .. } => return,
        };
        if let Some((dir, name)) = removed {
            let old = self.durable.entry(dir).or_default().remove(&name);
            self.clear_durable_parent(old, dir, &name);
        }
        if let Some((dir, name, ino)) = added {
            let old = self
                .durable
                .entry(dir)
                .or_default()
                .insert(name.clone(), ino);
            self.clear_durable_parent(old.filter(|&old| old != ino), dir, &name);
            if let Some(inode) = self.inodes.get_mut(&ino) {
                if let Some((old_dir, old_name)) = inode.durable_parent.replace((dir, name.clone()))
                {
                    let moved = (old_dir, old_name.as_str()) != (dir, name.as_str());
                    let names_it =
                        self.durable.get(&old_dir).and_then(|e| e.get(&old_name)) == Some(&ino);
                    if moved && names_it {
                        self.durable.entry(old_dir).or_default().remove(&old_name);
                    }
                }
            }
        }
    }

    fn clear_durable_parent(&mut self, ino: Option<Ino>, dir: Ino, name: &str) {
        let Some(inode) = ino.and_then(|ino| self.inodes.get_mut(&ino)) else {
            return;
        };
        if inode
            .durable_parent
            .as_ref()
            .is_some_and(|(d, n)| *d == dir && n == name)
        {
            inode.durable_parent = None;
        }
    }
}

/// The names an operation changes and the inode it points a name at.
fn dir_op_keys(op: &Op) -> (Vec<(Ino, String)>, Option<Ino>) {
    match op {
        Op::Link { dir, name, ino } => (vec![(*dir, name.clone())], Some(*ino)),
        Op::Unlink { dir, name } => (vec![(*dir, name.clone())], None),
        Op::Rename {
            from_dir,
            from_name,
            to_dir,
            to_name,
            ino,
        } => (
            vec![(*from_dir, from_name.clone()), (*to_dir, to_name.clone())],
            Some(*ino),
        ),
        Op::Write { .. } | Op::Truncate { .. } => (Vec::new(), None),
    }
}
