//! What survives a power cut on the lazy filesystem, proved with real programs on a real
//! FUSE mount: unsynced data is lost, synced data survives, names need the directory fsync,
//! write-temp-fsync-rename-fsync-dir is atomic, torn writes tear at whole sectors.

mod lazyfs_support;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::process::Command;

use lazyfs_support::{append, fsync_dir, keep_everything, mount, write_file};
use nemesis::lazyfs::CrashPolicy;

#[test]
fn every_process_sees_unsynced_writes_but_the_backing_dir_does_not() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    write_file(&fx.path("log"), b"durable ", true);
    fsync_dir(&fx.mount_point);
    append(&fx.path("log"), b"unsynced");
    let output = Command::new("cat")
        .arg(fx.path("log"))
        .output()
        .expect("run cat");
    assert_eq!(
        output.stdout, b"durable unsynced",
        "another process reads through the cache"
    );
    assert_eq!(
        fs::read(fx.backing.join("log")).expect("backing"),
        b"durable "
    );
}

#[test]
fn data_written_without_fsync_is_gone_after_a_power_cut() {
    let Some(fx) = mount(CrashPolicy::lose_everything()) else {
        return;
    };
    write_file(&fx.path("log"), b"synced|", true);
    fsync_dir(&fx.mount_point);
    append(&fx.path("log"), b"not synced");
    write_file(&fx.path("never-synced"), b"x", false);
    let report = fx.fs.power_cut(1).expect("power cut");
    assert_eq!(report.file_ops_lost, 2, "{report:?}");
    assert_eq!(fs::read(fx.path("log")).expect("read"), b"synced|");
    assert_eq!(
        fs::metadata(fx.path("never-synced"))
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::NotFound)
    );
}

#[test]
fn written_and_fsynced_data_survives_every_seed() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    fs::create_dir(fx.path("wal")).expect("mkdir");
    fsync_dir(&fx.mount_point);
    for seed in 0..20u64 {
        let record = format!("record {seed};").repeat(40);
        let path = fx.path(&format!("wal/{seed:04}"));
        write_file(&path, record.as_bytes(), true);
        fsync_dir(&fx.path("wal"));
        append(&path, b"tail that may go");
        fx.fs.power_cut(seed).expect("power cut");
        for earlier in 0..=seed {
            let content =
                fs::read(fx.path(&format!("wal/{earlier:04}"))).expect("synced file survives");
            let synced = format!("record {earlier};").repeat(40);
            assert_eq!(
                &content[..synced.len()],
                synced.as_bytes(),
                "seed {seed}, file {earlier}"
            );
        }
    }
}

#[test]
fn a_synced_file_whose_directory_was_not_synced_may_vanish() {
    let policy = CrashPolicy {
        dir_op_lost_probability: 1.0,
        ..keep_everything()
    };
    let Some(fx) = mount(policy) else { return };
    write_file(&fx.path("orphan"), b"synced data", true);
    fx.fs.power_cut(3).expect("power cut");
    assert!(
        !fx.path("orphan").exists(),
        "the create was never made durable"
    );

    write_file(&fx.path("named"), b"synced data", true);
    fsync_dir(&fx.mount_point);
    fx.fs.power_cut(4).expect("power cut");
    assert_eq!(
        fs::read(fx.path("named")).expect("survives"),
        b"synced data"
    );
}

#[test]
fn write_temp_fsync_rename_fsync_dir_never_loses_or_shows_a_half_file() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    let old = vec![b'o'; 5000];
    write_file(&fx.path("MANIFEST"), &old, true);
    fsync_dir(&fx.mount_point);
    let mut current = old;
    for seed in 0..40u64 {
        let new = vec![b'a' + (seed % 26) as u8; 3000 + 97 * seed as usize];
        write_file(&fx.path("MANIFEST.tmp"), &new, true);
        fs::rename(fx.path("MANIFEST.tmp"), fx.path("MANIFEST")).expect("rename");
        let dir_synced = seed % 3 != 0;
        if dir_synced {
            fsync_dir(&fx.mount_point);
        }
        fx.fs.power_cut(seed).expect("power cut");
        let content = fs::read(fx.path("MANIFEST")).expect("MANIFEST is never lost");
        if dir_synced {
            assert_eq!(content, new, "seed {seed}: committed replacement lost");
        } else {
            assert!(
                content == new || content == current,
                "seed {seed}: half a file"
            );
        }
        current = content;
        let _ = fs::remove_file(fx.path("MANIFEST.tmp"));
        fsync_dir(&fx.mount_point);
    }
}

