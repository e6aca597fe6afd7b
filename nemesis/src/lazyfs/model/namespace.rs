//! Namespace operations on the live view: create, remove, rename. Each appends the
//! directory operation that a directory fsync later makes durable.

use super::DiskModel;
use crate::lazyfs::image::MAX_DEPTH;
use crate::lazyfs::ops::{Ino, NodeKind, Op, ROOT_INO};
use crate::lazyfs::FsError;

impl DiskModel {
    /// Create a file or directory `name` in `dir`; `EEXIST` if the name is taken.
    pub fn create(
        &mut self,
        dir: Ino,
        name: &str,
        kind: NodeKind,
        perm: u16,
    ) -> Result<Ino, FsError> {
        check_name(name)?;
        if self.live_dir(dir)?.contains_key(name) {
            return Err(FsError::Exists);
        }
        let ino = self.insert_inode(dir, name, kind, perm);
        self.touch(dir);
        self.push(Op::Link {
            dir,
            name: name.to_owned(),
            ino,
        });
        Ok(ino)
    }

    /// Remove `name` from `dir` (`unlink` for files, `rmdir` for directories).
    pub fn remove(&mut self, dir: Ino, name: &str, kind: NodeKind) -> Result<(), FsError> {
        let ino = self.lookup(dir, name)?;
        match (self.inode(ino)?.kind, kind) {
            (NodeKind::Dir, NodeKind::File) => return Err(FsError::IsDir),
            (NodeKind::File, NodeKind::Dir) => return Err(FsError::NotDir),
            (NodeKind::Dir, NodeKind::Dir) if !self.live_dir(ino)?.is_empty() => {
                return Err(FsError::NotEmpty)
            }
            _ => {}
        }
        self.live.entry(dir).or_default().remove(name);
        self.inode_mut(ino)?.live_parent = None;
        self.touch(dir);
        self.push(Op::Unlink {
            dir,
            name: name.to_owned(),
        });
        self.forget_if_unreachable(ino);
        Ok(())
    }

    /// Move `from_dir/from_name` to `to_dir/to_name`, replacing a file or an empty directory
    /// there unless `no_replace`.
    pub fn rename(
        &mut self,
        from_dir: Ino,
        from_name: &str,
        to_dir: Ino,
        to_name: &str,
        no_replace: bool,
    ) -> Result<(), FsError> {
        check_name(to_name)?;
        let ino = self.lookup(from_dir, from_name)?;
        self.live_dir(to_dir)?;
        if from_dir == to_dir && from_name == to_name {
            return Ok(());
        }
        let kind = self.inode(ino)?.kind;
        if let Ok(target) = self.lookup(to_dir, to_name) {
            match (no_replace, kind, self.inode(target)?.kind) {
                (true, _, _) => return Err(FsError::Exists),
                (_, NodeKind::File, NodeKind::Dir) => return Err(FsError::IsDir),
                (_, NodeKind::Dir, NodeKind::File) => return Err(FsError::NotDir),
                (_, NodeKind::Dir, NodeKind::Dir) if !self.live_dir(target)?.is_empty() => {
                    return Err(FsError::NotEmpty)
                }
                _ => {}
            }
            self.inode_mut(target)?.live_parent = None;
            self.forget_if_unreachable(target);
        }
        if kind == NodeKind::Dir && self.is_within(to_dir, ino) {
            return Err(FsError::Invalid);
        }
        self.live.entry(from_dir).or_default().remove(from_name);
        self.live
            .entry(to_dir)
            .or_default()
            .insert(to_name.to_owned(), ino);
        self.inode_mut(ino)?.live_parent = Some((to_dir, to_name.to_owned()));
        self.touch(from_dir);
        self.touch(to_dir);
        let (from_name, to_name) = (from_name.to_owned(), to_name.to_owned());
        self.push(Op::Rename {
            from_dir,
            from_name,
            to_dir,
            to_name,
            ino,
        });
        Ok(())
    }

    fn is_within(&self, mut dir: Ino, ancestor: Ino) -> bool {
        for _ in 0..=MAX_DEPTH {
            if dir == ancestor {
                return true;
            }
            if dir == ROOT_INO {
                return false;
            }
            dir = self.parent(dir);
        }
        true
    }

    /// Every live path (`""` for the root) with its inode, parents first.
    pub fn live_inodes(&self) -> Vec<(String, Ino)> {
        let mut out = Vec::new();
        self.collect_inodes(ROOT_INO, "", 0, &mut out);
        out
    }

    fn collect_inodes(&self, dir: Ino, prefix: &str, depth: usize, out: &mut Vec<(String, Ino)>) {
        out.push((prefix.to_owned(), dir));
        for (name, ino, kind) in self.list(dir).unwrap_or_default() {
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match kind {
                NodeKind::Dir if depth < MAX_DEPTH => {
                    self.collect_inodes(ino, &path, depth + 1, out)
                }
                _ => out.push((path, ino)),
            }
        }
    }
}

fn check_name(name: &str) -> Result<(), FsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(FsError::Invalid);
    }
    Ok(())
}
