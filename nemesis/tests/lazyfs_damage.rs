//! Damage to data at rest on a real mount: a decayed bit (never in a file's first 512 bytes
//! nor in the margin before its end) and a blob's content under a sibling blob's name, both
//! seen by readers, kept in the backing directory and written to the fault log, and the first
//! read of damaged bytes logged as `damage-read` until they are rewritten.

mod lazyfs_support;

use std::fs;

use lazyfs_support::{fsync_dir, keep_everything, mount, write_file};

#[test]
fn a_decayed_bit_lands_inside_the_file_and_stays_after_a_power_cut() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    let original = vec![0u8; 16 * 1024];
    write_file(&fx.path("log"), &original, true);
    write_file(&fx.path("short"), &[0u8; 600], true);
    fsync_dir(&fx.mount_point);
    let done = fx.fs.rot("*", 4096).expect("rot").expect("a long file");
    assert!(done.contains("log"), "{done}");
    let damaged = fs::read(fx.path("log")).expect("read");
    let changed: Vec<usize> = (0..damaged.len())
        .filter(|&i| damaged[i] != original[i])
        .collect();
    assert_eq!(changed.len(), 1, "one byte changed");
    assert!(
        (512..original.len() - 4096).contains(&changed[0]),
        "{changed:?}"
    );
    assert_eq!(fs::read(fx.backing.join("log")).expect("backing"), damaged);
    let damage_reads = |fx: &lazyfs_support::Fixture| {
        fx.fs
            .fault_log()
            .iter()
            .filter(|e| e.event == "damage-read")
            .count()
    };
    assert_eq!(
        damage_reads(&fx),
        1,
        "the read of the damaged byte is logged"
    );
    fs::read(fx.path("log")).expect("read again");
    assert_eq!(damage_reads(&fx), 1, "once");
    fx.fs.power_cut(1).expect("power cut");
    assert_eq!(fs::read(fx.path("log")).expect("read"), damaged, "durable");
    assert!(fx.fs.fault_log().iter().any(|e| e.event == "bit-rot"));
    assert!(
        fx.fs.rot("short", 4096).expect("rot").is_none(),
        "a file shorter than the margins is never hit"
    );
    // Rewritten data is no longer damage: reading it is not reported.
    fx.fs.rot("log", 4096).expect("rot").expect("hit");
    write_file(&fx.path("log"), &original, true);
    fs::read(fx.path("log")).expect("read the rewritten file");
    assert_eq!(damage_reads(&fx), 1, "a rewritten range is forgotten");
}

#[test]
fn a_blob_lands_under_its_siblings_name() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    fs::create_dir(fx.path("blobs")).expect("mkdir");
    write_file(&fx.path("blobs/v-0a1b"), b"a value", true);
    write_file(
        &fx.path("blobs/snap-1763900000-7-1"),
        b"older snapshot",
        true,
    );
    write_file(
        &fx.path("blobs/snap-1763900001-7-2"),
        b"newer snapshot",
        true,
    );
    fsync_dir(&fx.path("blobs"));
    fsync_dir(&fx.mount_point);
    let done = fx
        .fs
        .misplace("**/blobs/*")
        .expect("misplace")
        .expect("two blobs");
    assert!(
        done.contains("snap-1763900000-7-1") && done.contains("landed under"),
        "{done}"
    );
    assert_eq!(
        fs::read(fx.path("blobs/snap-1763900001-7-2")).expect("read"),
        b"older snapshot"
    );
    assert_eq!(fs::read(fx.path("blobs/v-0a1b")).expect("read"), b"a value");
    fx.fs.power_cut(2).expect("power cut");
    assert_eq!(
        fs::read(fx.path("blobs/snap-1763900001-7-2")).expect("read"),
        b"older snapshot",
        "durable"
    );
}
