//! Injected faults on a real mount: fsync EIO (ext4 semantics), ENOSPC, bit flips on read,
//! misdirected writes, each aimed by a path pattern and written to the fault log.

mod lazyfs_support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;

use lazyfs_support::{fsync_dir, keep_everything, mount, mount_with, write_file};
use nemesis::lazyfs::FaultKind;

#[test]
fn fsync_eio_loses_the_data_at_the_next_cut_while_a_later_fsync_succeeds() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    write_file(&fx.path("data.log"), b"", true);
    write_file(&fx.path("other.log"), b"", true);
    fsync_dir(&fx.mount_point);
    fx.fs
        .inject(FaultKind::FsyncEio, "data.log", Some(1))
        .expect("inject");
    let mut file = OpenOptions::new()
        .append(true)
        .open(fx.path("data.log"))
        .expect("open");
    file.write_all(b"acknowledged?").expect("write");
    let error = file.sync_all().expect_err("first fsync fails");
    assert_eq!(error.raw_os_error(), Some(libc::EIO));
    file.sync_all()
        .expect("the next fsync succeeds: the pages were marked clean");
    assert_eq!(
        fs::read(fx.path("data.log")).expect("read"),
        b"acknowledged?",
        "still cached"
    );
    let mut other = OpenOptions::new()
        .append(true)
        .open(fx.path("other.log"))
        .expect("open");
    other.write_all(b"kept").expect("write");
    drop((file, other));
    fx.fs
        .power_cut(9)
        .expect("power cut keeping every pending op");
    assert_eq!(
        fs::read(fx.path("data.log")).expect("read"),
        b"",
        "EIO data is lost"
    );
    assert_eq!(
        fs::read(fx.path("other.log")).expect("read"),
        b"kept",
        "unfaulted path kept"
    );
    let log = fx.fs.fault_log();
    assert!(
        log.iter()
            .any(|e| e.event == "fsync-eio" && e.path.as_deref() == Some("data.log")),
        "{log:?}"
    );
    let on_disk = fs::read_to_string(fx.outside.join("faults.jsonl")).expect("fault log file");
    assert!(on_disk.contains("fsync-eio") && on_disk.contains("power-cut"));
}

#[test]
fn enospc_surfaces_to_the_writer_until_healed() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    fs::create_dir(fx.path("wal")).expect("mkdir");
    write_file(&fx.path("wal/1.wal"), b"", false);
    fx.fs
        .inject(FaultKind::WriteEnospc, "wal/*.wal", None)
        .expect("inject");
    let mut file = OpenOptions::new()
        .append(true)
        .open(fx.path("wal/1.wal"))
        .expect("open");
    let error = file.write_all(b"record").expect_err("disk full");
    assert_eq!(error.raw_os_error(), Some(libc::ENOSPC));
    let error = fs::write(fx.path("wal/2.wal"), b"x").expect_err("create refused too");
    assert_eq!(error.raw_os_error(), Some(libc::ENOSPC));
    fs::write(fx.path("wal/notes.txt"), b"other files are fine").expect("unmatched path");
    fx.fs.heal();
    file.write_all(b"record").expect("healed");
}

#[test]
fn a_read_returns_one_flipped_bit_once() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    let data = vec![0x5a_u8; 4096];
    write_file(&fx.path("blob"), &data, true);
    fx.fs
        .inject(FaultKind::ReadBitflip, "blob", Some(1))
        .expect("inject");
    let read = fs::read(fx.path("blob")).expect("read");
    let flipped: u32 = read
        .iter()
        .zip(&data)
        .map(|(a, b)| (a ^ b).count_ones())
        .sum();
    assert_eq!(flipped, 1);
    assert_eq!(
        fs::read(fx.path("blob")).expect("read"),
        data,
        "the disk keeps the right data"
    );
}

#[test]
fn a_misdirected_write_lands_at_another_offset_after_the_cut() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    write_file(&fx.path("seg"), &[0u8; 16384], true);
    fsync_dir(&fx.mount_point);
    fx.fs
        .inject(FaultKind::MisdirectedWrite, "seg", Some(1))
        .expect("inject");
    let file = OpenOptions::new()
        .write(true)
        .open(fx.path("seg"))
        .expect("open");
    file.write_all_at(&[7u8; 512], 4096).expect("write");
    file.sync_all().expect("fsync");
    assert_eq!(
        fs::read(fx.path("seg")).expect("read")[4096..4608],
        [7u8; 512],
        "cache shows it right"
    );
    drop(file);
    fx.fs.power_cut(0).expect("power cut");
    let content = fs::read(fx.path("seg")).expect("read");
    assert_eq!(
        content[4096..4608],
        [0u8; 512],
        "the intended sectors never got it"
    );
    let landed = content
        .windows(512)
        .position(|w| w == [7u8; 512])
        .expect("landed somewhere");
    assert_ne!(landed, 4096);
    assert_eq!(landed % 512, 0);
}

#[test]
fn malformed_patterns_and_commands_are_refused_clearly() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    let error = fx
        .fs
        .inject(FaultKind::FsyncEio, "a//b", None)
        .expect_err("bad pattern");
    assert!(
        error.to_string().contains("empty path component"),
        "{error}"
    );
    let error = fx.fs.control("inject melt **").expect_err("bad kind");
    assert!(error.to_string().contains("unknown fault"), "{error}");
    assert!(fx
        .fs
        .control("status")
        .expect("status")
        .contains("\"pending_ops\""));
    for inside in [fx.path("trace.jsonl"), fx.backing.join("trace.jsonl")] {
        let error = fx
            .fs
            .start_trace(&inside)
            .expect_err("a trace inside the tree would deadlock");
        assert!(
            error.to_string().contains("must be kept outside"),
            "{error}"
        );
    }
    fx.fs
        .start_trace(&fx.outside.join("trace.jsonl"))
        .expect("outside is fine");
}

#[test]
fn a_full_cache_refuses_writes_with_enospc_and_says_why() {
    let Some(fx) = mount_with(keep_everything(), 64 * 1024) else {
        return;
    };
    let error = fs::write(fx.path("big"), vec![1u8; 256 * 1024]).expect_err("over the bound");
    assert_eq!(error.raw_os_error(), Some(libc::ENOSPC));
    let log = fx.fs.fault_log();
    let entry = log
        .iter()
        .find(|e| e.event == "cache-full")
        .expect("logged");
    assert!(entry.detail.contains("limit 65536"), "{entry:?}");
    fs::write(fx.path("small"), b"fits").expect("small writes still work");
}

#[test]
fn deleted_files_free_their_memory_once_the_unlink_is_durable() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    let status = |fx: &lazyfs_support::Fixture| -> u64 {
        let text = fx.fs.control("status").expect("status");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        json["used_bytes"].as_u64().expect("used_bytes")
    };
    for round in 0..5 {
        write_file(&fx.path("segment"), &vec![round; 100_000], true);
        fsync_dir(&fx.mount_point);
        fs::remove_file(fx.path("segment")).expect("unlink");
        fsync_dir(&fx.mount_point);
    }
    // The kernel sends RELEASE after close() returns; give it a bounded moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while status(&fx) != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(status(&fx), 0, "nothing held for deleted files");
}
