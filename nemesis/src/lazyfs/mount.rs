//! Mounting: [`LazyFs::mount`] gives a [`MountedLazyFs`], the handle the runner drives
//! (power cuts, faults, traces). Dropping it unmounts; nothing is ever left mounted, even
//! if this process is killed (fusermount3's auto-unmount watches it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use fuser::{BackgroundSession, MountOption, SessionACL};

use super::control::execute;
use super::crash::CrashReport;
use super::faults::{Fault, FaultKind, FaultLogEntry};
use super::fs::{FuseAdapter, Shared};
use super::hold::{FsyncHold, HeldOp, HoldPoint, HoldRelease, HoldTarget};
use super::image::DiskImage;
use super::state::FsState;
use super::systematic::{enumerate_crash_states, CrashState};
use super::{CrashPolicy, LazyFsError, LazyFsOptions, PathPattern};

/// How long an unmount waits for the FUSE session to end before giving up on it.
pub const UNMOUNT_JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Entry point of the library.
#[derive(Debug)]
pub struct LazyFs;

impl LazyFs {
    /// Load `options.backing_dir` as the durable image and mount the lazy filesystem on
    /// `options.mount_point` (both created if missing).
    pub fn mount(options: LazyFsOptions) -> Result<MountedLazyFs, LazyFsError> {
        remove_dead_mount(&options.mount_point)?;
        reap_exited_fusermount();
        for dir in [&options.backing_dir, &options.mount_point] {
            fs::create_dir_all(dir).map_err(|source| LazyFsError::Backing {
                path: dir.clone(),
                source,
            })?;
        }
        let mount_point =
            options
                .mount_point
                .canonicalize()
                .map_err(|source| LazyFsError::Mount {
                    mountpoint: options.mount_point.clone(),
                    source,
                })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(FsState::open(&options)?),
            hold: FsyncHold::default(),
        });
        // SAFETY: geteuid and getegid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let adapter = FuseAdapter {
            shared: Arc::clone(&shared),
            uid,
            gid,
        };
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            MountOption::FSName("faultline-lazyfs".into()),
            MountOption::AutoUnmount,
        ];
        config.acl = SessionACL::All;
        config.n_threads = Some(options.threads.max(1));
        let session = fuser::spawn_mount(adapter, &mount_point, &config).map_err(|source| {
            LazyFsError::Mount {
                mountpoint: mount_point.clone(),
                source,
            }
        })?;
        Ok(MountedLazyFs {
            shared,
            session: Some(session),
            mount_point,
            backing_dir: options.backing_dir,
        })
    }
}

/// A mounted lazy filesystem. Every method may be called from any thread while other
/// processes use the mount. Dropping it unmounts (as [`MountedLazyFs::unmount`] does).
#[derive(Debug)]
pub struct MountedLazyFs {
    shared: Arc<Shared>,
    session: Option<BackgroundSession>,
    mount_point: PathBuf,
    backing_dir: PathBuf,
}

impl MountedLazyFs {
    /// Where it is mounted (canonical).
    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// The backing directory (the durable image).
    pub fn backing_dir(&self) -> &Path {
        &self.backing_dir
    }

    /// Cut the power: freeze every request, draw a crash state from `seed`, write it as the
    /// backing directory's content, drop all cached data, resume. Processes that had files
    /// open get `ESTALE` on them (they would have died with the machine).
    pub fn power_cut(&self, seed: u64) -> Result<CrashReport, LazyFsError> {
        self.shared.lock().power_cut(seed)
    }

    /// Cut the power into a chosen crash state, e.g. one of [`MountedLazyFs::crash_states`]
    /// (ALICE-style: rerun the program to the same point for each state to test).
    pub fn power_cut_to(&self, state: &CrashState) -> Result<(), LazyFsError> {
        self.shared
            .lock()
            .power_cut_to(&state.image, &state.description)
    }

    /// The distinct crash states of what is pending now (every prefix, every single omitted
    /// operation, every torn write), at most `max_states`; the flag says whether there were
    /// more.
    pub fn crash_states(&self, max_states: usize) -> (Vec<CrashState>, bool) {
        enumerate_crash_states(&self.shared.lock().model, max_states)
    }

    /// Use `policy` for the following seeded power cuts.
    pub fn set_crash_policy(&self, policy: CrashPolicy) {
        self.shared.lock().set_crash_policy(policy);
    }

