//! Unit tests of the disk model: one per crash-state rule, and properties over random
//! operation sequences.

use proptest::prelude::*;

use crate::lazyfs::{
    crash_image, random_crash, CrashPolicy, DiskModel, Fate, NodeKind, TornFill, TornSide,
    TornWrite, ROOT_INO,
};

const LIMIT: u64 = 1 << 24;

fn all(model: &DiskModel, fate: Fate) -> Vec<Fate> {
    vec![fate; model.pending().len()]
}

fn file(model: &mut DiskModel, name: &str, data: &[u8]) -> u64 {
    let ino = model
        .create(ROOT_INO, name, NodeKind::File, 0o644)
        .expect("create");
    model.write(ino, 0, data, None).expect("write");
    ino
}

#[test]
fn unsynced_write_is_lost_when_every_pending_op_is() {
    let mut model = DiskModel::new(LIMIT);
    file(&mut model, "f", b"hello");
    let image = crash_image(&model, &all(&model, Fate::Lost), None);
    assert_eq!(image.file("f"), None);
    assert_eq!(model.live_image().file("f"), Some(&b"hello"[..]));
    model.check_invariants();
}

#[test]
fn file_fsync_makes_data_but_not_the_name_durable() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", b"hello");
    model.fsync(ino).expect("fsync");
    assert_eq!(
        model.durable_image().file("f"),
        None,
        "name needs the directory fsync"
    );
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.durable_image().file("f"), Some(&b"hello"[..]));
    assert!(model.pending().is_empty());
    model.check_invariants();
}

#[test]
fn renamed_file_data_and_name_become_durable_independently() {
    let mut model = DiskModel::new(LIMIT);
    let old = file(&mut model, "a", b"old");
    model.fsync(old).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    let tmp = file(&mut model, "tmp", b"new");
    model.fsync(tmp).expect("fsync tmp");
    model
        .rename(ROOT_INO, "tmp", ROOT_INO, "a", false)
        .expect("rename");
    assert_eq!(model.durable_image().file("a"), Some(&b"old"[..]));
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.durable_image().file("a"), Some(&b"new"[..]));
    assert_eq!(model.durable_image().file("tmp"), None);
    model.check_invariants();
}

#[test]
fn rename_without_file_fsync_persists_an_empty_file() {
    let mut model = DiskModel::new(LIMIT);
    file(&mut model, "tmp", b"data");
    model
        .rename(ROOT_INO, "tmp", ROOT_INO, "a", false)
        .expect("rename");
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.durable_image().file("a"), Some(&b""[..]));
}

#[test]
fn directory_fsync_pulls_in_earlier_ops_on_the_same_inode() {
    let mut model = DiskModel::new(LIMIT);
    let one = model
        .create(ROOT_INO, "one", NodeKind::Dir, 0o755)
        .expect("mkdir");
    let two = model
        .create(ROOT_INO, "two", NodeKind::Dir, 0o755)
        .expect("mkdir");
    model.fsync(ROOT_INO).expect("fsync root");
    model
        .create(one, "x", NodeKind::File, 0o644)
        .expect("create");
    model.rename(one, "x", two, "y", false).expect("rename");
    model.fsync(two).expect("fsync two");
    let image = model.durable_image();
    assert!(image.file("two/y").is_some());
    assert!(
        image.file("one/x").is_none(),
        "a file has at most one durable name"
    );
    model.check_invariants();
}

#[test]
fn torn_write_keeps_whole_sectors_of_old_or_new() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", &[b'o'; 2048]);
    model.fsync(ino).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    model.write(ino, 0, &[b'n'; 2048], None).expect("write");
    let torn = TornWrite {
        sector_bytes: 512,
        persisted_sectors: 3,
        side: TornSide::Tail,
        fill: TornFill::Old,
    };
    let image = crash_image(&model, &[Fate::Torn(torn)], None);
    let content = image.file("f").expect("file");
    assert_eq!(&content[..512], &[b'o'; 512][..]);
    assert_eq!(&content[512..], &[b'n'; 1536][..]);
}

