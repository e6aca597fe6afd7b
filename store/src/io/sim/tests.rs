//! Tests of the simulated disk.

use super::*;

#[test]
fn sim_disk_passes_the_conformance_suite() {
    crate::io::conformance::check(&SimDisk::new(), Path::new("/scratch")).unwrap();
}

#[test]
fn a_power_cut_keeps_only_what_was_synced() {
    let disk = SimDisk::new();
    let dir = Path::new("/d");
    disk.create_dir_all(dir).unwrap();
    let synced = disk.create_new(&dir.join("synced")).unwrap();
    synced.write_at(0, b"durable").unwrap();
    synced.sync().unwrap();
    disk.sync_dir(dir).unwrap();
    synced.write_at(7, &[1u8; 2000]).unwrap();
    let unsynced = disk.create_new(&dir.join("unsynced")).unwrap();
    unsynced.write_at(0, b"lost").unwrap();
    unsynced.sync().unwrap(); // its directory entry was never synced
    disk.power_cut(42);
    assert_eq!(disk.list_dir(dir).unwrap(), vec!["synced".to_string()]);
    let bytes = disk.read(&dir.join("synced")).unwrap();
    assert!(bytes.starts_with(b"durable") && bytes.len() <= 2007);
    disk.fail_next_sync();
    assert!(synced.sync().is_err());
    assert!(synced.sync().is_ok());
}

#[test]
fn a_failed_sync_marks_its_pages_clean_and_a_kill_before_sync_does_not() {
    let disk = SimDisk::new();
    let dir = Path::new("/d");
    disk.create_dir_all(dir).unwrap();
    let file = disk.create_new(&dir.join("f")).unwrap();
    disk.sync_dir(dir).unwrap();
    file.write_at(0, b"head").unwrap();
    file.sync().unwrap();
    file.write_at(4, b"lost").unwrap();
    disk.fail_next_sync();
    assert!(file.sync().is_err());
    file.write_at(8, b"tail").unwrap();
    assert!(file.sync().is_ok());
    assert_eq!(disk.read(&dir.join("f")).unwrap(), b"headlosttail");
    disk.power_cut(7);
    assert_eq!(disk.read(&dir.join("f")).unwrap(), b"head\0\0\0\0tail");
    // Rewritten pages are dirty again; a killed process's pages are written by a later sync.
    file.write_at(4, b"back").unwrap();
    disk.kill_before_next_sync();
    assert!(file.sync().is_err());
    assert!(file.sync().is_ok());
    disk.power_cut(7);
    assert_eq!(disk.read(&dir.join("f")).unwrap(), b"headbacktail");
}

/// A disk with a synced file that has an unsynced tail, and an unsynced directory entry.
fn disk_with_unsynced_writes() -> (SimDisk, Box<dyn IoFile>) {
    let disk = SimDisk::new();
    let dir = Path::new("/d");
    disk.create_dir_all(dir).unwrap();
    let file = disk.create_new(&dir.join("f")).unwrap();
    disk.sync_dir(dir).unwrap();
    file.write_at(0, b"synced").unwrap();
    file.sync().unwrap();
    file.write_at(6, &[1u8; 2000]).unwrap();
    disk.create_new(&dir.join("unsynced name")).unwrap();
    (disk, file)
}

#[test]
fn a_crashed_copy_is_what_a_power_cut_leaves_and_the_disk_runs_on() {
    let dir = Path::new("/d");
    let (disk, file) = disk_with_unsynced_writes();
    let crashed = disk.crashed_copy(3);
    let (cut, _) = disk_with_unsynced_writes();
    cut.power_cut(3);
    let read = |disk: &SimDisk| disk.read(&dir.join("f")).unwrap();
    assert_eq!(read(&crashed), read(&cut));
    assert_eq!(crashed.list_dir(dir).unwrap(), vec!["f".to_string()]);
    // The original keeps its page cache and directory entries, apart from the copy.
    assert_eq!(read(&disk).len(), 2006);
    assert_eq!(disk.list_dir(dir).unwrap().len(), 2);
    file.write_at(0, b"later").unwrap();
    assert!(read(&crashed).starts_with(b"synced"));
}
