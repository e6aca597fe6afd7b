//! `store demo`, the newcomer's first command, runs end to end: it kills a child server with
//! SIGKILL mid-write, recovers, finds every acknowledged write and exits 0.

use std::process::Command;

#[test]
fn the_demo_recovers_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_store"))
        .args(["demo", "--writers", "4", "--write-ms", "500", "--dir"])
        .arg(&run_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed:\n{stdout}");
    assert!(stdout.contains("writes acknowledged"), "{stdout}");
    assert!(
        stdout.contains("OK: no acknowledged write lost"),
        "{stdout}"
    );

    // A second run refuses a directory that is not empty instead of mixing histories.
    let again = Command::new(env!("CARGO_BIN_EXE_store"))
        .args(["demo", "--dir"])
        .arg(&run_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}
