//! The processes of the system under test, each in a process group of its own so that a kill
//! reaches every process it started (a grandchild that inherited a descriptor keeps an flock or a
//! pipe alive after its parent's SIGKILL otherwise).
//!
//! Every group started here is entered in a registry; [`kill_all_groups`] kills what is left, and
//! the runner calls it at exit, on Ctrl-C and from its panic hook, so no process outlives
//! faultline. A child also gets `PR_SET_PDEATHSIG`, so it dies if faultline itself is killed.
//!
//! faultline makes itself a child subreaper, so a killed group's grandchildren (the store under
//! `sh -c`) become its children and are reaped at once by [`SutProcess::kill`]: a zombie still
//! counts as alive to `kill(pid, 0)`, and a store that takes over the lock of a dead pid would
//! otherwise wait for the lease to run out.

mod stopped;

pub use stopped::wait_group_stopped;

use std::collections::BTreeSet;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Process groups started by this process and not yet reaped.
static LIVE_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Errors starting or signalling a process of the system under test.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The command line could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A signal could not be delivered to the process group.
    #[error("cannot send signal {signal} to process group {pgid}: {source}")]
    Signal {
        /// The signal.
        signal: i32,
        /// The process group.
        pgid: i32,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// One running process of the system under test, with its stdin and stdout piped to us.
///
/// Invariant: while a `SutProcess` is alive its process group is in the registry; dropping it
/// kills the whole group with SIGKILL and reaps the leader.
#[derive(Debug)]
pub struct SutProcess {
    child: Child,
    pgid: i32,
    command: String,
}

impl SutProcess {
    /// Starts `command` with `sh -c` in a new process group; stderr goes to `stderr`. The
    /// directory of the running executable comes first on the command's `PATH`, so a `store`
    /// built beside `faultline` is the one that runs.
    pub fn spawn(
        command: &str,
        stderr: Stdio,
    ) -> Result<(Self, ChildStdin, ChildStdout), ProcessError> {
        Self::spawn_with_env(command, &[], stderr)
    }

    /// [`SutProcess::spawn`] with the variables `env` set in the command's environment, besides
    /// those it inherits.
    pub fn spawn_with_env(
        command: &str,
        env: &[(String, String)],
        stderr: Stdio,
    ) -> Result<(Self, ChildStdin, ChildStdout), ProcessError> {
        become_subreaper();
        let mut builder = Command::new("sh");
        builder
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        if let Some(path) = path_with_own_directory_first() {
            builder.env("PATH", path);
        }
        builder.envs(env.iter().map(|(name, value)| (name, value)));
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            builder.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = builder.spawn().map_err(|source| ProcessError::Spawn {
            command: command.to_owned(),
            source,
        })?;
        let pgid = child.id() as i32;
        register(pgid);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("stdin and stdout were requested as pipes");
        };
        let process = SutProcess {
            child,
            pgid,
            command: command.to_owned(),
        };
        Ok((process, stdin, stdout))
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The command line this process runs.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Kills the whole group with SIGKILL and waits for the leader.
    pub fn kill(&mut self) -> Result<ExitStatus, ProcessError> {
        let sent = signal_group(self.pgid, libc::SIGKILL);
        // SIGKILL cannot be stopped, but a stopped group must also be continued to die promptly.
        let _ = signal_group(self.pgid, libc::SIGCONT);
        let status = self.child.wait().map_err(|source| ProcessError::Signal {
            signal: libc::SIGKILL,
            pgid: self.pgid,
            source,
        });
        reap_group(self.pgid);
        unregister(self.pgid);
        sent?;
        status
    }

    /// Stops every process of the group (SIGSTOP), as a stalled process or a long GC pause.
    pub fn pause(&self) -> Result<(), ProcessError> {
        signal_group(self.pgid, libc::SIGSTOP)
    }

    /// Continues a group stopped by [`SutProcess::pause`].
    pub fn resume(&self) -> Result<(), ProcessError> {
        signal_group(self.pgid, libc::SIGCONT)
    }

    /// The leader's exit status if it has exited, without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the leader to exit by itself, then kills the group.
    pub fn wait_or_kill(&mut self, timeout: Duration) -> Result<ExitStatus, ProcessError> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                // The leader is gone; anything it left in its group goes too.
                let _ = signal_group(self.pgid, libc::SIGKILL);
                reap_group(self.pgid);
                unregister(self.pgid);
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill()
    }
}

impl Drop for SutProcess {
    fn drop(&mut self) {
        if LIVE_GROUPS
            .lock()
            .map(|g| g.contains(&self.pgid))
            .unwrap_or(true)
        {
            let _ = self.kill();
        }
    }
}

/// `PATH` with the running executable's directory in front, if both can be found.
fn path_with_own_directory_first() -> Option<std::ffi::OsString> {
    let executable = std::env::current_exe().ok()?;
    let own = executable.parent()?.to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut directories = vec![own];
    directories.extend(std::env::split_paths(&rest));
    std::env::join_paths(directories).ok()
}

