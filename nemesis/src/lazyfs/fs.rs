//! The FUSE side: [`FuseAdapter`] turns kernel requests into [`FsState`] calls under one
//! lock and replies. It never panics: every failure is an errno. Data is served with direct
//! I/O and zero attribute and entry timeouts, so the kernel caches nothing the model holds.

use std::ffi::OsStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use super::hold::{FsyncHold, HoldPoint, HoldRelease};
use super::model::NodeAttr;
use super::ops::NodeKind;
use super::state::FsState;
use super::FsError;

/// Attribute and entry time-to-live: zero, so every lookup reaches the model.
const TTL: Duration = Duration::ZERO;

/// The shared state of a mount, reachable from the FUSE threads and the library handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<FsState>,
    /// The fsync hold (outside the state's lock: a held fsync blocks nothing else).
    pub(crate) hold: FsyncHold,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, FsState> {
        // A panic while holding the lock cannot leave the model half-updated in a way that
        // matters more than refusing service would; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `fuser::Filesystem` implementation.
#[derive(Debug)]
pub(crate) struct FuseAdapter {
    pub(crate) shared: Arc<Shared>,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

fn errno(error: &FsError) -> Errno {
    Errno::from_i32(error.errno())
}

fn name_str(name: &OsStr) -> Result<&str, FsError> {
    name.to_str().ok_or(FsError::Invalid)
}

impl FuseAdapter {
    fn file_attr(&self, attr: &NodeAttr) -> FileAttr {
        let (kind, nlink) = match attr.kind {
            NodeKind::File => (FileType::RegularFile, 1),
            NodeKind::Dir => (FileType::Directory, 2),
        };
        FileAttr {
            ino: INodeNo(attr.ino),
            size: attr.size,
            blocks: attr.size.div_ceil(512),
            atime: attr.mtime,
            mtime: attr.mtime,
            ctime: attr.mtime,
            crtime: attr.mtime,
            kind,
            perm: attr.perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn entry(&self, result: Result<NodeAttr, FsError>, reply: ReplyEntry) {
        match result {
            Ok(attr) => reply.entry(&TTL, &self.file_attr(&attr), Generation(0)),
            Err(error) => reply.error(errno(&error)),
        }
    }

    /// An fsync (of a file or a directory) by `caller_pid`, held first if the hold is armed
    /// for its path.
    fn sync(&self, caller_pid: u32, ino: u64, reply: ReplyEmpty) {
        let held = self.shared.hold.hold(
            HoldPoint::Fsync,
            caller_pid,
            || {
                let state = self.shared.lock();
                let pending_bytes = state
                    .model
                    .pending()
                    .iter()
                    .filter(|pending| pending.op.file_ino() == Some(ino))
                    .map(|pending| pending.op.held_bytes())
                    .sum();
                (state.path_of(ino), pending_bytes)
            },
            || {},
        );
        if held == Some(HoldRelease::Fail) {
            reply.error(errno(&FsError::Io));
            return;
        }
        Self::empty(self.shared.lock().fsync(ino), reply);
    }

    fn empty(result: Result<(), FsError>, reply: ReplyEmpty) {
        match result {
            Ok(()) => reply.ok(),
            Err(error) => reply.error(errno(&error)),
        }
    }
}

impl Filesystem for FuseAdapter {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let result = name_str(name).and_then(|name| self.shared.lock().lookup(parent.0, name));
        self.entry(result, reply);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.shared.lock().model.attr(ino.0) {
            Ok(attr) => reply.attr(&TTL, &self.file_attr(&attr)),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mtime = mtime.map(|time| match time {
            TimeOrNow::SpecificTime(time) => time,
            TimeOrNow::Now => SystemTime::now(),
        });
        let perm = mode.map(|mode| (mode & 0o7777) as u16);
        match self.shared.lock().setattr(ino.0, perm, size, mtime) {
            Ok(attr) => reply.attr(&TTL, &self.file_attr(&attr)),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        let result = name_str(name).and_then(|name| {
            self.shared
                .lock()
                .create(parent.0, name, NodeKind::Dir, perm)
        });
        self.entry(result, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = name_str(name)
            .and_then(|name| self.shared.lock().remove(parent.0, name, NodeKind::File));
        Self::empty(result, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let result = name_str(name)
            .and_then(|name| self.shared.lock().remove(parent.0, name, NodeKind::Dir));
        Self::empty(result, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            return reply.error(Errno::EINVAL);
        }
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        let result = name_str(name).and_then(|from| {
            let to = name_str(newname)?;
            self.shared
                .lock()
                .rename((parent.0, from), (newparent.0, to), no_replace)
        });
        Self::empty(result, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.shared.lock().model.open(ino.0) {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.shared.lock().read(ino.0, offset, size as usize) {
            Ok(data) => reply.data(&data),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn write(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        // A held write may be answered before its data reaches the file (the caller was
        // stopped just before its write landed); the data then lands at the release.
        let mut reply = Some(reply);
        let held = self.shared.hold.hold(
            HoldPoint::Write,
            req.pid(),
            || {
                // Only an append is held (a write at the file's end): a rewrite of bytes a file
                // already holds would land over whatever others wrote there meanwhile.
                let state = self.shared.lock();
                let size = state.model.attr(ino.0).map_or(u64::MAX, |attr| attr.size);
                let offset = if offset == size { offset } else { 0 };
                (state.path_of(ino.0), offset)
            },
            || {
                if let Some(reply) = reply.take() {
                    reply.written(data.len() as u32);
                }
            },
        );
        if held == Some(HoldRelease::Fail) {
            if let Some(reply) = reply {
                reply.error(errno(&FsError::Io));
            }
            return;
        }
        // O_SYNC / O_DSYNC: each write is durable before it returns, as if fsynced.
        let synchronous = flags.0 & libc::O_DSYNC != 0;
        let result = {
            let mut state = self.shared.lock();
            let written = state.write_admitted(ino.0, offset, data, reply.is_none());
            written.and_then(|()| {
                if synchronous {
                    state.fsync(ino.0)
                } else {
                    Ok(())
                }
            })
        };
        match (result, reply) {
            (Ok(()), Some(reply)) => reply.written(data.len() as u32),
            (Err(error), Some(reply)) => reply.error(errno(&error)),
            (_, None) => {} // answered early; a failure now is a write lost in flight
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.shared.lock().model.release(ino.0);
        reply.ok();
    }

    fn fsync(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(req.pid(), ino.0, reply);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let state = self.shared.lock();
        let entries = match state.model.list(ino.0) {
            Ok(entries) => entries,
            Err(error) => return reply.error(errno(&error)),
        };
        let parent = state.model.parent(ino.0);
        drop(state);
        let dots = [
            (".".to_owned(), ino.0, NodeKind::Dir),
            ("..".to_owned(), parent, NodeKind::Dir),
        ];
        let all = dots.into_iter().chain(entries);
        for (index, (name, child, kind)) in all.enumerate().skip(offset as usize) {
            let kind = match kind {
                NodeKind::File => FileType::RegularFile,
                NodeKind::Dir => FileType::Directory,
            };
            if reply.add(INodeNo(child), index as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.sync(req.pid(), ino.0, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let (used, limit) = self.shared.lock().model.used_bytes();
        let blocks = limit / 4096;
        let free = limit.saturating_sub(used) / 4096;
        reply.statfs(blocks, free, free, 1 << 20, 1 << 20, 4096, 255, 4096);
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        let held = self.shared.hold.hold(
            HoldPoint::Create,
            req.pid(),
            || {
                let parent_path = self.shared.lock().path_of(parent.0);
                let name = name.to_string_lossy();
                let path = if parent_path.is_empty() {
                    name.into_owned()
                } else {
                    format!("{parent_path}/{name}")
                };
                (path, 0)
            },
            || {},
        );
        if held == Some(HoldRelease::Fail) {
            return reply.error(errno(&FsError::Io));
        }
        let result = name_str(name).and_then(|name| {
            let mut state = self.shared.lock();
            let attr = match state.create(parent.0, name, NodeKind::File, perm) {
                Err(FsError::Exists) if flags & libc::O_EXCL == 0 => {
                    state.lookup(parent.0, name)?
                }
                other => other?,
            };
            if attr.kind == NodeKind::Dir {
                return Err(FsError::IsDir);
            }
            state.model.open(attr.ino)?;
            Ok(attr)
        });
        match result {
            Ok(attr) => reply.created(
                &TTL,
                &self.file_attr(&attr),
                Generation(0),
                FileHandle(0),
                FopenFlags::FOPEN_DIRECT_IO,
            ),
            Err(error) => reply.error(errno(&error)),
        }
    }
}