#[test]
fn reordered_writes_let_the_older_one_win() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", b"first");
    model.fsync(ino).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    model.write(ino, 0, b"AAAAA", None).expect("write");
    model.write(ino, 0, b"BBBBB", None).expect("write");
    let fates = all(&model, Fate::Kept);
    assert_eq!(
        crash_image(&model, &fates, None).file("f"),
        Some(&b"BBBBB"[..])
    );
    assert_eq!(
        crash_image(&model, &fates, Some(&[1, 0])).file("f"),
        Some(&b"AAAAA"[..])
    );
}

#[test]
fn lost_directory_op_drops_a_synced_file() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", b"data");
    model.fsync(ino).expect("fsync");
    let policy = CrashPolicy {
        dir_op_lost_probability: 1.0,
        ..CrashPolicy::default()
    };
    let (image, report) = random_crash(&model, &policy, 7);
    assert_eq!(image.file("f"), None);
    assert_eq!(report.dir_ops_lost, 1);
}

#[test]
fn failed_fsync_loses_data_at_the_cut_and_the_next_fsync_succeeds() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", b"");
    model.fsync(ino).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    model.write(ino, 0, b"acknowledged?", None).expect("write");
    assert_eq!(model.fail_fsync(ino).expect("eio"), 1);
    assert_eq!(
        model.fsync(ino).expect("second fsync"),
        vec![],
        "nothing left to write"
    );
    assert_eq!(
        model.live_image().file("f"),
        Some(&b"acknowledged?"[..]),
        "pages still cached"
    );
    let (image, _) = random_crash(&model, &CrashPolicy::default(), 1);
    assert_eq!(image.file("f"), Some(&b""[..]));
    model.check_invariants();
}

#[test]
fn misdirected_write_reaches_the_disk_at_the_wrong_offset() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "f", &[0; 8]);
    model.write(ino, 0, b"xy", Some(6)).expect("write");
    model.fsync(ino).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.live_image().file("f"), Some(&b"xy\0\0\0\0\0\0"[..]));
    assert_eq!(
        model.durable_image().file("f"),
        Some(&b"\0\0\0\0\0\0xy"[..])
    );
}

#[test]
fn deleted_files_are_forgotten_once_the_unlink_is_durable() {
    let mut model = DiskModel::new(LIMIT);
    let ino = file(&mut model, "segment", &[9; 10_000]);
    model.fsync(ino).expect("fsync");
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.used_bytes().0, 20_000, "live and durable copies");
    model
        .remove(ROOT_INO, "segment", NodeKind::File)
        .expect("unlink");
    assert_eq!(
        model.used_bytes().0,
        10_000,
        "the durable copy stays until the unlink is durable"
    );
    assert!(model.attr(ino).is_ok());
    model.fsync(ROOT_INO).expect("fsync dir");
    assert_eq!(model.used_bytes().0, 0);
    assert!(model.attr(ino).is_err(), "the inode is gone");
    model.check_invariants();
}

#[test]
fn cache_bound_refuses_writes_with_a_clear_error() {
    let mut model = DiskModel::new(100);
    let ino = model
        .create(ROOT_INO, "f", NodeKind::File, 0o644)
        .expect("create");
    let error = model
        .write(ino, 0, &[1; 80], None)
        .expect_err("over the bound");
    assert!(error.to_string().contains("limit 100"), "{error}");
    model.check_invariants();
}

#[test]
fn same_seed_same_crash_state() {
    let mut model = DiskModel::new(LIMIT);
    for index in 0..20u8 {
        file(&mut model, &format!("f{index}"), &[index; 3000]);
    }
    let policy = CrashPolicy::default();
    assert_eq!(
        random_crash(&model, &policy, 42),
        random_crash(&model, &policy, 42)
    );
    assert_ne!(
        random_crash(&model, &policy, 42).0,
        random_crash(&model, &policy, 43).0
    );
}