#[test]
fn a_torn_write_shows_only_whole_sectors_of_old_or_new_content() {
    let policy = CrashPolicy {
        write_kept_probability: 0.0,
        write_torn_probability: 1.0,
        torn_zeros_probability: 0.0,
        torn_garbage_probability: 0.0,
        torn_4k_probability: 0.0,
        ..keep_everything()
    };
    let Some(fx) = mount(policy) else { return };
    let mut mixed = 0;
    for seed in 0..12u64 {
        write_file(&fx.path("page"), &[b'o'; 8192], true);
        fsync_dir(&fx.mount_point);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(fx.path("page"))
            .expect("open");
        file.write_all_at(&[b'n'; 8192], 0)
            .expect("overwrite in place, no fsync");
        fx.fs.power_cut(seed).expect("power cut");
        let content = fs::read(fx.path("page")).expect("read");
        assert_eq!(content.len(), 8192);
        let mut kinds = std::collections::BTreeSet::new();
        for sector in content.chunks(512) {
            assert!(
                sector.iter().all(|&b| b == sector[0]),
                "seed {seed}: a sector mixes old and new"
            );
            assert!(
                sector[0] == b'o' || sector[0] == b'n',
                "seed {seed}: sector holds {}",
                sector[0]
            );
            kinds.insert(sector[0]);
        }
        mixed += usize::from(kinds.len() == 2);
    }
    assert!(mixed > 0, "no seed tore the write");
}

#[test]
fn store_primitives_work_through_the_mount() {
    let Some(fx) = mount(CrashPolicy::default()) else {
        return;
    };
    fs::create_dir(fx.path("lock")).expect("mkdir");
    let epoch = fx.path("lock/epoch-1");
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&epoch)
        .expect("first O_EXCL create");
    let second = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&epoch);
    assert_eq!(
        second.map_err(|e| e.kind()).err(),
        Some(ErrorKind::AlreadyExists)
    );
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&epoch)
        .expect("open");
    file.set_len(4096).expect("set_len");
    file.set_len(10).expect("set_len");
    assert_eq!(fs::metadata(&epoch).expect("stat").len(), 10);
    let names: Vec<String> = fs::read_dir(fx.path("lock"))
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(names, vec!["epoch-1".to_owned()]);
    fs::remove_file(&epoch).expect("unlink");
    fs::remove_dir(fx.path("lock")).expect("rmdir");
    assert!(!fx.path("lock").exists());
}

#[test]
fn a_file_held_open_across_a_power_cut_is_stale() {
    let Some(fx) = mount(keep_everything()) else {
        return;
    };
    write_file(&fx.path("held"), b"before", true);
    fsync_dir(&fx.mount_point);
    let file = fs::OpenOptions::new()
        .write(true)
        .open(fx.path("held"))
        .expect("open");
    fx.fs.power_cut(0).expect("power cut");
    let error = file
        .write_all_at(b"after", 0)
        .expect_err("the process would have died");
    assert_eq!(error.raw_os_error(), Some(libc::ESTALE));
    assert_eq!(
        fs::read(fx.path("held")).expect("reopen by name works"),
        b"before"
    );
}

#[test]
fn o_dsync_writes_are_durable_when_they_return() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let Some(fx) = mount(CrashPolicy::lose_everything()) else {
        return;
    };
    write_file(&fx.path("journal"), b"", true);
    fsync_dir(&fx.mount_point);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_DSYNC)
        .open(fx.path("journal"))
        .expect("open O_DSYNC");
    file.write_all(b"synchronous").expect("write");
    drop(file);
    fx.fs.power_cut(2).expect("power cut");
    assert_eq!(fs::read(fx.path("journal")).expect("read"), b"synchronous");
}
