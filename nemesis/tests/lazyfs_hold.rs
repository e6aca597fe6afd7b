//! A held fsync on a real mount: the fsync waits with its data pending, a power cut taken
//! meanwhile loses (or tears) that data, and the released fsync fails with `EIO`; an fsync
//! nothing holds goes through.

mod lazyfs_support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::Duration;

use lazyfs_support::{fsync_dir, mount, write_file};
use nemesis::lazyfs::{CrashPolicy, HoldRelease};

#[test]
fn a_power_cut_inside_a_held_fsync_loses_its_data_and_the_fsync_fails() {
    let Some(fx) = mount(CrashPolicy::lose_everything()) else {
        return;
    };
    write_file(&fx.path("log"), b"synced;", true);
    fsync_dir(&fx.mount_point);
    fx.fs.hold_next_fsync("log", 4).expect("arm");
    let path = fx.path("log");
    let writer = std::thread::spawn(move || {
        let mut file = OpenOptions::new().append(true).open(path).expect("open");
        file.write_all(b"pending").expect("write");
        file.sync_all()
    });
    let held = fx.fs.wait_held(Duration::from_secs(10)).expect("held");
    assert_eq!(held.path, "log");
    assert_ne!(held.caller_pid, 0, "the kernel names the caller");
    fx.fs
        .power_cut(3)
        .expect("power cut while the fsync is held");
    fx.fs.release_held(HoldRelease::Fail);
    let synced = writer.join().expect("writer");
    assert_eq!(
        synced.expect_err("the held fsync fails").raw_os_error(),
        Some(libc::EIO)
    );
    assert_eq!(fs::read(fx.path("log")).expect("read"), b"synced;");
    // Nothing armed: fsyncs go through.
    write_file(&fx.path("other"), b"kept", true);
    fsync_dir(&fx.mount_point);
    assert_eq!(fx.fs.wait_held(Duration::from_millis(10)), None);
}

#[test]
fn a_held_create_waits_before_the_file_exists_and_names_its_caller() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    fs::create_dir(fx.path("store")).expect("mkdir");
    let pending_before = fx.fs.pending_ops();
    fx.fs.hold_next_create("store/MANIFEST*").expect("arm");
    let path = fx.path("store/MANIFEST.2");
    let creator = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map(|_| ());
        (tid, created)
    });
    let held = fx.fs.wait_held(Duration::from_secs(10)).expect("held");
    assert_eq!(held.path, "store/MANIFEST.2");
    assert_eq!(
        fx.fs.pending_ops(),
        pending_before,
        "the held create has not happened yet"
    );
    fx.fs.release_held(HoldRelease::Proceed);
    let (tid, created) = creator.join().expect("creator");
    created.expect("the released create goes on");
    assert_eq!(held.caller_pid, tid, "the hold names the calling thread");
    assert_eq!(fx.fs.pending_ops(), pending_before + 1);
    assert!(fx.path("store/MANIFEST.2").exists());
}

#[test]
fn a_held_append_answered_early_lands_only_at_its_release() {
    use std::os::unix::fs::FileExt;
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    write_file(&fx.path("log"), b"head;", true);
    fx.fs.hold_next_write("log", 1).expect("arm");
    let file = OpenOptions::new()
        .write(true)
        .open(fx.path("log"))
        .expect("open");
    file.write_all_at(b"HEAD;", 0)
        .expect("a rewrite is not an append: not held");
    let appender = std::thread::spawn(move || file.write_all_at(b"tail;", 5));
    let held = fx
        .fs
        .wait_held(Duration::from_secs(10))
        .expect("the append is held");
    assert_eq!(held.path, "log");
    fx.fs.answer_held();
    appender
        .join()
        .expect("appender")
        .expect("answered as written");
    assert_eq!(
        fs::read(fx.path("log")).expect("read"),
        b"HEAD;",
        "the answered append has not landed"
    );
    fx.fs.release_held(HoldRelease::Proceed);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fs::read(fx.path("log")).expect("read") != b"HEAD;tail;" {
        assert!(
            std::time::Instant::now() < deadline,
            "the append never landed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
