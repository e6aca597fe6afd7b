//! What a run leaves behind that must not outlive faultline: lazy filesystem mounts and the
//! run's temporary directory. Both are entered in registries while they exist, so that
//! [`abort_cleanup`] (Ctrl-C twice, a panic) can remove them even when no destructor runs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::error::RunError;
use crate::lazyfs::force_unmount;

static MOUNTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static WORK_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Enters a mount point in the registry (before mounting, so a crash mid-mount is covered).
pub fn register_mount(path: &Path) {
    if let Ok(mut mounts) = MOUNTS.lock() {
        mounts.push(path.to_path_buf());
    }
}

/// Removes a mount point from the registry once it is unmounted.
pub fn unregister_mount(path: &Path) {
    if let Ok(mut mounts) = MOUNTS.lock() {
        mounts.retain(|mount| mount != path);
    }
}

/// Mount points registered and not yet unregistered.
pub fn registered_mounts() -> Vec<PathBuf> {
    MOUNTS
        .lock()
        .map(|mounts| mounts.clone())
        .unwrap_or_default()
}

/// Force-unmounts every registered mount and removes every registered work directory. For
/// `interrupt::install`; never blocks on a lock another thread holds.
pub fn abort_cleanup() {
    if let Ok(mounts) = MOUNTS.try_lock() {
        for mount in mounts.iter() {
            let _ = force_unmount(mount);
        }
    }
    if let Ok(dirs) = WORK_DIRS.try_lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A run's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates a fresh directory under the system's temporary directory.
    pub fn create(label: &str) -> Result<Self, RunError> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let number = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("faultline-{label}-{}-{number}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(RunError::io(&path))?;
        }
        std::fs::create_dir_all(&path).map_err(RunError::io(&path))?;
        if let Ok(mut dirs) = WORK_DIRS.lock() {
            dirs.push(path.clone());
        }
        Ok(WorkDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        if let Ok(mut dirs) = WORK_DIRS.lock() {
            dirs.retain(|dir| dir != &self.path);
        }
    }
}

/// Copies the tree at `source` to `target` (replacing it), skipping files that vanish meanwhile.
pub fn copy_tree(source: &Path, target: &Path) -> std::io::Result<()> {
    if target.exists() {
        std::fs::remove_dir_all(target)?;
    }
    std::fs::create_dir_all(target)?;
    let Ok(entries) = std::fs::read_dir(source) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let (from, to) = (entry.path(), target.join(entry.file_name()));
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => copy_tree(&from, &to)?,
            Ok(kind) if kind.is_file() => match std::fs::copy(&from, &to) {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            },
            _ => {}
        }
    }
    Ok(())
}
