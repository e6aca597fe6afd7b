//! Planted bugs ("mutants"): small, realistic mis-implementations of the store, each taken
//! from a real incident, that faultline must catch. They measure the harness's detection
//! power (`faultline mutants`).
//!
//! The switch exists only in builds with the cargo feature `mutants` (off by default, so no
//! shipped build carries a mutant). In such a build one mutant may be active per process,
//! chosen at start-up by `store serve --mutant NAME` or the environment variable
//! [`ENV_VAR`]. Without the feature [`is_active`] is a constant `false` that the compiler folds
//! away, and asking for a mutant is an error ([`MutantError::NotBuilt`]).
//!
//! Code that carries a mutant reads like this, at the one place the incident's mistake is made:
//!
//! ```ignore
//! if mutant::is_active(Mutant::RenameWithoutDirFsync) {
//!     return Ok(()); // the mistake: the rename is not made durable
//! }
//! io.sync_dir(dir)?;
//! ```
//!
//! A server with an active mutant names it in its `hello` answer (`"mutant": NAME`), so the
//! runner can check that the mutant it asked for is the one running.

use std::fmt;

/// The environment variable naming the mutant a store process activates at start-up.
pub const ENV_VAR: &str = "FAULTLINE_MUTANT";

/// One planted bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// 1. A write is acknowledged before its fsync (NATS 2.12 lost acknowledged messages).
    AckBeforeFsync,
    /// 2. Group commit acknowledges a follower whose record the leader's fsync did not cover.
    GroupCommitUncoveredAck,
    /// 3. A blob is written in place instead of to a temp file renamed into place.
    BlobInPlace,
    /// 4. A new segment, manifest or blob is renamed into place without an fsync of the
    ///    directory (etcd 2016).
    RenameWithoutDirFsync,
    /// 5. A file is renamed into place before its data is fsynced (LevelDB's empty CURRENT).
    RenameBeforeDataFsync,
    /// 6. Recovery skips a bad record in the middle of the log and keeps reading (RocksDB).
    RecoverySkipsBadRecord,
    /// 7. Recovery refuses to open when only the tail record is torn (etcd "crc mismatch").
    RecoveryRefusesTornTail,
    /// 8. Log segments are deleted before the new manifest is durable.
    TruncateBeforeManifest,
    /// 9. The manifest is swapped without checking it is still the one this process read.
    ManifestSwapUnchecked,
    /// 10. A stalled lock holder keeps writing after its lock was taken over (no fencing).
    NoFencing,
    /// 11. A key's version comes from an in-memory map that eviction or restart resets.
    VersionFromMemory,
    /// 12. A delete then a put restarts the key's version at 1.
    VersionRestartsAfterDelete,
    /// 13. A batch without a commit record is visible after recovery.
    UncommittedBatchVisible,
    /// 14. GC deletes a blob that an in-flight batch or a pinned snapshot still needs.
    GcIgnoresPins,
    /// 15. On an fsync error the store retries the fsync and acknowledges (fsyncgate).
    FsyncRetryAcks,
    /// 16. A blob's checksum does not cover its id, so a misplaced blob reads as valid.
    BlobChecksumWithoutId,
}

impl Mutant {
    /// Every mutant, in the catalogue's order.
    pub const ALL: [Mutant; 16] = [
        Mutant::AckBeforeFsync,
        Mutant::GroupCommitUncoveredAck,
        Mutant::BlobInPlace,
        Mutant::RenameWithoutDirFsync,
        Mutant::RenameBeforeDataFsync,
        Mutant::RecoverySkipsBadRecord,
        Mutant::RecoveryRefusesTornTail,
        Mutant::TruncateBeforeManifest,
        Mutant::ManifestSwapUnchecked,
        Mutant::NoFencing,
        Mutant::VersionFromMemory,
        Mutant::VersionRestartsAfterDelete,
        Mutant::UncommittedBatchVisible,
        Mutant::GcIgnoresPins,
        Mutant::FsyncRetryAcks,
        Mutant::BlobChecksumWithoutId,
    ];

