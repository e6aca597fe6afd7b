//! Tests of the lease lock: exclusion, takeover of dead and expired holders, fencing.

use super::*;
use crate::io::StdIo;

fn options(lease_ms: u64, timeout_ms: u64) -> LeaseOptions {
    LeaseOptions {
        lease: Duration::from_millis(lease_ms),
        acquire_timeout: Duration::from_millis(timeout_ms),
        ..LeaseOptions::default()
    }
}

fn lock(dir: &Path, lease_ms: u64, timeout_ms: u64) -> LeaseLock {
    LeaseLock::new(Arc::new(StdIo), dir, options(lease_ms, timeout_ms)).unwrap()
}

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn owner_record_round_trips_and_detects_damage() {
    let owner = Owner {
        epoch: Epoch(4),
        pid: 77,
        host: "h".into(),
        nonce: 9,
        heartbeat_ms: 123,
        lease_ms: 1000,
        released: true,
    };
    let bytes = encode_owner(&owner);
    assert_eq!(decode_owner(&bytes), Ok(owner));
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(decode_owner(&flipped).is_err(), "bit {bit}");
    }
    for len in 0..bytes.len() {
        assert!(decode_owner(&bytes[..len]).is_err());
    }
}

#[test]
fn epochs_increase_and_release_lets_the_next_taker_in_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 60_000, 5_000);
    assert_eq!(lock.current_epoch().unwrap(), Epoch(0));
    let first = lock.acquire().unwrap();
    assert_eq!(first.epoch(), Epoch(1));
    first.release().unwrap();
    let second = lock.acquire().unwrap();
    assert_eq!(second.epoch(), Epoch(2));
    assert_eq!(lock.current_epoch().unwrap(), Epoch(2));
}

#[test]
fn a_second_taker_waits_while_the_lease_is_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 60_000, 200);
    let held = lock.acquire().unwrap();
    let started = Instant::now();
    let error = lock.acquire().unwrap_err();
    assert!(
        matches!(
            error,
            LockError::Timeout {
                epoch: Epoch(1),
                ..
            }
        ),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    // It gets the lock as soon as the holder releases it.
    let lock2 = lock.clone();
    let waiter = std::thread::spawn(move || {
        let mut patient = lock2;
        patient.options.acquire_timeout = Duration::from_secs(10);
        patient.acquire().map(|guard| guard.epoch())
    });
    std::thread::sleep(Duration::from_millis(50));
    held.release().unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), Epoch(2));
}

#[test]
fn a_dead_pid_holder_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 60_000, 0);
    let dead = lock.acquire_as(dead_pid()).unwrap();
    std::mem::forget(dead); // a killed process releases nothing
    let started = Instant::now();
    let guard = lock.acquire().unwrap();
    assert_eq!(guard.epoch(), Epoch(2));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_expired_lease_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 50, 5_000);
    // A live pid (this process) that stopped heartbeating: only the lease can free it.
    let silent = lock.acquire().unwrap();
    let guard = lock.acquire().unwrap();
    assert_eq!(guard.epoch(), Epoch(2));
    // Taken only once the silent holder's lease had run out (by the clock the lease uses).
    assert!(guard.owner.heartbeat_ms > silent.owner.heartbeat_ms + 50);
    // The silent holder is fenced: it cannot heartbeat or release.
    assert!(matches!(
        silent.check_not_fenced(),
        Err(LockError::Fenced {
            epoch: Epoch(1),
            current: Epoch(2)
        })
    ));
    let mut silent = silent;
    assert!(matches!(silent.heartbeat(), Err(LockError::Fenced { .. })));
    assert!(matches!(silent.release(), Err(LockError::Fenced { .. })));
    assert!(guard.check_not_fenced().is_ok());
}

#[test]
fn heartbeat_keeps_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 600, 100);
    let mut guard = lock.acquire().unwrap();
    let started = Instant::now();
    // Well past the first lease, kept alive by heartbeats every 150 ms.
    while started.elapsed() < Duration::from_millis(1_000) {
        std::thread::sleep(Duration::from_millis(150));
        guard.heartbeat().unwrap();
    }
    assert!(matches!(lock.acquire(), Err(LockError::Timeout { .. })));
}

#[test]
fn an_unreadable_epoch_file_is_held_for_one_lease_then_taken() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 100, 5_000);
    std::fs::write(
        dir.path().join("lock").join(epoch_file_name(Epoch(3))),
        b"torn",
    )
    .unwrap();
    let started = Instant::now();
    let guard = lock.acquire().unwrap();
    assert_eq!(guard.epoch(), Epoch(4));
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn concurrent_takers_get_distinct_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let lock = lock(dir.path(), 60_000, 10_000);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                let guard = lock.acquire().unwrap();
                let epoch = guard.epoch();
                assert!(guard.check_not_fenced().is_ok());
                guard.release().unwrap();
                epoch
            })
        })
        .collect();
    let mut epochs: Vec<Epoch> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    epochs.sort();
    assert_eq!(epochs, vec![Epoch(1), Epoch(2), Epoch(3), Epoch(4)]);
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let _ = decode_owner(&bytes);
    }
}
