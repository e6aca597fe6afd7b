//! The reference store's line-protocol server, built inside the tests package so that the
//! end-to-end tests find it with `env!("CARGO_BIN_EXE_store-under-test")`.
//!
//! Usage: `store-under-test --dir DIR [--workers N]` (the same defaults as `store serve`).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use store::{Store, StoreOptions};

fn main() -> ExitCode {
    let mut dir = None;
    let mut workers = 8;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--dir", Some(value)) => dir = Some(PathBuf::from(value)),
            ("--workers", Some(value)) => match value.parse() {
                Ok(number) => workers = number,
                Err(_) => return usage(&format!("--workers {value:?}: expected a number")),
            },
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(dir) = dir else {
        return usage("--dir DIR is required");
    };
    let store = match Store::open(&dir, StoreOptions::default()) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("store-under-test: opening {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    match store::serve::serve(&store, io::stdin().lock(), io::stdout(), workers) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("store-under-test: serving: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("store-under-test: {problem}\nusage: store-under-test --dir DIR [--workers N]");
    ExitCode::from(2)
}