/// Sends `signal` to every process of group `pgid`. A group that is already gone is not an error.
fn signal_group(pgid: i32, signal: i32) -> Result<(), ProcessError> {
    debug_assert!(pgid > 1, "never signal init's group or every process");
    // SAFETY: killpg has no memory-safety preconditions.
    if unsafe { libc::killpg(pgid, signal) } == -1 {
        let source = io::Error::last_os_error();
        if source.raw_os_error() != Some(libc::ESRCH) {
            return Err(ProcessError::Signal {
                signal,
                pgid,
                source,
            });
        }
    }
    Ok(())
}

/// Makes this process the reaper of its orphaned descendants (once).
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only changes a flag of this process.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
        }
    });
}

/// Reaps the members of group `pgid` that were reparented to us, waiting up to a second for
/// killed ones to die. Only children of that group are waited for, never others.
fn reap_group(pgid: i32) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only into `status`.
        let reaped = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
        match reaped {
            pid if pid > 0 => continue,
            0 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            _ => return, // no child of the group is left (ECHILD), or the bound ran out
        }
    }
}

fn register(pgid: i32) {
    if let Ok(mut groups) = LIVE_GROUPS.lock() {
        groups.insert(pgid);
    }
}

fn unregister(pgid: i32) {
    if let Ok(mut groups) = LIVE_GROUPS.lock() {
        groups.remove(&pgid);
    }
}

/// The process group of process (or thread) `pid`, read from `/proc/PID/stat`; `None` when
/// it is gone or the file is not as expected.
pub fn process_group_of(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so the fields
    // are counted from the last `)`.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(2)?.parse().ok()
}

/// The process groups started here and still registered.
pub fn live_groups() -> Vec<i32> {
    LIVE_GROUPS
        .lock()
        .map(|groups| groups.iter().copied().collect())
        .unwrap_or_default()
}

/// Kills every registered group with SIGKILL (and continues stopped ones so they die). Safe to
/// call from a panic hook or a signal-watching thread; never blocks on a child.
pub fn kill_all_groups() {
    let groups = match LIVE_GROUPS.try_lock() {
        Ok(groups) => groups.iter().copied().collect::<Vec<_>>(),
        Err(_) => return,
    };
    for pgid in groups {
        let _ = signal_group(pgid, libc::SIGKILL);
        let _ = signal_group(pgid, libc::SIGCONT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    fn group_alive(pgid: i32) -> bool {
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::killpg(pgid, 0) == 0 }
    }

    /// Whether the group is gone within two seconds (a killed member is a zombie until its new
    /// parent reaps it).
    fn group_gone_soon(pgid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while group_alive(pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        !group_alive(pgid)
    }

    #[test]
    fn kill_reaches_grandchildren() {
        // The grandchild `sleep` would survive a kill of `sh` alone.
        let (mut process, _stdin, stdout) =
            SutProcess::spawn("sleep 30 & echo started; wait", Stdio::null()).unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "started");
        let pgid = process.pgid();
        assert!(group_alive(pgid));
        process.kill().unwrap();
        assert!(
            group_gone_soon(pgid),
            "a process of the group outlived the kill"
        );
        assert!(!live_groups().contains(&pgid));
    }

    #[test]
    fn paused_process_answers_only_after_resume() {
        let (mut process, mut stdin, stdout) = SutProcess::spawn("cat", Stdio::null()).unwrap();
        process.pause().unwrap();
        writeln!(stdin, "hello").unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            let _ = sender.send(line);
        });
        assert!(receiver.recv_timeout(Duration::from_millis(200)).is_err());
        process.resume().unwrap();
        let line = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(line.trim(), "hello");
        process.kill().unwrap();
    }

    #[test]
    fn the_environment_reaches_the_command() {
        let env = [("FAULTLINE_TEST_VARIABLE".to_owned(), "a b".to_owned())];
        let (mut process, _stdin, stdout) =
            SutProcess::spawn_with_env("echo \"$FAULTLINE_TEST_VARIABLE\"", &env, Stdio::null())
                .unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "a b");
        process.wait_or_kill(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn the_group_of_a_grandchild_is_its_slot_group() {
        let (mut process, _stdin, stdout) =
            SutProcess::spawn("sleep 30 & echo $!; wait", Stdio::null()).unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        assert_eq!(process_group_of(grandchild), Some(process.pgid()));
        assert_eq!(process_group_of(u32::MAX), None, "no such process");
        process.kill().unwrap();
    }

    #[test]
    fn drop_kills_the_group() {
        let pgid = {
            let (process, _stdin, _stdout) = SutProcess::spawn("sleep 30", Stdio::null()).unwrap();
            process.pgid()
        };
        assert!(!live_groups().contains(&pgid));
        assert!(group_gone_soon(pgid));
    }
}
