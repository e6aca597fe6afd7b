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

mod damage;
mod data;
mod namespace;
mod sync;

pub use damage::DurableFile;

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::image::{DiskImage, ImageNode, MAX_DEPTH};
use super::ops::{Entries, Ino, NodeKind, Op, PendingOp, ROOT_INO};
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
        DiskImage::from_namespace(&self.live, &kinds, |ino| {
            self.inodes
                .get(&ino)
                .map(|i| i.live.clone())
                .unwrap_or_default()
        })
    }

    /// What the disk holds now (what survives a cut that loses every pending operation).
    pub fn durable_image(&self) -> DiskImage {
        let kinds = self
            .inodes
            .iter()
            .map(|(&ino, inode)| (ino, inode.kind))
            .collect();
        DiskImage::from_namespace(&self.durable, &kinds, |ino| {
            self.inodes
                .get(&ino)
                .map(|i| i.durable.clone())
                .unwrap_or_default()
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

#[cfg(test)]
mod tests;
