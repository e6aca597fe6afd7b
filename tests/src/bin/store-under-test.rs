//! The reference store's line-protocol server, built inside the tests package so that the
//! end-to-end tests find it with `env!("CARGO_BIN_EXE_store-under-test")`.
//!
//! Usage: `store-under-test --dir DIR [--workers N] [--lease-ms MS] [--max-hold-ms MS]
//! [--mutant NAME]` (the same defaults as `store serve`). A planted bug (store/src/mutant.rs) is activated by `--mutant` or the
//! `FAULTLINE_MUTANT` environment variable; a name this build cannot run exits with status 2.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use store::{Store, StoreOptions};

fn main() -> ExitCode {
    let mut dir = None;
    let mut workers = 8;
    let mut options = StoreOptions::default();
    if let Err(error) = store::mutant::activate_from_env() {
        eprintln!("store-under-test: {}: {error}", store::mutant::ENV_VAR);
        return ExitCode::from(2);
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--dir", Some(value)) => dir = Some(PathBuf::from(value)),
            ("--workers", Some(value)) => match value.parse() {
                Ok(number) => workers = number,
                Err(_) => return usage(&format!("--workers {value:?}: expected a number")),
            },
            ("--lease-ms", Some(value)) => match value.parse() {
                Ok(number) => options.lease_ms = number,
                Err(_) => return usage(&format!("--lease-ms {value:?}: expected milliseconds")),
            },
            ("--max-hold-ms", Some(value)) => match value.parse() {
                Ok(number) => options.max_hold_ms = number,
                Err(_) => return usage(&format!("--max-hold-ms {value:?}: expected milliseconds")),
            },
            ("--mutant", Some(name)) => {
                let activated = store::mutant::parse(&name).and_then(store::mutant::activate);
                if let Err(error) = activated {
                    eprintln!("store-under-test: --mutant: {error}");
                    return ExitCode::from(2);
                }
            }
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(dir) = dir else {
        return usage("--dir DIR is required");
    };
    let served = match Store::open(&dir, options) {
        Ok(store) => store::serve::serve(&store, io::stdin().lock(), io::stdout(), workers),
        // Invalid data: refuse every request (as `store serve` does) rather than crash.
        Err(error) if error.code() == "corrupt" => {
            eprintln!(
                "store-under-test: {} cannot be opened: {error}",
                dir.display()
            );
            store::serve::serve_refusing(&error, io::stdin().lock(), io::stdout())
        }
        Err(error) => {
            eprintln!("store-under-test: opening {}: {error}", dir.display());
            return ExitCode::from(2);
        }
    };
    match served {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("store-under-test: serving: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "store-under-test: {problem}\n\
         usage: store-under-test --dir DIR [--workers N] [--lease-ms MS] [--max-hold-ms MS] \
         [--mutant NAME]"
    );
    ExitCode::from(2)
}
