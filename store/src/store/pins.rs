//! Pins: files in `DIR/pins/` naming blobs that garbage collection must keep because a reader
//! (a pinned snapshot) may still read them. Any process may create or remove its own pins; GC
//! reads them all.
//!
//! A pin is written to `pins/<pid>-<nonce>.tmp` and renamed to `pins/<pid>-<nonce>.pin`, so a
//! reader sees either no pin or a whole one. Pins need no fsync: a pin protects a live reader,
//! and a crash ends the reader with the pin. Layout (UTF-8 text, one field per line):
//!
//! ```text
//! faultline-pin 1
//! pid <decimal pid>
//! host <hostname>
//! blob <blob id>          (zero or more lines)
//! ```
//!
//! GC is conservative: a pin it cannot read makes it keep every blob; a pin (or a `.tmp`) is
//! ignored and removed only when it belongs to this host and its pid is dead.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::io::Io;

const PIN_HEADER: &str = "faultline-pin 1";
static NEXT_PIN: AtomicU64 = AtomicU64::new(0);

/// What GC learned from `pins/`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PinSet {
    /// Blob ids named by live pins.
    pub(crate) blobs: Vec<String>,
    /// Pin files that could not be read: GC must then keep every blob.
    pub(crate) unreadable: Vec<String>,
}

/// Writes a pin naming `blobs`; returns its path (remove it with [`remove_pin`]).
pub(crate) fn write_pin(io: &dyn Io, dir: &Path, blobs: &[String]) -> io::Result<PathBuf> {
    let pins = dir.join("pins");
    crate::io::create_dir_durable(io, &pins)?;
    let name = format!(
        "{}-{}",
        std::process::id(),
        NEXT_PIN.fetch_add(1, Ordering::Relaxed)
    );
    let mut text = format!(
        "{PIN_HEADER}\npid {}\nhost {}\n",
        std::process::id(),
        hostname()
    );
    for blob in blobs {
        text.push_str(&format!("blob {blob}\n"));
    }
    let tmp = pins.join(format!("{name}.tmp"));
    let file = io.create_new(&tmp)?;
    file.write_at(0, text.as_bytes())?;
    drop(file);
    let path = pins.join(format!("{name}.pin"));
    io.rename(&tmp, &path)?;
    Ok(path)
}

/// Removes a pin written by [`write_pin`].
pub(crate) fn remove_pin(io: &dyn Io, path: &Path) -> io::Result<()> {
    io.remove_file(path)
}

/// Reads every pin in `DIR/pins`, removing those of dead processes on this host.
pub(crate) fn read_pins(io: &dyn Io, dir: &Path) -> io::Result<PinSet> {
    let pins = dir.join("pins");
    let names = match io.list_dir(&pins) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(PinSet::default()),
        Err(error) => return Err(error),
    };
    let mut set = PinSet::default();
    let host = hostname();
    for name in names {
        let path = pins.join(&name);
        if name.ends_with(".tmp") {
            if owner_pid(&name).is_some_and(|pid| !pid_alive(pid)) {
                let _ = io.remove_file(&path);
            } else {
                set.unreadable.push(name);
            }
            continue;
        }
        let parsed = io.read(&path).ok().and_then(|bytes| parse_pin(&bytes));
        match parsed {
            Some(pin) if pin.host == host && !pid_alive(pin.pid) => {
                let _ = io.remove_file(&path);
            }
            Some(pin) => set.blobs.extend(pin.blobs),
            None => set.unreadable.push(name),
        }
    }
    Ok(set)
}

struct Pin {
    pid: u32,
    host: String,
    blobs: Vec<String>,
}

fn parse_pin(bytes: &[u8]) -> Option<Pin> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != PIN_HEADER {
        return None;
    }
    let pid = lines.next()?.strip_prefix("pid ")?.parse().ok()?;
    let host = lines.next()?.strip_prefix("host ")?.to_string();
    let mut blobs = Vec::new();
    for line in lines {
        blobs.push(line.strip_prefix("blob ")?.to_string());
    }
    if !text.ends_with('\n') {
        return None;
    }
    Some(Pin { pid, host, blobs })
}

fn owner_pid(name: &str) -> Option<u32> {
    name.split('-').next()?.parse().ok()
}

/// Whether a process with this pid exists on this host.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for the process's existence; it sends nothing.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This host's name ("unknown-host" if it cannot be read).
pub(crate) fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if result != 0 {
        return "unknown-host".into();
    }
    let len = buffer
        .iter()
        .position(|byte| *byte == 0)
        .unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::StdIo;

    #[test]
    fn pins_round_trip_and_unreadable_pins_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let io = StdIo;
        let blobs = vec!["a".to_string(), "b".to_string()];
        let path = write_pin(&io, dir.path(), &blobs).unwrap();
        assert_eq!(read_pins(&io, dir.path()).unwrap().blobs, blobs);
        std::fs::write(dir.path().join("pins/junk.pin"), b"garbage").unwrap();
        let set = read_pins(&io, dir.path()).unwrap();
        assert_eq!(set.unreadable, vec!["junk.pin".to_string()]);
        remove_pin(&io, &path).unwrap();
        std::fs::remove_file(dir.path().join("pins/junk.pin")).unwrap();
        assert_eq!(read_pins(&io, dir.path()).unwrap(), PinSet::default());
    }

    #[test]
    fn pins_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let io = StdIo;
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        std::fs::create_dir_all(dir.path().join("pins")).unwrap();
        let text = format!(
            "{PIN_HEADER}\npid {dead_pid}\nhost {}\nblob x\n",
            hostname()
        );
        std::fs::write(dir.path().join("pins/dead.pin"), text).unwrap();
        assert_eq!(read_pins(&io, dir.path()).unwrap(), PinSet::default());
        assert!(!dir.path().join("pins/dead.pin").exists());
    }
}
