//! [`DiskModel`]: the durable image plus what is pending, as plain data (no FUSE).
//!
//! Every inode has a *live* content (what readers see) and a *durable* content (what the
//! disk holds). There are two namespaces, live and durable. A mutation changes the live
//! side at once and appends a [`PendingOp`]; `fsync` of a file moves its pending writes and
//! truncates to its durable content, `fsync` of a directory moves its pending creates,
//! renames and unlinks to the durable namespace (see `sync.rs`). A power cut keeps any
//! subset of the pending operations (see `crash.rs`).
//!
//! Invariants (checked by [`DiskModel::check_invariants`]): `used_bytes` is the sum of live
//! and durable contents and pending write data; every entry of either namespace names an
//! existing inode; an inode's `live_parent` / `durable_parent` is the entry naming it.

mod sync;

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::image::{DiskImage, ImageNode, MAX_DEPTH};
use super::ops::{write_at, Entries, Ino, NodeKind, Op, PendingOp, ROOT_INO};
use super::FsError;

/// Largest file offset the model accepts (1 TiB); beyond it writes fail with `EINVAL`.
pub const MAX_FILE_BYTES: u64 = 1 << 40;

/// What `stat` shows of an inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAttr {
    /// Inode number.
    pub ino: Ino,
    /// File or directory.
    pub kind: NodeKind,
    /// Live length in bytes (0 for directories).
    pub size: u64,
    /// Permission bits.
    pub perm: u16,
    /// Last modification.
    pub mtime: SystemTime,
}

#[derive(Debug, Clone)]
struct Inode {
    kind: NodeKind,
    live: Vec<u8>,
    durable: Vec<u8>,
    perm: u16,
    mtime: SystemTime,
    live_parent: Option<(Ino, String)>,
    durable_parent: Option<(Ino, String)>,
    open_handles: u32,
}

impl Inode {
    fn new(kind: NodeKind, perm: u16) -> Self {
        Self {
            kind,
            live: Vec::new(),
            durable: Vec::new(),
            perm,
            mtime: SystemTime::now(),
            live_parent: None,
            durable_parent: None,
            open_handles: 0,
        }
    }
}

/// The lazy disk: durable image, live view and the pending operations between them.
#[derive(Debug, Clone)]
pub struct DiskModel {
    inodes: HashMap<Ino, Inode>,
    live: Entries,
    durable: Entries,
    pending: Vec<PendingOp>,
    next_ino: Ino,
    next_seq: u64,
    used_bytes: u64,
    limit_bytes: u64,
}

impl DiskModel {
    /// An empty disk holding at most `limit_bytes` in memory.
    pub fn new(limit_bytes: u64) -> Self {
        Self::from_image(&DiskImage::default(), limit_bytes, ROOT_INO + 1)
            .expect("an empty image fits any bound")
    }

    /// A disk whose durable and live state are `image`, with inode numbers from `first_ino`
    /// on (a power cut passes the next unused number so that none is reused).
    pub fn from_image(
        image: &DiskImage,
        limit_bytes: u64,
        first_ino: Ino,
    ) -> Result<Self, FsError> {
        let mut model = Self {
            inodes: HashMap::from([(ROOT_INO, Inode::new(NodeKind::Dir, 0o755))]),
            live: HashMap::from([(ROOT_INO, BTreeMap::new())]),
            durable: HashMap::from([(ROOT_INO, BTreeMap::new())]),
            pending: Vec::new(),
            next_ino: first_ino.max(ROOT_INO + 1),
            next_seq: 0,
            used_bytes: 0,
            limit_bytes,
        };
        let mut by_path: HashMap<&str, Ino> = HashMap::new();
        for (path, node) in &image.nodes {
            let (parent, name) = match path.rsplit_once('/') {
                Some((parent, name)) => (*by_path.get(parent).ok_or(FsError::NotFound)?, name),
                None => (ROOT_INO, path.as_str()),
            };
            let (kind, perm) = match node {
                ImageNode::Dir => (NodeKind::Dir, 0o755),
                ImageNode::File(_) => (NodeKind::File, 0o644),
            };
            let ino = model.insert_inode(parent, name, kind, perm);
            if let ImageNode::File(content) = node {
                model.check_room(2 * content.len() as u64)?;
                model.used_bytes += 2 * content.len() as u64;
                let inode = model.inodes.get_mut(&ino).ok_or(FsError::NotFound)?;
                inode.live = content.clone();
                inode.durable = content.clone();
            }
            model
                .durable
                .entry(parent)
                .or_default()
                .insert(name.to_owned(), ino);
            if let Some(inode) = model.inodes.get_mut(&ino) {
                inode.durable_parent = Some((parent, name.to_owned()));
            }
            by_path.insert(path, ino);
        }
        Ok(model)
    }

    /// Find `name` in directory `dir` (live view).
    pub fn lookup(&self, dir: Ino, name: &str) -> Result<Ino, FsError> {
        self.live_dir(dir)?
            .get(name)
            .copied()
            .ok_or(FsError::NotFound)
    }

    /// The attributes of `ino` (live view).
    pub fn attr(&self, ino: Ino) -> Result<NodeAttr, FsError> {
        let inode = self.inode(ino)?;
        Ok(NodeAttr {
            ino,
            kind: inode.kind,
            size: inode.live.len() as u64,
            perm: inode.perm,
            mtime: inode.mtime,
        })
    }

    /// The live entries of directory `dir`, sorted by name.
    pub fn list(&self, dir: Ino) -> Result<Vec<(String, Ino, NodeKind)>, FsError> {
        let entries = self.live_dir(dir)?;
        Ok(entries
            .iter()
            .filter_map(|(name, &ino)| Some((name.clone(), ino, self.inodes.get(&ino)?.kind)))
            .collect())
    }