    /// The mutant's name on the command line and in [`ENV_VAR`].
    pub fn name(self) -> &'static str {
        match self {
            Mutant::AckBeforeFsync => "ack-before-fsync",
            Mutant::GroupCommitUncoveredAck => "group-commit-uncovered-ack",
            Mutant::BlobInPlace => "blob-in-place",
            Mutant::RenameWithoutDirFsync => "rename-without-dir-fsync",
            Mutant::RenameBeforeDataFsync => "rename-before-data-fsync",
            Mutant::RecoverySkipsBadRecord => "recovery-skips-bad-record",
            Mutant::RecoveryRefusesTornTail => "recovery-refuses-torn-tail",
            Mutant::TruncateBeforeManifest => "truncate-before-manifest",
            Mutant::ManifestSwapUnchecked => "manifest-swap-unchecked",
            Mutant::NoFencing => "no-fencing",
            Mutant::VersionFromMemory => "version-from-memory",
            Mutant::VersionRestartsAfterDelete => "version-restarts-after-delete",
            Mutant::UncommittedBatchVisible => "uncommitted-batch-visible",
            Mutant::GcIgnoresPins => "gc-ignores-pins",
            Mutant::FsyncRetryAcks => "fsync-retry-acks",
            Mutant::BlobChecksumWithoutId => "blob-checksum-without-id",
        }
    }

    /// The mutant called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|mutant| mutant.name() == name)
    }

    /// Its position in [`Mutant::ALL`], from 1 as the catalogue numbers them.
    pub fn number(self) -> usize {
        Mutant::ALL
            .iter()
            .position(|mutant| *mutant == self)
            .map_or(0, |index| index + 1)
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a mutant could not be activated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MutantError {
    /// The build lacks the `mutants` feature, so no mutant can run.
    #[error(
        "mutant {name:?} asked for, but this store was built without the `mutants` feature \
         (build it with `cargo build --release -p store --features mutants`)"
    )]
    NotBuilt {
        /// The name asked for.
        name: String,
    },
    /// No mutant has this name.
    #[error("unknown mutant {name:?}; expected one of: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Every known name, comma-separated.
        known: String,
    },
    /// Another mutant is already active in this process.
    #[error("mutant {asked} asked for, but {active} is already active in this process")]
    AlreadyActive {
        /// The mutant asked for.
        asked: Mutant,
        /// The mutant already active.
        active: Mutant,
    },
}

/// Parses a mutant's name.
pub fn parse(name: &str) -> Result<Mutant, MutantError> {
    Mutant::from_name(name).ok_or_else(|| MutantError::Unknown {
        name: name.to_string(),
        known: Mutant::ALL.map(Mutant::name).join(", "),
    })
}

/// Whether `mutant` is the active one. Always `false` without the `mutants` feature.
#[inline(always)]
pub fn is_active(mutant: Mutant) -> bool {
    active() == Some(mutant)
}

/// The active mutant, if any. Always `None` without the `mutants` feature.
#[inline(always)]
pub fn active() -> Option<Mutant> {
    switch::active()
}

/// Activates `mutant` for the rest of this process's life. Activating the active mutant again
/// is allowed; activating a second one is an error, as is any mutant without the feature.
pub fn activate(mutant: Mutant) -> Result<(), MutantError> {
    switch::activate(mutant)
}

/// Activates the mutant named by [`ENV_VAR`], if the variable is set and not empty.
pub fn activate_from_env() -> Result<Option<Mutant>, MutantError> {
    match std::env::var(ENV_VAR) {
        Ok(name) if !name.trim().is_empty() => {
            let mutant = parse(name.trim())?;
            activate(mutant)?;
            Ok(Some(mutant))
        }
        _ => Ok(None),
    }
}

#[cfg(feature = "mutants")]
mod switch {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{Mutant, MutantError};

    /// 0: none; n: `Mutant::ALL[n - 1]`.
    static ACTIVE: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn active() -> Option<Mutant> {
        match ACTIVE.load(Ordering::Relaxed) {
            0 => None,
            n => Mutant::ALL.get(n - 1).copied(),
        }
    }

    pub(super) fn activate(mutant: Mutant) -> Result<(), MutantError> {
        match ACTIVE.compare_exchange(0, mutant.number(), Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => Ok(()),
            Err(n) if n == mutant.number() => Ok(()),
            Err(n) => Err(MutantError::AlreadyActive {
                asked: mutant,
                active: Mutant::ALL[n - 1],
            }),
        }
    }
}

#[cfg(not(feature = "mutants"))]
mod switch {
    use super::{Mutant, MutantError};

    #[inline(always)]
    pub(super) fn active() -> Option<Mutant> {
        None
    }

    pub(super) fn activate(mutant: Mutant) -> Result<(), MutantError> {
        Err(MutantError::NotBuilt {
            name: mutant.name().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut names: Vec<&str> = Mutant::ALL.map(Mutant::name).to_vec();
        for mutant in Mutant::ALL {
            assert_eq!(Mutant::from_name(mutant.name()), Some(mutant));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Mutant::ALL.len());
        assert_eq!(Mutant::AckBeforeFsync.number(), 1);
        assert_eq!(Mutant::BlobChecksumWithoutId.number(), 16);
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = parse("ack-after-fsync").unwrap_err();
        assert!(error.to_string().contains("ack-before-fsync"), "{error}");
    }

    #[cfg(not(feature = "mutants"))]
    #[test]
    fn without_the_feature_no_mutant_can_run() {
        assert_eq!(
            activate(Mutant::NoFencing),
            Err(MutantError::NotBuilt {
                name: "no-fencing".into()
            })
        );
        assert!(!is_active(Mutant::NoFencing));
        assert_eq!(active(), None);
    }
}
