//! What the lock needs to know of the host: the time, process liveness, the host name.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::lock::MAX_HOST_BYTES;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Whether `pid` is certainly dead on this host (`kill(pid, 0)` fails with ESRCH).
pub fn pid_is_dead(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false; // 0 and negatives address process groups: never "dead".
    }
    // SAFETY: kill with signal 0 only checks for the process's existence.
    let result = unsafe { libc::kill(pid, 0) };
    result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// This machine's host name (empty if unknown).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates or truncates.
    let result = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if result != 0 {
        return String::new();
    }
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let mut host = String::from_utf8_lossy(&buf[..len]).into_owned();
    host.truncate(MAX_HOST_BYTES.min(host.len()));
    host
}

/// A number telling apart holders that reuse a pid.
pub(crate) fn nonce() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}
