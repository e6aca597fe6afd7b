//! [`FsState`]: everything one mount serves from, behind one lock: the disk model, the armed
//! faults, the fault log, the trace. Each method is one filesystem operation with its faults
//! applied, traced, and mirrored into the backing directory when it makes something durable.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rand::Rng;

use super::backing::{mirror_dir_ops, mirror_file_ops};
use super::crash::{random_crash, CrashReport};
use super::damage::DamageMap;
use super::faults::{Fault, FaultKind, FaultLog, FaultSet};
use super::image::DiskImage;
use super::model::{DiskModel, NodeAttr};
use super::ops::{Ino, NodeKind, ROOT_INO};
use super::options::ensure_outside;
use super::trace::{to_hex, TraceEvent, TraceRecorder};
use super::{CrashPolicy, FsError, LazyFsError, LazyFsOptions};

/// The state of one mount.
#[derive(Debug)]
pub(crate) struct FsState {
    pub(crate) model: DiskModel,
    pub(crate) faults: FaultSet,
    pub(crate) log: FaultLog,
    /// Damage placed at rest that is still there.
    pub(crate) damage: DamageMap,
    trace: Option<TraceRecorder>,
    pub(crate) backing: PathBuf,
    policy: CrashPolicy,
    limit_bytes: u64,
    seed: u64,
    power_cuts: u64,
    pub(crate) sync_backing: bool,
    /// Canonical mount point and backing directory (log files must lie outside them).
    roots: Vec<PathBuf>,
}

impl FsState {
    /// Load the backing directory as the durable (and live) state.
    pub(crate) fn open(options: &LazyFsOptions) -> Result<Self, LazyFsError> {
        let canonical = |dir: &PathBuf| {
            dir.canonicalize().map_err(|source| LazyFsError::Backing {
                path: dir.clone(),
                source,
            })
        };
        let roots = vec![
            canonical(&options.mount_point)?,
            canonical(&options.backing_dir)?,
        ];
        if let Some(path) = &options.fault_log {
            ensure_outside(path, &roots)?;
        }
        let image = DiskImage::load(&options.backing_dir)?;
        let model = DiskModel::from_image(&image, options.cache_limit_bytes, ROOT_INO + 1)
            .map_err(|source| LazyFsError::Operation {
                operation: format!("loading {}", options.backing_dir.display()),
                source,
            })?;
        let mut state = Self {
            model,
            faults: FaultSet::new(options.fault_seed),
            log: FaultLog::open(options.fault_log.as_deref())?,
            damage: DamageMap::default(),
            trace: None,
            backing: options.backing_dir.clone(),
            policy: options.crash_policy.clone(),
            limit_bytes: options.cache_limit_bytes,
            seed: options.fault_seed,
            power_cuts: 0,
            sync_backing: options.sync_backing,
            roots,
        };
        if let Some(path) = &options.trace_file {
            state.start_trace(path)?;
        }
        Ok(state)
    }

    pub(crate) fn lookup(&self, parent: Ino, name: &str) -> Result<NodeAttr, FsError> {
        self.model.attr(self.model.lookup(parent, name)?)
    }

    pub(crate) fn create(
        &mut self,
        parent: Ino,
        name: &str,
        kind: NodeKind,
        perm: u16,
    ) -> Result<NodeAttr, FsError> {
        let path = self.child_path(parent, name);
        if self.faults.fire(FaultKind::WriteEnospc, &path) {
            self.log.record(
                FaultKind::WriteEnospc.name(),
                Some(&path),
                "create refused".into(),
            );
            return Err(FsError::NoSpace);
        }
        let ino = self.model.create(parent, name, kind, perm)?;
        if !self.damage.is_empty() {
            self.damage.forget(&path);
        }
        self.record(TraceEvent::Create {
            parent,
            name: name.to_owned(),
            ino,
            kind,
        });
        self.model.attr(ino)
    }

    pub(crate) fn read(&mut self, ino: Ino, offset: u64, size: usize) -> Result<Vec<u8>, FsError> {
        let mut data = self.model.read(ino, offset, size)?.to_vec();
        if data.is_empty() {
            return Ok(data);
        }
        self.note_damage_read(ino, offset, data.len() as u64);
        if let Some(path) = self.fires(FaultKind::ReadBitflip, ino) {
            let index = self.faults.rng.random_range(0..data.len());
            let bit = self.faults.rng.random_range(0..8u8);
            data[index] ^= 1 << bit;
            let at = offset + index as u64;
            self.log.record(
                FaultKind::ReadBitflip.name(),
                Some(&path),
                format!("bit {bit} of byte {at} (sector {})", at / 512),
            );
        }
        Ok(data)
    }

