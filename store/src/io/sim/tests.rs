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