#[derive(Debug, Clone)]
enum Action {
    Create(u8),
    Mkdir(u8),
    Write(u8, u16, u16),
    Truncate(u8, u16),
    Rename(u8, u8),
    Unlink(u8),
    Fsync(u8),
    FsyncRoot,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..6u8).prop_map(Action::Create),
        (0..6u8).prop_map(Action::Mkdir),
        (0..6u8, 0..3000u16, 1..2000u16).prop_map(|(f, o, l)| Action::Write(f, o, l)),
        (0..6u8, 0..4000u16).prop_map(|(f, l)| Action::Truncate(f, l)),
        (0..6u8, 0..6u8).prop_map(|(a, b)| Action::Rename(a, b)),
        (0..6u8).prop_map(Action::Unlink),
        (0..6u8).prop_map(Action::Fsync),
        Just(Action::FsyncRoot),
    ]
}

fn run(model: &mut DiskModel, action: &Action) {
    let name = |n: &u8| format!("n{n}");
    let ino = |model: &DiskModel, n: &u8| model.lookup(ROOT_INO, &name(n));
    let _ = match action {
        Action::Create(n) => model
            .create(ROOT_INO, &name(n), NodeKind::File, 0o644)
            .map(drop),
        Action::Mkdir(n) => model
            .create(ROOT_INO, &name(n), NodeKind::Dir, 0o755)
            .map(drop),
        Action::Write(n, offset, len) => ino(model, n)
            .and_then(|i| model.write(i, u64::from(*offset), &vec![*n; usize::from(*len)], None)),
        Action::Truncate(n, len) => ino(model, n).and_then(|i| model.truncate(i, u64::from(*len))),
        Action::Rename(a, b) => model.rename(ROOT_INO, &name(a), ROOT_INO, &name(b), false),
        Action::Unlink(n) => model.remove(ROOT_INO, &name(n), NodeKind::File),
        Action::Fsync(n) => ino(model, n).and_then(|i| model.fsync(i)).map(drop),
        Action::FsyncRoot => model.fsync(ROOT_INO).map(drop),
    };
}

proptest! {
    #[test]
    fn keeping_every_op_gives_the_live_view_and_losing_all_the_durable(actions in prop::collection::vec(action(), 0..40)) {
        let mut model = DiskModel::new(LIMIT);
        for action in &actions {
            run(&mut model, action);
            model.check_invariants();
        }
        prop_assert_eq!(crash_image(&model, &all(&model, Fate::Kept), None), model.live_image());
        prop_assert_eq!(crash_image(&model, &all(&model, Fate::Lost), None), model.durable_image());
        model.persist_everything();
        model.check_invariants();
        prop_assert_eq!(model.durable_image(), model.live_image());
    }

    #[test]
    fn every_seeded_crash_state_is_a_well_formed_disk(
        actions in prop::collection::vec(action(), 0..40),
        seed in any::<u64>(),
    ) {
        let mut model = DiskModel::new(LIMIT);
        for action in &actions {
            run(&mut model, action);
        }
        let (image, report) = random_crash(&model, &CrashPolicy::default(), seed);
        image.check_invariants();
        prop_assert_eq!(report.pending_ops, model.pending().len());
        let reloaded = DiskModel::from_image(&image, LIMIT, model.next_ino()).expect("reloads");
        reloaded.check_invariants();
        prop_assert_eq!(reloaded.live_image(), image);
        let keep_all = CrashPolicy { write_kept_probability: 1.0, write_torn_probability: 0.0,
            truncate_kept_probability: 1.0, reorder_probability: 0.0, dir_op_lost_probability: 0.0,
            ..CrashPolicy::default() };
        prop_assert_eq!(random_crash(&model, &keep_all, seed).0, model.live_image());
    }
}
