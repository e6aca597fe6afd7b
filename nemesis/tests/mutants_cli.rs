//! `faultline mutants` from the outside: bad input exits 3 with a message naming what was
//! wrong, a missing mutant-capable store is a clear error saying how to build one, and a store
//! that does not run the mutant asked for (a clean build) is refused, never measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FAULTLINE: &str = env!("CARGO_BIN_EXE_faultline");

fn faultline(args: &[&str], cwd: &Path) -> Output {
    Command::new(FAULTLINE)
        .arg("mutants")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("faultline runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts exit code 3 and that stderr holds every one of `expected`.
fn assert_refused(output: &Output, expected: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(3), "{text}");
    for part in expected {
        assert!(text.contains(part), "stderr lacks {part:?}:\n{text}");
    }
}

#[test]
fn bad_input_exits_3_naming_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let sut = ["--sut", "true"];
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--budget", "banana"], &["--budget", "banana"]),
        (&["--seeds", "0"], &["--seeds", "0"]),
        (
            &["--only", "ack-before-fsink"],
            &[
                "--only",
                "ack-before-fsink",
                "ack-before-fsync",
                "no-fencing",
            ],
        ),
        (&["--replays", "11"], &["--replays 11", "at most 10"]),
        (
            &["--seeds", "100", "--budget", "1s"],
            &["--seeds 100", "shorter than 300 ms"],
        ),
        (&["--faults", "meteor"], &["--faults", "\"meteor\""]),
    ];
    for (args, expected) in cases {
        let mut all = sut.to_vec();
        all.extend_from_slice(args);
        assert_refused(&faultline(&all, dir.path()), expected);
    }
}

#[test]
fn without_a_mutant_capable_store_it_says_how_to_build_one() {
    // A copy of faultline outside the workspace's target/, run from an empty directory, finds
    // no store built with the `mutants` feature either beside it or below the directory.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let copy: PathBuf = bin.join("faultline");
    if std::fs::hard_link(FAULTLINE, &copy).is_err() {
        std::fs::copy(FAULTLINE, &copy).unwrap();
    }
    let output = Command::new(&copy)
        .args(["mutants", "--budget", "1s"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_refused(
        &output,
        &[
            "no store built with the `mutants` feature",
            "cargo build --release -p store --features mutants --target-dir target/mutants",
            "--sut",
        ],
    );
}

/// A store that serves the line protocol but ignores FAULTLINE_MUTANT, as a build without the
/// `mutants` feature would if it did not refuse: its `hello` names no mutant.
const IGNORES_THE_MUTANT: &str = r#"sed -u -E 's/.*"id":([0-9]+).*/{"id":\1,"type":"ok","protocol":1,"store":"clean","promises":{"kill":"survive"}}/'"#;

/// A store built without the feature that refuses to start when a mutant is asked for.
const REFUSES_THE_MUTANT: &str = "echo \"mutant $FAULTLINE_MUTANT asked for, but this store was \
     built without the mutants feature\" >&2; exit 2";

#[test]
fn a_store_that_does_not_run_the_mutant_is_refused_not_measured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let common = [
        "--only",
        "no-fencing",
        "--budget",
        "2s",
        "--faults",
        "kill_one",
        "--processes",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let mut args = vec!["--sut", IGNORES_THE_MUTANT];
    args.extend_from_slice(&common);
    let output = faultline(&args, dir.path());
    assert_refused(
        &output,
        &[
            "mutant 10 no-fencing",
            "FAULTLINE_MUTANT=no-fencing",
            "no `mutant` field",
            "does not run the mutant",
        ],
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).is_empty(),
        "no table for a benchmark that was not carried out"
    );

    let mut args = vec!["--sut", REFUSES_THE_MUTANT];
    args.extend_from_slice(&common);
    assert_refused(
        &faultline(&args, dir.path()),
        &[
            "did not answer hello",
            "mutant no-fencing asked for, but this store was built without the mutants feature",
        ],
    );
}
