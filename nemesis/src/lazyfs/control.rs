//! The control interface: a tiny line protocol, served on a Unix socket by
//! [`ControlServer`] and callable in-process through [`MountedLazyFs::control`].
//!
//! One command per line; one answer line per command, `ok [JSON or text]` or `error TEXT`:
//!
//! ```text
//! power-cut [SEED]               cut the power (default seed: mount seed + earlier cuts)
//! inject KIND PATTERN [COUNT]    KIND: fsync-eio | enospc | bitflip | misdirect
//! heal                           disarm every fault
//! trace start FILE | trace stop  record the operation trace (FILE outside the mount)
//! mark LABEL                     put a label in the trace
//! status                         pending operations, memory held, armed faults
//! crash-states [MAX]             the systematic crash states of what is pending now
//! power-cut-state INDEX [MAX]    cut the power into state INDEX of `crash-states [MAX]`
//! rot PATTERN [MARGIN]           flip a bit at rest, MARGIN bytes (default 4096) before the end
//! misplace PATTERN               one file's content lands under another's name
//! ```
//!
//! [`MountedLazyFs::control`]: super::MountedLazyFs::control

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::faults::{Fault, FaultKind};
use super::fs::Shared;
use super::systematic::enumerate_crash_states;
use super::{LazyFsError, MountedLazyFs, PathPattern};

/// Longest command line accepted.
pub const MAX_COMMAND_BYTES: usize = 4096;

/// Run one command line against a mount's state; returns the text after `ok`.
pub(crate) fn execute(shared: &Shared, line: &str) -> Result<String, LazyFsError> {
    let bad = |reason: &str| LazyFsError::Control {
        line: line.to_owned(),
        reason: reason.to_owned(),
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["power-cut"] | ["power-cut", _] => {
            let seed = match words.get(1) {
                Some(text) => text
                    .parse()
                    .map_err(|_| bad("the seed must be an unsigned integer"))?,
                None => shared.lock().next_cut_seed(),
            };
            let report = shared.lock().power_cut(seed)?;
            Ok(serde_json::to_string(&report).unwrap_or_default())
        }
        ["inject", kind, pattern] | ["inject", kind, pattern, _] => {
            let kind: FaultKind = kind.parse().map_err(|reason: String| bad(&reason))?;
            let pattern = PathPattern::new(pattern)?;
            let remaining = match words.get(3) {
                Some(text) => Some(
                    text.parse()
                        .map_err(|_| bad("COUNT must be an unsigned integer"))?,
                ),
                None => None,
            };
            shared.lock().inject(Fault {
                kind,
                pattern,
                remaining,
            });
            Ok(String::new())
        }
        ["heal"] => {
            shared.lock().heal();
            Ok(String::new())
        }
        ["trace", "start", file] => {
            shared.lock().start_trace(Path::new(file))?;
            Ok(String::new())
        }
        ["trace", "stop"] => Ok(shared
            .lock()
            .stop_trace()
            .map(|p| p.display().to_string())
            .unwrap_or_default()),
        ["mark", ..] if words.len() > 1 => {
            shared
                .lock()
                .mark(line.trim().trim_start_matches("mark").trim());
            Ok(String::new())
        }
        ["crash-states"] | ["crash-states", _] => {
            let max = parse_max(words.get(1)).map_err(|reason| bad(&reason))?;
            let (states, truncated) = enumerate_crash_states(&shared.lock().model, max);
            let descriptions: Vec<&str> = states.iter().map(|s| s.description.as_str()).collect();
            Ok(serde_json::json!({ "states": descriptions, "truncated": truncated }).to_string())
        }
        ["power-cut-state", index] | ["power-cut-state", index, _] => {
            let index: usize = index
                .parse()
                .map_err(|_| bad("INDEX must be an unsigned integer"))?;
            let max = parse_max(words.get(2)).map_err(|reason| bad(&reason))?;
            let mut state = shared.lock();
            let (states, _) = enumerate_crash_states(&state.model, max);
            let chosen = states
                .get(index)
                .ok_or_else(|| bad(&format!("there are only {} crash states", states.len())))?;
            state.power_cut_to(&chosen.image, &chosen.description)?;
            Ok(String::new())
        }
        ["rot", pattern] | ["rot", pattern, _] => {
            let pattern = PathPattern::new(pattern)?;
            let margin = match words.get(2) {
                Some(text) => text
                    .parse()
                    .map_err(|_| bad("MARGIN must be an unsigned integer"))?,
                None => DEFAULT_ROT_MARGIN_BYTES,
            };
            let done = shared.lock().rot(&pattern, margin)?;
            Ok(done.unwrap_or_else(|| "no file long enough".to_owned()))
        }
        ["misplace", pattern] => {
            let pattern = PathPattern::new(pattern)?;
            let done = shared.lock().misplace(&pattern)?;
            Ok(done.unwrap_or_else(|| "not two different files".to_owned()))
        }
        ["status"] => {
            let state = shared.lock();
            let (used_bytes, limit_bytes) = state.model.used_bytes();
            let status = serde_json::json!({
                "pending_ops": state.model.pending().len(),
                "used_bytes": used_bytes,
                "limit_bytes": limit_bytes,
                "faults": state.faults.armed(),
            });
            Ok(status.to_string())
        }
        _ => Err(bad(
            "expected power-cut [SEED], inject KIND PATTERN [COUNT], heal, trace start FILE, \
             trace stop, mark LABEL, status, crash-states [MAX], power-cut-state INDEX [MAX], \
             rot PATTERN [MARGIN] or misplace PATTERN",
        )),
    }
}

/// Default margin of `rot`: bytes before a file's durable end that a decayed bit never hits.
pub const DEFAULT_ROT_MARGIN_BYTES: u64 = 4096;

/// Default bound of `crash-states` and `power-cut-state`.
pub const DEFAULT_MAX_CRASH_STATES: usize = 1000;

fn parse_max(word: Option<&&str>) -> Result<usize, String> {
    match word {
        None => Ok(DEFAULT_MAX_CRASH_STATES),
        Some(text) => text
            .parse()
            .map_err(|_| "MAX must be an unsigned integer".to_owned()),
    }
}

/// Serves the line protocol on a Unix socket until dropped (then removes the socket file).
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Listen on `path` (a stale socket file there is replaced) for commands to `mount`.
    pub fn start(path: &Path, mount: &MountedLazyFs) -> Result<Self, LazyFsError> {
        let socket_error = |source| LazyFsError::LogFile {
            path: path.to_path_buf(),
            source,
        };
        if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_socket()) {
            std::fs::remove_file(path).map_err(socket_error)?;
        }
        let listener = UnixListener::bind(path).map_err(socket_error)?;
        let stop = Arc::new(AtomicBool::new(false));
        let shared = mount.shared();
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve_connection(&shared, stream));
            }
        });
        Ok(Self {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve_connection(shared: &Shared, stream: UnixStream) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_COMMAND_BYTES as u64)
            .read_line(&mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = if !line.ends_with('\n') && line.len() >= MAX_COMMAND_BYTES {
            format!("error command longer than {MAX_COMMAND_BYTES} bytes\n")
        } else {
            match execute(shared, line.trim()) {
                Ok(text) if text.is_empty() => "ok\n".to_owned(),
                Ok(text) => format!("ok {text}\n"),
                Err(error) => format!("error {}\n", error.to_string().replace('\n', " ")),
            }
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
