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
    let held = fx.fs.wait_held_fsync(Duration::from_secs(10));
    assert_eq!(held.as_deref(), Some("log"));
    fx.fs
        .power_cut(3)
        .expect("power cut while the fsync is held");
    fx.fs.release_held_fsync(HoldRelease::Fail);
    let synced = writer.join().expect("writer");
    assert_eq!(
        synced.expect_err("the held fsync fails").raw_os_error(),
        Some(libc::EIO)
    );
    assert_eq!(fs::read(fx.path("log")).expect("read"), b"synced;");
    // Nothing armed: fsyncs go through.
    write_file(&fx.path("other"), b"kept", true);
    fsync_dir(&fx.mount_point);
    assert_eq!(fx.fs.wait_held_fsync(Duration::from_millis(10)), None);
}
