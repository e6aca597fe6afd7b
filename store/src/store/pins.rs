//! Pins: files in `DIR/pins/` naming blobs that garbage collection must keep because a reader
//! (a pinned snapshot) or an in-flight write may still need them. Any process may create or
//! remove its own pins; GC reads them all.
//!
//! Holders in one process share one pin file per blob ([`pin_blobs`], [`table::PinTable`]):
//! `pins/<pid>-<host tag>-b-<blob id>.pin`, created by the first holder of this process and
//! removed by the last. The host tag is the CRC32C of the host's name in 8 hex digits, so the
//! name alone says whose pin it is. A pin is written to the same name ending `.tmp` and renamed,
//! so a live process's pin is either absent or whole. Pins need no fsync: a pin protects a live
//! holder, and a crash (a power cut too) ends the holder with the pin; a pin a power cut left
//! empty or torn belongs to a dead process. Layout (UTF-8 text, one field per line):
//!
//! ```text
//! faultline-pin 1
//! pid <decimal pid>
//! host <hostname>
//! blob <blob id>          (zero or more lines)
//! ```
//!
//! GC is conservative: a pin (or `.tmp`) whose name says it is this host's and whose pid is
//! dead is removed, whatever its content; any other pin it cannot read makes it keep every
//! blob.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use crate::io::Io;

#[cfg(all(loom, test))]
mod loom_pins;
mod table;

use table::PinTable;

/// This process's shared pins.
static TABLE: LazyLock<PinTable> = LazyLock::new(PinTable::new);

const PIN_HEADER: &str = "faultline-pin 1";

/// What GC learned from `pins/`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PinSet {
    /// Blob ids named by live pins.
    pub(crate) blobs: Vec<String>,
    /// Pin files that could not be read: GC must then keep every blob.
    pub(crate) unreadable: Vec<String>,
}

/// Blobs kept from GC while this value lives: dropping it releases this holder's share of each
/// blob's pin file.
#[derive(Debug)]
pub(crate) struct BlobPins {
    io: Arc<dyn Io>,
    paths: Vec<PathBuf>,
}

impl Drop for BlobPins {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = TABLE.release(path, || remove_pin(self.io.as_ref(), path));
        }
    }
}

/// Pins `blobs` (in `DIR/pins/`) until the returned value is dropped. Holders in one process
/// share one file per blob; the file exists whenever this process has a holder of the blob.
pub(crate) fn pin_blobs(io: &Arc<dyn Io>, dir: &Path, blobs: &[String]) -> io::Result<BlobPins> {
    let pins_dir = dir.join("pins");
    crate::io::create_dir_durable(io.as_ref(), &pins_dir)?;
    let mut pins = BlobPins {
        io: Arc::clone(io),
        paths: Vec::with_capacity(blobs.len()),
    };
    for blob in blobs {
        let name = format!("{}-{}-b-{blob}", std::process::id(), host_tag(&hostname()));
        let path = pins_dir.join(format!("{name}.pin"));
        TABLE.acquire(&path, || {
            write_pin_file(
                io.as_ref(),
                &pins_dir.join(format!("{name}.tmp")),
                &path,
                blob,
            )
        })?;
        pins.paths.push(path);
    }
    Ok(pins)
}

/// Writes one blob's shared pin file through a temporary name, replacing a stale one left by
/// a dead process that had this pid (only this process's table writes names with its pid).
fn write_pin_file(io: &dyn Io, tmp: &Path, path: &Path, blob: &str) -> io::Result<()> {
    let _ = io.remove_file(tmp);
    let text = format!(
        "{PIN_HEADER}\npid {}\nhost {}\nblob {blob}\n",
        std::process::id(),
        hostname()
    );
    let file = io.create_new(tmp)?;
    file.write_at(0, text.as_bytes())?;
    drop(file);
    io.rename(tmp, path)
}

/// Removes a pin file.
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
        if owner(&name).is_some_and(|(pid, tag)| tag == host_tag(&host) && !pid_alive(pid)) {
            let _ = io.remove_file(&path);
            continue;
        }
        if name.ends_with(".tmp") {
            set.unreadable.push(name);
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

/// The pid and host tag a pin file's name carries (`<pid>-<host tag>-b-...`).
fn owner(name: &str) -> Option<(u32, &str)> {
    let mut fields = name.splitn(3, '-');
    let pid = fields.next()?.parse().ok()?;
    let tag = fields.next()?;
    Some((pid, tag))
}

/// The 8-hex-digit tag of a host's name in pin file names.
fn host_tag(host: &str) -> String {
    format!("{:08x}", crc32c::crc32c(host.as_bytes()))
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
        let io: Arc<dyn Io> = Arc::new(StdIo);
        let blobs = vec!["a".to_string(), "b".to_string()];
        let pins = pin_blobs(&io, dir.path(), &blobs).unwrap();
        let shared = pin_blobs(&io, dir.path(), &blobs[..1]).unwrap();
        let mut read = read_pins(io.as_ref(), dir.path()).unwrap().blobs;
        read.sort();
        assert_eq!(
            read, blobs,
            "one file per blob, shared by this process's holders"
        );
        std::fs::write(dir.path().join("pins/junk.pin"), b"garbage").unwrap();
        let set = read_pins(io.as_ref(), dir.path()).unwrap();
        assert_eq!(set.unreadable, vec!["junk.pin".to_string()]);
        std::fs::remove_file(dir.path().join("pins/junk.pin")).unwrap();
        drop(pins);
        assert_eq!(
            read_pins(io.as_ref(), dir.path()).unwrap().blobs,
            vec!["a".to_string()]
        );
        drop(shared);
        assert_eq!(
            read_pins(io.as_ref(), dir.path()).unwrap(),
            PinSet::default()
        );
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

    #[test]
    fn a_torn_pin_is_removed_only_when_its_name_says_a_dead_process_of_this_host() {
        let dir = tempfile::tempdir().unwrap();
        let io = StdIo;
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        std::fs::create_dir_all(dir.path().join("pins")).unwrap();
        let ours = format!("{dead_pid}-{}-b-v-1.pin", host_tag(&hostname()));
        let elsewhere = format!("{dead_pid}-{}-b-v-1.pin", host_tag("another-host"));
        // What a power cut leaves of a pin renamed before its data reached the disk.
        std::fs::write(dir.path().join("pins").join(&ours), b"").unwrap();
        std::fs::write(
            dir.path().join("pins").join(&elsewhere),
            b"faultline-pin 1\npi",
        )
        .unwrap();
        let set = read_pins(&io, dir.path()).unwrap();
        assert_eq!(
            set.unreadable,
            vec![elsewhere],
            "another host's torn pin keeps every blob"
        );
        assert!(!dir.path().join("pins").join(&ours).exists());
    }
}
