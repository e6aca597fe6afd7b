//! Whether a process group sent SIGSTOP has stopped. `killpg` returns before the group's
//! threads stop: each stops only when it next runs, so for a moment after the signal a thread
//! may still complete system calls. A stall that withholds a write's data from the file must not
//! answer the write until every other thread of the writer's group is stopped, or a thread
//! still running could fsync and acknowledge records whose data the file does not hold yet.

use std::time::{Duration, Instant};

/// Thread `tid` of process `pid` is stopped (state `T`, or `t` when traced).
fn thread_stopped(pid: &str, tid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
        // Gone: it runs no more.
        return true;
    };
    // `tid (comm) state ...`: comm may hold spaces and parentheses.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    matches!(state, Some("T" | "t"))
}

/// The processes of group `pgid`, by pid.
fn group_members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|byte| byte.is_ascii_digit()))
        .filter(|pid| {
            pid.parse()
                .ok()
                .and_then(super::process_group_of)
                .is_some_and(|group| group == pgid)
        })
        .collect()
}

/// Whether every thread of every process of group `pgid` is stopped, but thread `except` (one
/// blocked in a system call the caller holds: it stops when that call returns).
pub fn group_stopped(pgid: i32, except: Option<u32>) -> bool {
    let except = except.map(|tid| tid.to_string());
    group_members(pgid).iter().all(|pid| {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return true;
        };
        tasks
            .flatten()
            .filter_map(|task| task.file_name().into_string().ok())
            .filter(|tid| Some(tid) != except.as_ref())
            .all(|tid| thread_stopped(pid, &tid))
    })
}

/// Waits until [`group_stopped`] holds; false if `timeout` ran out first.
pub fn wait_group_stopped(pgid: i32, except: Option<u32>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if group_stopped(pgid, except) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::process::SutProcess;
    use std::process::Stdio;

    #[test]
    fn a_paused_group_is_seen_stopped_and_a_running_one_is_not() {
        let (mut process, _stdin, _stdout) =
            SutProcess::spawn("sleep 30 & sleep 30; wait", Stdio::null()).unwrap();
        let pgid = process.pgid();
        // The shell and both sleeps are running (sleeping counts as running here).
        std::thread::sleep(Duration::from_millis(100));
        assert!(group_members(pgid).len() >= 2, "the group has its children");
        assert!(!wait_group_stopped(pgid, None, Duration::from_millis(50)));
        process.pause().unwrap();
        assert!(wait_group_stopped(pgid, None, Duration::from_secs(5)));
        process.resume().unwrap();
        assert!(!wait_group_stopped(pgid, None, Duration::from_millis(50)));
        process.kill().unwrap();
    }
}
