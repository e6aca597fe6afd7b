//! `faultline lazyfs`: mount a lazy filesystem and serve it until Ctrl-C / SIGTERM, with an
//! optional control socket for power cuts and faults.

use std::path::PathBuf;

use anyhow::Context;
use nemesis::lazyfs::{ControlServer, LazyFs, LazyFsOptions};

/// Arguments of `faultline lazyfs`.
#[derive(Debug, clap::Args)]
pub struct LazyfsArgs {
    /// Directory holding the durable image (created if missing).
    #[arg(long, value_name = "DIR")]
    backing: PathBuf,
    /// Where to mount (created if missing).
    #[arg(long, value_name = "MNT")]
    mount: PathBuf,
    /// Unix socket for control commands (power-cut, inject, heal, trace, mark, status,
    /// crash-states, power-cut-state).
    #[arg(long, value_name = "SOCKET")]
    control: Option<PathBuf>,
    /// Seed of fault decisions and of power cuts asked for without a seed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// Record the operation trace into FILE from the start (outside the mount).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Append the fault log (JSON lines) to FILE (outside the mount).
    #[arg(long, value_name = "FILE")]
    fault_log: Option<PathBuf>,
    /// Also fsync the backing directory when something becomes durable (survives a real
    /// crash of the host; slower).
    #[arg(long)]
    sync_backing: bool,
    /// Bound on the bytes held in memory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    cache_limit_mib: u64,
}

pub fn run(args: LazyfsArgs) -> anyhow::Result<u8> {
    let signals = block_termination_signals()?;
    let mut options = LazyFsOptions::new(&args.backing, &args.mount);
    options.fault_seed = args.seed;
    options.trace_file = args.trace;
    options.fault_log = args.fault_log;
    options.sync_backing = args.sync_backing;
    options.cache_limit_bytes = args.cache_limit_mib.saturating_mul(1 << 20);
    let mount = LazyFs::mount(options).context("faultline lazyfs")?;
    let control = match &args.control {
        Some(path) => Some(ControlServer::start(path, &mount).context("control socket")?),
        None => None,
    };
    eprintln!(
        "faultline lazyfs: serving {} (backing {}){}; Ctrl-C unmounts",
        mount.mount_point().display(),
        args.backing.display(),
        args.control
            .as_ref()
            .map(|p| format!(", control socket {}", p.display()))
            .unwrap_or_default()
    );
    let signal = wait_for(&signals);
    eprintln!("faultline lazyfs: signal {signal}, unmounting");
    drop(control);
    mount.unmount().context("unmounting")?;
    Ok(0)
}

/// Block SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread spawned after),
/// so that they are only taken by [`wait_for`].
fn block_termination_signals() -> anyhow::Result<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        let code = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        anyhow::ensure!(
            code == 0,
            "blocking termination signals failed: errno {code}"
        );
        Ok(set)
    }
}

fn wait_for(set: &libc::sigset_t) -> i32 {
    let mut signal = 0;
    // SAFETY: `set` is a valid signal set and `signal` a valid out pointer.
    let code = unsafe { libc::sigwait(set, &mut signal) };
    if code == 0 {
        signal
    } else {
        libc::SIGTERM
    }
}
