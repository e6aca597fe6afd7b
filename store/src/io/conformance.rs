//! The conformance suite every [`Io`] implementation must pass: [`check`] runs each contract
//! of the trait against an implementation, in a scratch directory it owns. `StdIo` runs it in
//! this crate's tests; a simulated disk (faultline's lazy filesystem) runs it in its own.
//!
//! It checks behaviour without faults: what the store relies on when nothing goes wrong
//! (O_EXCL exclusivity, positional IO, truncation, atomic rename over a file, error kinds).
//! Crash behaviour is the nemesis's to explore, not this suite's.

use std::io::ErrorKind;
use std::path::Path;

use crate::io::{read_exact_at, Io};

/// A contract an implementation broke.
#[derive(Debug, thiserror::Error)]
#[error("io conformance: {contract}: {detail}")]
pub struct ConformanceFailure {
    /// The contract, in words.
    pub contract: &'static str,
    /// What happened instead.
    pub detail: String,
}

fn fail(contract: &'static str, detail: impl Into<String>) -> ConformanceFailure {
    ConformanceFailure {
        contract,
        detail: detail.into(),
    }
}

fn ok<T>(contract: &'static str, result: std::io::Result<T>) -> Result<T, ConformanceFailure> {
    result.map_err(|error| fail(contract, format!("unexpected error: {error}")))
}

fn expect_kind<T>(
    contract: &'static str,
    result: std::io::Result<T>,
    kind: ErrorKind,
) -> Result<(), ConformanceFailure> {
    match result {
        Err(error) if error.kind() == kind => Ok(()),
        Err(error) => Err(fail(contract, format!("expected {kind:?}, got {error}"))),
        Ok(_) => Err(fail(contract, format!("expected {kind:?}, got success"))),
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(
    contract: &'static str,
    found: T,
    expected: T,
) -> Result<(), ConformanceFailure> {
    if found == expected {
        Ok(())
    } else {
        Err(fail(
            contract,
            format!("expected {expected:?}, found {found:?}"),
        ))
    }
}

/// Runs every contract against `io` inside `scratch` (an empty directory `io` can write).
pub fn check(io: &dyn Io, scratch: &Path) -> Result<(), ConformanceFailure> {
    let dir = scratch.join("conformance/nested");
    ok("create_dir_all creates parents", io.create_dir_all(&dir))?;
    ok("create_dir_all is idempotent", io.create_dir_all(&dir))?;
    let a = dir.join("a");
    let b = dir.join("b");

    let file = ok("create_new creates a file", io.create_new(&a))?;
    expect_kind(
        "create_new fails with AlreadyExists on an existing file",
        io.create_new(&a).map(drop),
        ErrorKind::AlreadyExists,
    )?;
    expect_eq("a new file is empty", ok("len_bytes", file.len_bytes())?, 0)?;
    ok("write_at", file.write_at(0, b"hello"))?;
    ok("write_at past the end", file.write_at(8, b"xyz"))?;
    expect_eq(
        "write_at past the end extends",
        ok("len_bytes", file.len_bytes())?,
        11,
    )?;
    let mut buf = [0u8; 11];
    ok("read_exact_at", read_exact_at(file.as_ref(), 0, &mut buf))?;
    expect_eq("a gap reads as zeros", &buf[..], &b"hello\0\0\0xyz"[..])?;
    let mut tail = [0u8; 4];
    expect_eq(
        "read_at at the end returns 0",
        ok("read_at", file.read_at(11, &mut tail))?,
        0,
    )?;
    ok("sync", file.sync())?;
    ok("set_len truncates", file.set_len(5))?;
    expect_eq("set_len truncates", ok("len_bytes", file.len_bytes())?, 5)?;
    ok("set_len extends", file.set_len(7))?;
    expect_eq(
        "set_len extends with zeros",
        ok("read", io.read(&a))?,
        b"hello\0\0".to_vec(),
    )?;
    drop(file);

    let reopened = ok("open an existing file", io.open(&a))?;
    ok("write_at on a reopened file", reopened.write_at(0, b"J"))?;
    expect_eq(
        "open does not truncate",
        ok("read", io.read(&a))?,
        b"Jello\0\0".to_vec(),
    )?;
    drop(reopened);

    let other = ok("create_new", io.create_new(&b))?;
    ok("write_at", other.write_at(0, b"other"))?;
    drop(other);
    expect_eq(
        "list_dir lists entries sorted",
        ok("list_dir", io.list_dir(&dir))?,
        vec!["a".to_string(), "b".to_string()],
    )?;
    ok("rename over an existing file", io.rename(&b, &a))?;
    expect_eq(
        "rename replaces the target",
        ok("read", io.read(&a))?,
        b"other".to_vec(),
    )?;
    expect_kind(
        "the renamed source is gone",
        io.read(&b).map(drop),
        ErrorKind::NotFound,
    )?;
    ok("sync_dir", io.sync_dir(&dir))?;
    ok("remove_file", io.remove_file(&a))?;
    expect_eq(
        "list_dir omits removed files",
        ok("list_dir", io.list_dir(&dir))?,
        Vec::<String>::new(),
    )?;
    expect_kind(
        "open of a missing file is NotFound",
        io.open(&a).map(drop),
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "remove_file of a missing file is NotFound",
        io.remove_file(&a),
        ErrorKind::NotFound,
    )?;
    expect_kind(
        "list_dir of a missing directory is NotFound",
        io.list_dir(&dir.join("missing")).map(drop),
        ErrorKind::NotFound,
    )?;
    Ok(())
}