    /// Arm a fault on the paths `pattern` matches, for `count` firings (`None`: until healed).
    pub fn inject(
        &self,
        kind: FaultKind,
        pattern: &str,
        count: Option<u64>,
    ) -> Result<(), LazyFsError> {
        let pattern = PathPattern::new(pattern)?;
        self.shared.lock().inject(Fault {
            kind,
            pattern,
            remaining: count,
        });
        Ok(())
    }

    /// Flip one bit at rest in a file `pattern` matches, at least `tail_margin_bytes` before
    /// its durable end (see [`super::ROT_HEADER_SKIP_BYTES`]); `None` when no file is long
    /// enough, else what was flipped.
    pub fn rot(
        &self,
        pattern: &str,
        tail_margin_bytes: u64,
    ) -> Result<Option<String>, LazyFsError> {
        let pattern = PathPattern::new(pattern)?;
        self.shared.lock().rot(&pattern, tail_margin_bytes)
    }

    /// Write one file's durable content under another's name, among the files `pattern`
    /// matches (the newest gets the content of its most similarly named other file); `None`
    /// when there are not two different files.
    pub fn misplace(&self, pattern: &str) -> Result<Option<String>, LazyFsError> {
        let pattern = PathPattern::new(pattern)?;
        self.shared.lock().misplace(&pattern)
    }

    /// Make the next fsync of a file or directory `pattern` matches, with at least
    /// `min_pending_bytes` of writes to it pending, wait (its data still pending) until
    /// [`MountedLazyFs::release_held`] (or [`super::HOLD_MAX_WAIT`]).
    pub fn hold_next_fsync(
        &self,
        pattern: &str,
        min_pending_bytes: u64,
    ) -> Result<(), LazyFsError> {
        self.shared
            .hold
            .arm(hold_target(HoldPoint::Fsync, pattern, min_pending_bytes)?);
        Ok(())
    }

    /// Make the next creation of a file `pattern` matches wait, before the file exists, until
    /// [`MountedLazyFs::release_held`] (or [`super::HOLD_MAX_WAIT`]).
    pub fn hold_next_create(&self, pattern: &str) -> Result<(), LazyFsError> {
        self.shared
            .hold
            .arm(hold_target(HoldPoint::Create, pattern, 0)?);
        Ok(())
    }

    /// Make the next append (a write at the file's end) to a file `pattern` matches, starting
    /// at least `min_offset` bytes into the file (at least 1: a write at offset 0 is never
    /// held), wait before its data reaches the file, until
    /// [`MountedLazyFs::release_held`] (or [`super::HOLD_MAX_WAIT`]). Readers meanwhile see
    /// the file without it.
    pub fn hold_next_write(&self, pattern: &str, min_offset: u64) -> Result<(), LazyFsError> {
        self.shared
            .hold
            .arm(hold_target(HoldPoint::Write, pattern, min_offset)?);
        Ok(())
    }

    /// Waits up to `timeout` for the armed hold to catch an operation: its path and caller,
    /// or `None` (the hold is then disarmed).
    pub fn wait_held(&self, timeout: std::time::Duration) -> Option<HeldOp> {
        self.shared.hold.wait_held(timeout)
    }

    /// Answers the caller of the held write (if any) as if its write had completed, while its
    /// data stays out of the file until [`MountedLazyFs::release_held`] (with
    /// [`HoldRelease::Fail`], never). Meant for a caller that was stopped meanwhile: it then
    /// resumes as a process stopped just before its write landed would.
    pub fn answer_held(&self) {
        self.shared.hold.answer_held();
    }

    /// Lets the held operation (if any) go on, or fail with `EIO`; disarms the hold.
    pub fn release_held(&self, how: HoldRelease) {
        self.shared.hold.release(how);
    }

    /// Lets the held operation (if any) go on, or fail, and at the same instant holds the
    /// next fsync `pattern` matches with `min_pending_bytes` pending (so the fsync that
    /// follows the released one, e.g. the next round of a group commit, cannot slip by).
    pub fn release_held_and_hold_next_fsync(
        &self,
        how: HoldRelease,
        pattern: &str,
        min_pending_bytes: u64,
    ) -> Result<(), LazyFsError> {
        let next = hold_target(HoldPoint::Fsync, pattern, min_pending_bytes)?;
        self.shared.hold.release_and_arm(how, next);
        Ok(())
    }

    /// Disarm every fault.
    pub fn heal(&self) {
        self.shared.lock().heal();
    }

    /// Record the operation trace into `path` (outside the mount), replacing any running one.
    pub fn start_trace(&self, path: &Path) -> Result<(), LazyFsError> {
        self.shared.lock().start_trace(path)
    }

