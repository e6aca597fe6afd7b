//! The line-protocol server behind `store serve` (store/SERVE.md).
//!
//! One thread reads request lines and parses them; a small pool of worker threads runs them
//! against one shared [`Store`] (so concurrent writes share one group commit) and writes each
//! answer, a whole line under one lock, as soon as it is ready: answers come out in completion
//! order, matched to requests by `id`. The queue between reader and workers is bounded: when it
//! is full the reader stops reading (back-pressure), it never drops a request.
//!
//! A directory whose data is invalid cannot be opened; [`serve_refusing`] then still speaks the
//! protocol, answering `hello` and every other request `fail` with the open error, so a client
//! sees a store that refuses to guess rather than a crash.

use std::io::{self, BufRead, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use serde_json::Value;

use crate::store::{Store, StoreError};

mod answer;
mod request;

pub use answer::{PROMISES, PROTOCOL_VERSION};
pub use request::{parse_line, BatchRequestOp, ParsedLine, Request, MAX_BATCH_OPS};

/// Requests read but not yet picked up by a worker, at most.
pub const QUEUE_CAPACITY: usize = 1024;
/// Longest request line accepted, in bytes; longer lines get a `malformed_request` answer.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Counts of what one [`serve`] run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Lines read (empty lines included).
    pub lines: u64,
    /// Answers written.
    pub answers: u64,
    /// Lines answered with `malformed_request`.
    pub malformed: u64,
}

/// Serves requests from `input` until it ends, writing answers to `output`, with `workers`
/// threads (at least 1). Returns when every request read has been answered. An error means
/// reading the input or writing an answer failed.
pub fn serve<R, W>(store: &Store, input: R, output: W, workers: usize) -> io::Result<ServeStats>
where
    R: BufRead,
    W: Write + Send,
{
    serve_target(Target::Open(store), input, output, workers)
}

/// Serves requests from `input` for a store that could not be opened because of
/// `open_error`: `hello` is answered as usual (with an `open_error` field), every other request
/// `fail`s with the error's code and message (store/SERVE.md, "A store that cannot be
/// opened"). Returns when the input ends.
pub fn serve_refusing<R, W>(open_error: &StoreError, input: R, output: W) -> io::Result<ServeStats>
where
    R: BufRead,
    W: Write + Send,
{
    serve_target(Target::Refusing(open_error), input, output, 1)
}

/// What requests run against.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// The open store.
    Open(&'a Store),
    /// Nothing: the store could not be opened, for this reason.
    Refusing(&'a StoreError),
}

fn serve_target<R, W>(
    target: Target<'_>,
    input: R,
    output: W,
    workers: usize,
) -> io::Result<ServeStats>
where
    R: BufRead,
    W: Write + Send,
{
    let output = Mutex::new(output);
    let (sender, receiver) = sync_channel::<(Value, Request)>(QUEUE_CAPACITY);
    let receiver = Mutex::new(receiver);
    let answered = std::sync::atomic::AtomicU64::new(0);
    let mut stats = ServeStats::default();
    std::thread::scope(|scope| -> io::Result<()> {
        let mut handles = Vec::new();
        for _ in 0..workers.max(1) {
            handles.push(scope.spawn(|| work(target, &receiver, &output, &answered)));
        }
        let read_result = read_requests(input, &sender, &output, &mut stats);
        drop(sender);
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(_) => return Err(io::Error::other("a serve worker panicked")),
            }
        }
        read_result
    })?;
    stats.answers += answered.into_inner();
    Ok(stats)
}

fn read_requests<R: BufRead, W: Write>(
    mut input: R,
    sender: &std::sync::mpsc::SyncSender<(Value, Request)>,
    output: &Mutex<W>,
    stats: &mut ServeStats,
) -> io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let mut limited = io::Read::take(input.by_ref(), MAX_LINE_BYTES as u64 + 1);
        let read = limited.read_until(b'\n', &mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        stats.lines += 1;
        let too_long = buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n');
        if too_long {
            skip_rest_of_line(&mut input)?;
        }
        let parsed = match std::str::from_utf8(&buffer) {
            _ if too_long => malformed(
                stats.lines,
                format!("expected at most {MAX_LINE_BYTES} bytes"),
            ),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_line(stats.lines, text.trim()),
            Err(_) => malformed(stats.lines, "expected UTF-8 text".into()),
        };
        match parsed.request {
            Ok(request) => {
                if sender.send((parsed.id, request)).is_err() {
                    return Err(io::Error::other("every serve worker stopped"));
                }
            }
            Err(message) => {
                stats.malformed += 1;
                stats.answers += 1;
                write_answer(output, &answer::malformed_answer(parsed.id, message))?;
            }
        }
    }
}

fn malformed(line_number: u64, message: String) -> ParsedLine {
    ParsedLine {
        id: Value::Null,
        request: Err(format!("line {line_number}: {message}")),
    }
}

fn skip_rest_of_line<R: BufRead>(input: &mut R) -> io::Result<()> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|byte| *byte == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = available.len();
                input.consume(len);
            }
        }
    }
}

fn work<W: Write>(
    target: Target<'_>,
    receiver: &Mutex<Receiver<(Value, Request)>>,
    output: &Mutex<W>,
    answered: &std::sync::atomic::AtomicU64,
) -> io::Result<()> {
    loop {
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return Err(io::Error::other("serve queue lock poisoned")),
        };
        let Ok((id, request)) = next else {
            return Ok(());
        };
        let reply = match target {
            Target::Open(store) => answer::answer(store, id, request),
            Target::Refusing(open_error) => answer::refuse(id, request, open_error),
        };
        write_answer(output, &reply)?;
        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn write_answer<W: Write>(output: &Mutex<W>, answer: &Value) -> io::Result<()> {
    let mut line = serde_json::to_vec(answer).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut output = output
        .lock()
        .map_err(|_| io::Error::other("serve output lock poisoned"))?;
    output.write_all(&line)?;
    output.flush()
}
