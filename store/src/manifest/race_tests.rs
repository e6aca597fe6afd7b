//! On a [`SimDisk`]: races between a stalled (fenced) publisher and the holder that took its
//! lease over (a publisher that stalls in its publish never replaces, hides or removes a
//! manifest published meanwhile), and power cuts at every step of a publish.

use std::io;
use std::sync::Mutex;

use super::*;
use crate::io::sim::SimDisk;
use crate::io::IoFile;

/// What runs once, in place of a stall, when the stalled publisher reaches its step.
type Interleaved = Box<dyn FnOnce() + Send>;

/// The step of a publish at which [`Stalling`] runs the other publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Making its manifest visible: claiming its manifest file or renaming over the pointer.
    Install,
    /// Writing the bytes of the manifest file it claimed.
    WriteClaimed,
}

/// An [`Io`] over a [`SimDisk`] that runs `interleaved` once, just before this publisher
/// performs `step`: a stall there, during which the other publisher runs to completion.
struct Stalling {
    disk: SimDisk,
    step: Step,
    interleaved: Arc<Mutex<Option<Interleaved>>>,
}

impl std::fmt::Debug for Stalling {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Stalling({:?})", self.step)
    }
}

impl Stalling {
    fn new(disk: &SimDisk, step: Step, interleaved: impl FnOnce() + Send + 'static) -> Self {
        Stalling {
            disk: disk.clone(),
            step,
            interleaved: Arc::new(Mutex::new(Some(Box::new(interleaved)))),
        }
    }

    fn at(&self, step: Step) {
        if step != self.step {
            return;
        }
        let taken = self.interleaved.lock().unwrap().take();
        if let Some(interleaved) = taken {
            interleaved();
        }
    }
}

/// A manifest file of a publish (not a temporary, not the directory).
fn is_manifest_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("MANIFEST") && !name.ends_with(".tmp"))
}

struct StallingFile {
    inner: Box<dyn IoFile>,
    step: Step,
    interleaved: Arc<Mutex<Option<Interleaved>>>,
}

impl std::fmt::Debug for StallingFile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "StallingFile({:?})", self.inner)
    }
}

impl IoFile for StallingFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.step == Step::WriteClaimed {
            let taken = self.interleaved.lock().unwrap().take();
            if let Some(interleaved) = taken {
                interleaved();
            }
        }
        self.inner.write_at(offset, data)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        self.inner.len_bytes()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
}