    /// The live parent of `ino` (the root is its own parent; an unlinked inode answers root).
    pub fn parent(&self, ino: Ino) -> Ino {
        self.inodes
            .get(&ino)
            .and_then(|inode| inode.live_parent.as_ref())
            .map_or(ROOT_INO, |(parent, _)| *parent)
    }

    /// The live path of `ino` relative to the root (`""` for the root), if it has a name.
    pub fn path(&self, ino: Ino) -> Option<String> {
        self.path_by(ino, |inode| inode.live_parent.as_ref())
    }

    /// The durable path of `ino`, if the durable namespace names it from the root.
    pub fn durable_path(&self, ino: Ino) -> Option<String> {
        self.path_by(ino, |inode| inode.durable_parent.as_ref())
    }

    /// Read up to `size` live bytes at `offset`.
    pub fn read(&self, ino: Ino, offset: u64, size: usize) -> Result<&[u8], FsError> {
        let inode = self.file(ino)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(inode.live.len());
        let end = start.saturating_add(size).min(inode.live.len());
        Ok(&inode.live[start..end])
    }

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

    /// Drop an open handle; an unlinked, closed file's live content is freed.
    pub fn release(&mut self, ino: Ino) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.open_handles = inode.open_handles.saturating_sub(1);
        }
        self.forget_if_unreachable(ino);
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

    /// The operations not yet durable, in issue order.
    pub fn pending(&self) -> &[PendingOp] {
        &self.pending
    }

    /// Bytes held in memory, and the bound.
    pub fn used_bytes(&self) -> (u64, u64) {
        (self.used_bytes, self.limit_bytes)
    }

    /// The next inode number this model would hand out.
    pub fn next_ino(&self) -> Ino {
        self.next_ino
    }

    /// What readers see now.
    pub fn live_image(&self) -> DiskImage {
        let kinds = self
            .inodes
            .iter()
            .map(|(&ino, inode)| (ino, inode.kind))
            .collect();
        DiskImage::from_namespace(&self.live, &kinds, |ino| self.inodes[&ino].live.clone())
    }

    /// What the disk holds now (what survives a cut that loses every pending operation).
    pub fn durable_image(&self) -> DiskImage {
        let kinds = self
            .inodes
            .iter()
            .map(|(&ino, inode)| (ino, inode.kind))
            .collect();
        DiskImage::from_namespace(&self.durable, &kinds, |ino| {
            self.inodes[&ino].durable.clone()
        })
    }

    fn insert_inode(&mut self, dir: Ino, name: &str, kind: NodeKind, perm: u16) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        let mut inode = Inode::new(kind, perm & 0o7777);
        inode.live_parent = Some((dir, name.to_owned()));
        self.inodes.insert(ino, inode);
        self.live
            .entry(dir)
            .or_default()
            .insert(name.to_owned(), ino);
        if kind == NodeKind::Dir {
            self.live.insert(ino, BTreeMap::new());
            self.durable.insert(ino, BTreeMap::new());
        }
        ino
    }

    fn push(&mut self, op: Op) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push(PendingOp { seq, op });
    }

    fn check_room(&self, extra: u64) -> Result<(), FsError> {
        if self.used_bytes.saturating_add(extra) > self.limit_bytes {
            return Err(FsError::CacheFull {
                used_bytes: self.used_bytes,
                limit_bytes: self.limit_bytes,
            });
        }
        Ok(())
    }

    fn touch(&mut self, ino: Ino) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.mtime = SystemTime::now();
        }
    }

    /// Free the live content of a file nobody can reach any more (no name, not open).
    fn forget_if_unreachable(&mut self, ino: Ino) {
        let Some(inode) = self.inodes.get_mut(&ino) else {
            return;
        };
        if inode.live_parent.is_none() && inode.open_handles == 0 && !inode.live.is_empty() {
            self.used_bytes -= inode.live.len() as u64;
            inode.live = Vec::new();
        }
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

    fn path_by(
        &self,
        ino: Ino,
        parent_of: impl Fn(&Inode) -> Option<&(Ino, String)>,
    ) -> Option<String> {
        let mut names = Vec::new();
        let mut current = ino;
        for _ in 0..=MAX_DEPTH {
            if current == ROOT_INO {
                names.reverse();
                return Some(names.join("/"));
            }
            let (parent, name) = parent_of(self.inodes.get(&current)?)?;
            names.push(name.as_str());
            current = *parent;
        }
        None
    }

    fn inode(&self, ino: Ino) -> Result<&Inode, FsError> {
        self.inodes.get(&ino).ok_or(FsError::Stale)
    }

    fn inode_mut(&mut self, ino: Ino) -> Result<&mut Inode, FsError> {
        self.inodes.get_mut(&ino).ok_or(FsError::Stale)
    }

    fn file(&self, ino: Ino) -> Result<&Inode, FsError> {
        let inode = self.inode(ino)?;
        match inode.kind {
            NodeKind::File => Ok(inode),
            NodeKind::Dir => Err(FsError::IsDir),
        }
    }

    fn file_mut(&mut self, ino: Ino) -> Result<&mut Inode, FsError> {
        self.file(ino)?;
        self.inode_mut(ino)
    }

    fn live_dir(&self, dir: Ino) -> Result<&BTreeMap<String, Ino>, FsError> {
        match self.inode(dir)?.kind {
            NodeKind::Dir => self.live.get(&dir).ok_or(FsError::Stale),
            NodeKind::File => Err(FsError::NotDir),
        }
    }
}

fn check_name(name: &str) -> Result<(), FsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(FsError::Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