    /// A write; `admitted`: its caller was already told it succeeded (a held write answered
    /// early), so an injected `ENOSPC` no longer refuses it (its space was taken when it was
    /// issued); a misdirection, which its caller is never told of, still applies.
    pub(crate) fn write_admitted(
        &mut self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        admitted: bool,
    ) -> Result<(), FsError> {
        let refused = if admitted {
            None
        } else {
            self.fires(FaultKind::WriteEnospc, ino)
        };
        if let Some(path) = refused {
            self.log.record(
                FaultKind::WriteEnospc.name(),
                Some(&path),
                format!("write of {} bytes at {offset} refused", data.len()),
            );
            return Err(FsError::NoSpace);
        }
        if !self.damage.is_empty() {
            let path = self.path_of(ino);
            self.damage
                .written(&path, offset, offset + data.len() as u64);
        }
        let mut misdirect_to = None;
        if let Some(path) = self.fires(FaultKind::MisdirectedWrite, ino) {
            let shift = 512 * self.faults.rng.random_range(1..=8u64);
            let target = if offset >= shift && self.faults.rng.random_bool(0.5) {
                offset - shift
            } else {
                offset + shift
            };
            misdirect_to = Some(target);
            self.log.record(
                FaultKind::MisdirectedWrite.name(),
                Some(&path),
                format!("{} bytes for offset {offset} land at {target}", data.len()),
            );
        }
        if let Err(error) = self.model.write(ino, offset, data, misdirect_to) {
            if matches!(error, FsError::CacheFull { .. }) {
                let path = self.path_of(ino);
                self.log
                    .record("cache-full", Some(&path), error.to_string());
            }
            return Err(error);
        }
        self.record(TraceEvent::Write {
            ino,
            offset,
            data_hex: self
                .trace
                .as_ref()
                .map(|_| to_hex(data))
                .unwrap_or_default(),
        });
        Ok(())
    }

    pub(crate) fn setattr(
        &mut self,
        ino: Ino,
        perm: Option<u16>,
        size: Option<u64>,
        mtime: Option<SystemTime>,
    ) -> Result<NodeAttr, FsError> {
        if let Some(len) = size {
            self.model.truncate(ino, len)?;
            if !self.damage.is_empty() {
                let path = self.path_of(ino);
                self.damage.truncated(&path, len);
            }
            self.record(TraceEvent::Truncate { ino, len });
        }
        if let Some(perm) = perm {
            self.model.set_perm(ino, perm)?;
        }
        if let Some(mtime) = mtime {
            self.model.set_mtime(ino, mtime)?;
        }
        self.model.attr(ino)
    }

    pub(crate) fn remove(
        &mut self,
        parent: Ino,
        name: &str,
        kind: NodeKind,
    ) -> Result<(), FsError> {
        if !self.damage.is_empty() {
            let path = self.child_path(parent, name);
            self.damage.forget(&path);
        }
        self.model.remove(parent, name, kind)?;
        self.record(TraceEvent::Remove {
            parent,
            name: name.to_owned(),
            kind,
        });
        Ok(())
    }

    pub(crate) fn rename(
        &mut self,
        from: (Ino, &str),
        to: (Ino, &str),
        no_replace: bool,
    ) -> Result<(), FsError> {
        self.model.rename(from.0, from.1, to.0, to.1, no_replace)?;
        if !self.damage.is_empty() {
            let (from_path, to_path) =
                (self.child_path(from.0, from.1), self.child_path(to.0, to.1));
            self.damage.renamed(&from_path, &to_path);
        }
        let (from_name, to_name) = (from.1.to_owned(), to.1.to_owned());
        self.record(TraceEvent::Rename {
            from_parent: from.0,
            from_name,
            to_parent: to.0,
            to_name,
        });
        Ok(())
    }

    /// fsync of a file or directory: the injected EIO, else durable and mirrored.
    pub(crate) fn fsync(&mut self, ino: Ino) -> Result<(), FsError> {
        let kind = self.model.attr(ino)?.kind;
        let eio = match kind {
            NodeKind::File => self.fires(FaultKind::FsyncEio, ino),
            NodeKind::Dir => None,
        };
        if let Some(path) = eio {
            let lost = self.model.fail_fsync(ino)?;
            self.log.record(
                FaultKind::FsyncEio.name(),
                Some(&path),
                format!("{lost} pending operations marked clean and lost"),
            );
            self.record(TraceEvent::FsyncFailed { ino });
            return Err(FsError::Io);
        }
        let ops = self.model.fsync(ino)?;
        let mirrored = match kind {
            NodeKind::File => {
                mirror_file_ops(&self.backing, &self.model, ino, &ops, self.sync_backing)
            }
            NodeKind::Dir => mirror_dir_ops(&self.backing, &self.model, &ops, self.sync_backing),
        };
        if let Err(error) = mirrored {
            let path = self.path_of(ino);
            self.log
                .record("backing-error", Some(&path), error.to_string());
            return Err(FsError::Io);
        }
        self.record(TraceEvent::Fsync { ino });
        Ok(())
    }