impl Io for Stalling {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.disk.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.disk.open(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        if !is_manifest_file(path) {
            return self.disk.create_new(path);
        }
        self.at(Step::Install);
        Ok(Box::new(StallingFile {
            inner: self.disk.create_new(path)?,
            step: self.step,
            interleaved: self.interleaved.clone(),
        }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.disk.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if is_manifest_file(to) {
            self.at(Step::Install);
        }
        self.disk.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.disk.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.disk.sync_dir(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.disk.list_dir(path)
    }
}

fn manifest(seq: u64, epoch: u64, covered: u64, snapshot: &str) -> Manifest {
    Manifest {
        seq,
        epoch: Epoch(epoch),
        snapshot: Some(BlobId::new(snapshot).unwrap()),
        covered_lsn: Lsn(covered),
    }
}

fn published(outcome: Result<PublishOutcome, ManifestError>) -> ManifestToken {
    match outcome {
        Ok(PublishOutcome::Published(token)) => token,
        other => panic!("expected a publish, got {other:?}"),
    }
}

const DIR: &str = "/store";

/// A disk holding one published manifest (epoch 1, covering LSN 10), and its token.
fn disk_with_one_manifest() -> (SimDisk, ManifestToken) {
    let disk = SimDisk::new();
    disk.create_dir_all(Path::new(DIR)).unwrap();
    let store = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
    let token = published(store.publish(&ManifestToken::ABSENT, &manifest(1, 1, 10, "snap-1")));
    (disk, token)
}

/// The holder of epoch 1 compared the current manifest with the one it read and stalled just
/// before making its own visible (SIGSTOP, a GC pause). Meanwhile the holder of epoch 2 took
/// the lease over, caught up to LSN 20 and published a manifest covering it (after which it
/// may delete the log up to 20). The stalled publisher resumes: its publish must not replace
/// the newer manifest, before or after a power cut.
#[test]
fn a_publisher_stalled_between_its_compare_and_its_install_never_replaces_a_newer_manifest() {
    let (disk, first) = disk_with_one_manifest();
    let newer = manifest(2, 2, 20, "snap-new");
    let new_holder = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
    let expected = newer.clone();
    let stalling = Stalling::new(&disk, Step::Install, move || {
        let (current, token) = new_holder.read().unwrap();
        assert_eq!(current.epoch, Epoch(1), "{current:?}");
        published(new_holder.publish(&token, &expected));
    });
    let stale = ManifestStore::new(Arc::new(stalling), Path::new(DIR));
    let outcome = stale.publish(&first, &manifest(2, 1, 15, "snap-stale"));
    let reader = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
    assert_eq!(reader.read().unwrap().0, newer, "after {outcome:?}");
    assert!(
        matches!(outcome, Ok(PublishOutcome::Conflict { .. })),
        "{outcome:?}"
    );
    for seed in 1..=8 {
        let crashed = disk.crashed_copy(seed);
        let reader = ManifestStore::new(Arc::new(crashed), Path::new(DIR));
        assert_eq!(reader.read().unwrap().0, newer, "power cut {seed}");
    }
}

/// The holder of epoch 2 claimed `MANIFEST.<2>` and stalls before writing it. The fenced
/// holder of epoch 1, still building on manifest 1, finds that claim empty, skips it, and
/// publishes `MANIFEST.<3>` covering less. The holder of epoch 2 resumes and publishes: its
/// manifest, covering more, is current although its number is lower, and stays current after
/// a power cut (the rule "the highest number wins" would hide it behind the stale one).
#[test]
fn a_stale_publisher_that_skips_an_unfinished_claim_never_hides_it() {
    let (disk, first) = disk_with_one_manifest();
    let stale = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
    let stale_outcome = Arc::new(Mutex::new(None));
    let seen = stale_outcome.clone();
    let stalling = Stalling::new(&disk, Step::WriteClaimed, move || {
        let outcome = stale.publish(&first, &manifest(2, 1, 15, "snap-stale"));
        *seen.lock().unwrap() = Some(outcome);
    });
    let holder = ManifestStore::new(Arc::new(stalling), Path::new(DIR));
    let newer = manifest(2, 2, 20, "snap-new");
    let token = published(holder.publish(&first, &newer));
    let stale_token = published(stale_outcome.lock().unwrap().take().unwrap());
    assert_eq!((token.seq(), stale_token.seq()), (2, 3));
    let reader = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
    assert_eq!(reader.read().unwrap(), (newer.clone(), token));
    assert!(
        !disk
            .list_dir(Path::new(DIR))
            .unwrap()
            .contains(&manifest_file_name(3)),
        "the stale manifest, ordered below a durable one, is removed"
    );
    for seed in 1..=8 {
        let crashed = disk.crashed_copy(seed);
        let reader = ManifestStore::new(Arc::new(crashed), Path::new(DIR));
        assert_eq!(
            reader.read().unwrap(),
            (newer.clone(), token),
            "seed {seed}"
        );
    }
}

/// An [`Io`] over a [`SimDisk`] that records, before every operation that changes the disk,
/// what a power cut at that instant would leave.
#[derive(Debug)]
struct CrashEverywhere {
    disk: SimDisk,
    crashes: Arc<Mutex<Vec<SimDisk>>>,
}

impl CrashEverywhere {
    fn record(&self) {
        let mut crashes = self.crashes.lock().unwrap();
        let seed = crashes.len() as u64 + 1;
        crashes.push(self.disk.crashed_copy(seed));
    }
}

#[derive(Debug)]
struct CrashEverywhereFile {
    inner: Box<dyn IoFile>,
    io: Arc<CrashEverywhere>,
}

impl IoFile for CrashEverywhereFile {
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.io.record();
        self.inner.write_at(offset, data)?;
        self.io.record();
        Ok(())
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }
    fn len_bytes(&self) -> io::Result<u64> {
        self.inner.len_bytes()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.io.record();
        self.inner.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.io.record();
        self.inner.sync()?;
        self.io.record();
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct CrashEverywhereIo(Arc<CrashEverywhere>);

impl Io for CrashEverywhereIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.0.disk.create_dir_all(path)
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = self.0.disk.open(path)?;
        Ok(Box::new(CrashEverywhereFile {
            inner,
            io: self.0.clone(),
        }))
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        self.0.record();
        let inner = self.0.disk.create_new(path)?;
        self.0.record();
        Ok(Box::new(CrashEverywhereFile {
            inner,
            io: self.0.clone(),
        }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0.disk.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.0.record();
        self.0.disk.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.0.record();
        self.0.disk.remove_file(path)?;
        self.0.record();
        Ok(())
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.0.record();
        self.0.disk.sync_dir(path)?;
        self.0.record();
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.0.disk.list_dir(path)
    }
}

/// A power cut at every instant of a publish leaves the old manifest or the new one, whole;
/// and once the publish returned, the new one.
#[test]
fn a_power_cut_at_any_step_of_a_publish_leaves_the_old_or_the_new_manifest() {
    let (disk, first) = disk_with_one_manifest();
    let (old, _) = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR))
        .read()
        .unwrap();
    let crashes = Arc::new(Mutex::new(Vec::new()));
    let io = CrashEverywhereIo(Arc::new(CrashEverywhere {
        disk: disk.clone(),
        crashes: crashes.clone(),
    }));
    let store = ManifestStore::new(Arc::new(io), Path::new(DIR));
    let new = manifest(2, 1, 20, "snap-2");
    published(store.publish(&first, &new));
    let crashes = crashes.lock().unwrap();
    assert!(crashes.len() >= 6, "{} instants", crashes.len());
    let mut seen_new = false;
    for (instant, crashed) in crashes.iter().enumerate() {
        let reader = ManifestStore::new(Arc::new(crashed.clone()), Path::new(DIR));
        let (current, _) = reader.read().unwrap();
        assert!(
            current == old || current == new,
            "instant {instant}: {current:?}"
        );
        seen_new |= current == new;
    }
    assert!(
        seen_new,
        "some instant after the publish's fsyncs keeps the new one"
    );
    let after = disk.crashed_copy(99);
    let reader = ManifestStore::new(Arc::new(after), Path::new(DIR));
    assert_eq!(reader.read().unwrap().0, new);
}

/// A publisher killed after writing its manifest and before its fsyncs (or whose fsync failed
/// and marked the pages clean) leaves a manifest that readers take as current but that a power
/// cut loses. `read_durable` makes it durable, so a caller may delete what it covers.
#[test]
fn read_durable_makes_a_manifest_whose_publisher_died_before_its_fsyncs_durable() {
    for failed_sync in [false, true] {
        let (disk, first) = disk_with_one_manifest();
        let store = ManifestStore::new(Arc::new(disk.clone()), Path::new(DIR));
        if failed_sync {
            disk.fail_next_sync();
        } else {
            disk.kill_before_next_sync();
        }
        let outcome = store.publish(&first, &manifest(2, 1, 20, "snap-2"));
        assert!(outcome.is_err(), "{outcome:?}");
        let (seen, _) = store.read().unwrap();
        assert_eq!(seen.covered_lsn, Lsn(20));
        let lost = ManifestStore::new(Arc::new(disk.crashed_copy(3)), Path::new(DIR));
        assert_eq!(
            lost.read().unwrap().0.covered_lsn,
            Lsn(10),
            "not durable yet"
        );
        let (durable, _) = store.read_durable().unwrap();
        assert_eq!(durable, seen);
        for seed in 1..=8 {
            let crashed = ManifestStore::new(Arc::new(disk.crashed_copy(seed)), Path::new(DIR));
            assert_eq!(
                crashed.read().unwrap().0,
                seen,
                "seed {seed}, {failed_sync}"
            );
        }
    }
}
