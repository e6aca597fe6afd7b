//! Shared fixture of the lazy filesystem tests: a mount under a temporary directory that is
//! always unmounted, even when the test fails.

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nemesis::lazyfs::{is_mounted, CrashPolicy, LazyFs, LazyFsOptions, MountedLazyFs};

/// A mounted lazy filesystem and its directories. Field order matters: the mount is dropped
/// (unmounted) before the temporary directory is removed.
pub struct Fixture {
    pub fs: MountedLazyFs,
    pub mount_point: PathBuf,
    pub backing: PathBuf,
    pub outside: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Path of `relative` inside the mount.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.mount_point.join(relative)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // The MountedLazyFs field unmounts on its own drop, which runs after this.
        if std::thread::panicking() {
            let _ = nemesis::lazyfs::force_unmount(&self.mount_point);
        }
    }
}

/// Mount with `policy`, or `None` (with a printed reason) where FUSE is unavailable.
pub fn mount(policy: CrashPolicy) -> Option<Fixture> {
    mount_with(policy, 1 << 30)
}

/// Mount with `policy` and a bound of `cache_limit_bytes` on the memory held.
pub fn mount_with(policy: CrashPolicy, cache_limit_bytes: u64) -> Option<Fixture> {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: /dev/fuse is missing, the lazy filesystem cannot be mounted here");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let backing = dir.path().join("backing");
    let mount_point = dir.path().join("mnt");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).expect("outside dir");
    let mut options = LazyFsOptions::new(&backing, &mount_point);
    options.crash_policy = policy;
    options.cache_limit_bytes = cache_limit_bytes;
    options.fault_log = Some(outside.join("faults.jsonl"));
    let fs = LazyFs::mount(options).expect("mount the lazy filesystem");
    let mount_point = fs.mount_point().to_path_buf();
    assert!(is_mounted(&mount_point));
    Some(Fixture {
        fs,
        mount_point,
        backing,
        outside,
        _dir: dir,
    })
}

/// A policy that keeps every pending operation (a cut loses nothing).
pub fn keep_everything() -> CrashPolicy {
    CrashPolicy {
        write_kept_probability: 1.0,
        write_torn_probability: 0.0,
        truncate_kept_probability: 1.0,
        reorder_probability: 0.0,
        dir_op_lost_probability: 0.0,
        ..CrashPolicy::default()
    }
}

/// Create (or truncate) `path`, write `data`, optionally fsync it.
pub fn write_file(path: &Path, data: &[u8], fsync: bool) {
    let mut file = File::create(path).expect("create");
    file.write_all(data).expect("write");
    if fsync {
        file.sync_all().expect("fsync");
    }
}

/// fsync a directory.
pub fn fsync_dir(path: &Path) {
    File::open(path)
        .expect("open dir")
        .sync_all()
        .expect("fsync dir");
}

/// Append `data` to `path` without syncing.
pub fn append(path: &Path, data: &[u8]) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    file.write_all(data).expect("append");
}