    /// Stop recording; returns the trace file, if one was being written.
    pub fn stop_trace(&self) -> Option<PathBuf> {
        self.shared.lock().stop_trace()
    }

    /// Put a label in the trace (e.g. what the program just acknowledged).
    pub fn mark(&self, label: &str) {
        self.shared.lock().mark(label);
    }

    /// Run one control command (the line protocol of `--control`), returning its answer.
    pub fn control(&self, line: &str) -> Result<String, LazyFsError> {
        execute(&self.shared, line)
    }

    /// The latest fault log entries.
    pub fn fault_log(&self) -> Vec<FaultLogEntry> {
        self.shared.lock().log.entries()
    }

    /// How many operations are pending (not yet durable).
    pub fn pending_ops(&self) -> usize {
        self.shared.lock().model.pending().len()
    }

    /// The durable image as the model holds it (the backing directory mirrors it).
    pub fn durable_image(&self) -> DiskImage {
        self.shared.lock().model.durable_image()
    }

    /// A clean shutdown: unmount, then make every pending operation durable in the backing
    /// directory (as `sync; umount` would).
    pub fn unmount(mut self) -> Result<(), LazyFsError> {
        self.unmount_inner()
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    fn unmount_inner(&mut self) -> Result<(), LazyFsError> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let unmounted = force_unmount(&self.mount_point);
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done_tx.send(session.umount_and_join());
        });
        let joined = done_rx.recv_timeout(UNMOUNT_JOIN_TIMEOUT);
        unmounted?;
        if is_mounted(&self.mount_point) {
            return Err(LazyFsError::Unmount {
                mountpoint: self.mount_point.clone(),
                detail: "still mounted".into(),
            });
        }
        reap_exited_fusermount();
        if let Ok(Err(error)) = joined {
            eprintln!(
                "faultline lazyfs: FUSE session of {} ended with {error}",
                self.mount_point.display()
            );
        }
        self.shared.lock().shutdown()
    }
}

impl Drop for MountedLazyFs {
    fn drop(&mut self) {
        if let Err(error) = self.unmount_inner() {
            eprintln!("faultline lazyfs: {error}");
        }
    }
}

/// Reap this process's exited `fusermount3` helpers: fuser starts one per auto-unmount
/// mount and never waits for it, so a long run would collect zombies. Only children that
/// are already zombies and named fusermount3 are waited for.
fn reap_exited_fusermount() {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Ok(children) = fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in children
            .split_whitespace()
            .filter_map(|pid| pid.parse::<i32>().ok())
        {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if stat.contains("(fusermount3) Z") {
                let mut status = 0;
                // SAFETY: waitpid on a zombie child of this process, without blocking.
                unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            }
        }
    }
}

/// A mount whose server died without unmounting answers `ENOTCONN`: remove it (a live
/// mount of another server is left alone, and mounting over it fails clearly).
fn remove_dead_mount(path: &Path) -> Result<(), LazyFsError> {
    match fs::metadata(path) {
        Err(error) if error.raw_os_error() == Some(libc::ENOTCONN) => {
            let absolute = std::path::absolute(path).map_err(|source| LazyFsError::Mount {
                mountpoint: path.to_path_buf(),
                source,
            })?;
            force_unmount(&absolute)
        }
        _ => Ok(()),
    }
}

/// Whether something is mounted at `path` (per /proc/self/mountinfo).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.to_string_lossy();
    info.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|point| point.replace("\\040", " ") == wanted)
    })
}

/// Unmount `path` with `fusermount3 -u`, falling back to a lazy unmount (`-z`) if it is busy.
pub fn force_unmount(path: &Path) -> Result<(), LazyFsError> {
    if !is_mounted(path) {
        return Ok(());
    }
    let mut detail = String::new();
    for args in [&["-u"][..], &["-u", "-z"][..]] {
        match Command::new("fusermount3").args(args).arg(path).output() {
            Ok(output) if output.status.success() => return Ok(()),
            Ok(output) => detail = String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            Err(error) => detail = format!("running fusermount3: {error}"),
        }
        if !is_mounted(path) {
            return Ok(());
        }
    }
    Err(LazyFsError::Unmount {
        mountpoint: path.to_path_buf(),
        detail,
    })
}

fn hold_target(point: HoldPoint, pattern: &str, min_bytes: u64) -> Result<HoldTarget, LazyFsError> {
    Ok(HoldTarget {
        point,
        pattern: PathPattern::new(pattern)?,
        min_bytes,
    })
}
