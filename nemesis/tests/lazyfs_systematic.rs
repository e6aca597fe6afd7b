//! The systematic crash-state generator on traces recorded by a real mount: it finds the
//! missing directory fsync of "write tmp, fsync, rename" and passes the correct program.

mod lazyfs_support;

use std::fs;

use lazyfs_support::{fsync_dir, mount, write_file};
use nemesis::lazyfs::{explore_trace, load_trace, CrashPolicy, DiskImage, Exploration, TraceEvent};

const VALUE: &[u8] = &[0xab; 2000];

/// Run the atomic-replace program on a fresh mount with the trace on; explore its crashes.
fn explore(fsync_directory: bool) -> Option<Exploration> {
    let fx = mount(CrashPolicy::default())?;
    let trace = fx.outside.join("trace.jsonl");
    fx.fs.start_trace(&trace).expect("start trace");
    write_file(&fx.path("value.tmp"), VALUE, true);
    fs::rename(fx.path("value.tmp"), fx.path("value")).expect("rename");
    if fsync_directory {
        fsync_dir(&fx.mount_point);
    }
    fx.fs.mark("committed");
    assert_eq!(fx.fs.stop_trace(), Some(trace.clone()));
    let events = load_trace(&trace).expect("load trace");
    let exploration = explore_trace(&DiskImage::default(), &events, 10_000, |done, image| {
        let committed = done
            .iter()
            .any(|e| matches!(e, TraceEvent::Mark { label } if label == "committed"));
        match image.file("value") {
            Some(content) if content != VALUE => {
                Err(format!("value holds {} wrong bytes", content.len()))
            }
            None if committed => Err("value missing after it was committed".to_owned()),
            _ => Ok(()),
        }
    })
    .expect("replay");
    Some(exploration)
}

#[test]
fn finds_the_missing_directory_fsync() {
    let Some(exploration) = explore(false) else {
        return;
    };
    assert!(!exploration.truncated);
    assert!(!exploration.violations.is_empty(), "{exploration:?}");
    let violation = &exploration.violations[0];
    assert!(
        violation.problem.contains("missing after it was committed"),
        "{violation:?}"
    );
    assert!(violation.crash_state.contains("rename"), "{violation:?}");
}

#[test]
fn passes_the_program_that_fsyncs_the_directory() {
    let Some(exploration) = explore(true) else {
        return;
    };
    assert!(!exploration.truncated);
    assert_eq!(exploration.violations, vec![]);
    println!(
        "crash points {}, crash states {}",
        exploration.crash_points, exploration.crash_states
    );
    assert!(
        exploration.crash_states > exploration.crash_points,
        "{exploration:?}"
    );
}

#[test]
fn a_live_mount_enumerates_its_crash_states_and_cuts_into_a_chosen_one() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    write_file(&fx.path("value.tmp"), VALUE, true);
    fs::rename(fx.path("value.tmp"), fx.path("value")).expect("rename");
    let (states, truncated) = fx.fs.crash_states(100);
    assert!(!truncated);
    let lost = states
        .iter()
        .find(|s| s.image.file("value").is_none())
        .expect("a state without value");
    assert!(
        states.iter().any(|s| s.image.file("value") == Some(VALUE)),
        "and one with it"
    );
    fx.fs.power_cut_to(lost).expect("cut into the chosen state");
    assert!(!fx.path("value").exists());
    assert_eq!(fx.fs.pending_ops(), 0);
}
