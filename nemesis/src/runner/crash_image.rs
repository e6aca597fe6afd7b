//! The crash image: the data directory exactly as the restarted processes found it after the
//! last crash that stopped all of them (a power cut or `kill_all`), before any of them touched
//! it. A run that fails `recovery` keeps it in its bundle as `image-crash/`, and a replay starts
//! the system under test on a copy of it: the same bytes and the same command line, so a
//! recovery failure reproduces whatever the threads did when the run was recorded.
//!
//! Flow: [`keep_crash_image`] (the nemesis, before each such restart) copies the durable image to
//! the run's work directory, replacing the previous one; the bundle keeps the last one
//! ([`CRASH_IMAGE_DIR`]); [`replay_crash_image`] copies it to a fresh work directory and probes
//! every process started on it, as the run probed its restarts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cleanup::{copy_tree, WorkDir};
use super::cluster::{probe, Cluster, Recovery};
use super::error::RunError;
use super::RunConfig;

/// The name of the crash image in a run's work directory and in a bundle.
pub const CRASH_IMAGE_DIR: &str = "image-crash";

/// Copies `data_dir` (the durable image a restart is about to see) to
/// `work_dir/`[`CRASH_IMAGE_DIR`], replacing the image of an earlier crash.
pub fn keep_crash_image(data_dir: &Path, work_dir: &Path) -> Result<(), RunError> {
    let target = work_dir.join(CRASH_IMAGE_DIR);
    copy_tree(data_dir, &target).map_err(RunError::io(target))
}

/// What starting the system under test on a bundle's crash image found.
#[derive(Debug, Clone)]
pub struct CrashImageReplay {
    /// The image that was copied (inside the bundle).
    pub image: PathBuf,
    /// How each process started on the copy recovered, by slot.
    pub recoveries: Vec<(usize, Recovery)>,
}

impl CrashImageReplay {
    /// Whether a process failed to recover from the image again.
    pub fn reproduced(&self) -> bool {
        self.recoveries
            .iter()
            .any(|(_, recovery)| recovery.is_err())
    }

    /// One line per process: how long it took to recover, or why it did not.
    pub fn describe(&self) -> String {
        self.recoveries
            .iter()
            .map(|(slot, recovery)| match recovery {
                Ok(took) => format!("slot {slot} recovered in {} ms", took.as_millis()),
                Err(why) => format!("slot {slot}: {why}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Starts `config.processes` processes of `config`'s system under test (its command line and
/// environment, mutant included) on a copy of `bundle`'s crash image and probes each within
/// `config.recovery_timeout_ms`, as the run probed its restarts. `None` when the bundle keeps
/// no crash image. The copy and the processes are gone when it returns.
pub fn replay_crash_image(
    bundle: &Path,
    config: &RunConfig,
) -> Result<Option<CrashImageReplay>, RunError> {
    let image = bundle.join(CRASH_IMAGE_DIR);
    if !image.is_dir() {
        return Ok(None);
    }
    let work = WorkDir::create(&format!("crash-image-{}", config.seed))?;
    let data_dir = work.path().join("store");
    copy_tree(&image, &data_dir).map_err(RunError::io(&data_dir))?;
    let bound = Duration::from_millis(config.recovery_timeout_ms);
    let started = Instant::now();
    let cluster = Cluster::start_with_env(
        &config.sut_command(&data_dir),
        &config.sut_environment(),
        config.processes,
        work.path(),
    )?;
    let recoveries: Vec<(usize, Recovery)> = std::thread::scope(|scope| {
        let probes: Vec<_> = (0..cluster.len())
            .map(|slot| {
                let connection = cluster.connection(slot);
                scope.spawn(move || (slot, probe(&connection, started, bound)))
            })
            .collect();
        probes
            .into_iter()
            .enumerate()
            .map(|(slot, probe)| {
                probe
                    .join()
                    .unwrap_or_else(|_| (slot, Err("the probe panicked".into())))
            })
            .collect()
    });
    cluster.stop();
    Ok(Some(CrashImageReplay { image, recoveries }))
}