    /// Cut the power: draw a crash state from `seed`, make it the backing directory's
    /// content and the new state (fresh inode numbers), drop every cached byte.
    pub(crate) fn power_cut(&mut self, seed: u64) -> Result<CrashReport, LazyFsError> {
        let (image, report) = random_crash(&self.model, &self.policy, seed);
        let detail = serde_json::to_string(&report).unwrap_or_default();
        self.install(&image, &format!("seed {seed}"), detail)?;
        Ok(report)
    }

    /// Cut the power into a given crash state (e.g. one from `enumerate_crash_states`).
    pub(crate) fn power_cut_to(
        &mut self,
        image: &DiskImage,
        description: &str,
    ) -> Result<(), LazyFsError> {
        self.install(image, "a chosen crash state", description.to_owned())
    }

    pub(crate) fn set_crash_policy(&mut self, policy: CrashPolicy) {
        self.policy = policy;
    }

    fn install(
        &mut self,
        image: &DiskImage,
        label: &str,
        detail: String,
    ) -> Result<(), LazyFsError> {
        self.power_cuts += 1;
        image.store(&self.backing)?;
        self.model = DiskModel::from_image(image, self.limit_bytes, self.model.next_ino())
            .map_err(|source| LazyFsError::Operation {
                operation: "reloading after the power cut".into(),
                source,
            })?;
        self.log.record("power-cut", None, detail);
        if self.trace.is_some() {
            self.record(TraceEvent::Mark {
                label: format!("power cut into {label}; trace stopped"),
            });
            self.trace = None;
        }
        Ok(())
    }

    /// The seed of a power cut given none: the mount's seed plus the number of earlier cuts.
    pub(crate) fn next_cut_seed(&self) -> u64 {
        self.seed.wrapping_add(self.power_cuts)
    }

    /// A clean shutdown: every pending operation becomes durable and reaches the backing dir.
    pub(crate) fn shutdown(&mut self) -> Result<(), LazyFsError> {
        self.model.persist_everything();
        self.model.durable_image().store(&self.backing)
    }

    pub(crate) fn inject(&mut self, fault: Fault) {
        let detail = format!(
            "{} on {} ({:?} firings)",
            fault.kind.name(),
            fault.pattern.as_str(),
            fault.remaining
        );
        self.faults.inject(fault);
        self.log.record("inject", None, detail);
    }

    pub(crate) fn heal(&mut self) {
        self.faults.heal();
        self.log.record("heal", None, String::new());
    }

    pub(crate) fn start_trace(&mut self, path: &Path) -> Result<(), LazyFsError> {
        ensure_outside(path, &self.roots)?;
        let mut recorder = TraceRecorder::create(path)?;
        let inodes = self.model.live_inodes();
        recorder.record(&TraceEvent::Start {
            inodes,
            pending_ops: self.model.pending().len(),
        })?;
        self.trace = Some(recorder);
        Ok(())
    }

    pub(crate) fn stop_trace(&mut self) -> Option<PathBuf> {
        self.trace
            .take()
            .map(|recorder| recorder.path().to_path_buf())
    }

    pub(crate) fn mark(&mut self, label: &str) {
        self.record(TraceEvent::Mark {
            label: label.to_owned(),
        });
    }

    /// Live path relative to the mount point (`<unlinked>` for a file with no name).
    pub(crate) fn path_of(&self, ino: Ino) -> String {
        self.model
            .path(ino)
            .unwrap_or_else(|| "<unlinked>".to_owned())
    }

    /// The path of `ino` if a fault of `kind` hits it now (the path is only computed when
    /// some fault is armed).
    fn fires(&mut self, kind: FaultKind, ino: Ino) -> Option<String> {
        if self.faults.armed().is_empty() {
            return None;
        }
        let path = self.path_of(ino);
        self.faults.fire(kind, &path).then_some(path)
    }

    fn child_path(&self, parent: Ino, name: &str) -> String {
        match self.model.path(parent) {
            Some(dir) if !dir.is_empty() => format!("{dir}/{name}"),
            _ => name.to_owned(),
        }
    }

    fn record(&mut self, event: TraceEvent) {
        let Some(recorder) = self.trace.as_mut() else {
            return;
        };
        if let Err(error) = recorder.record(&event) {
            self.log
                .record("trace-error", None, format!("{error}; trace stopped"));
            self.trace = None;
        }
    }
}
