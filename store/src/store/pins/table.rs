//! Pin sharing inside one process: every reader or writer of this process that needs a blob
//! kept shares one pin file for it, created by the first holder and removed by the last.
//!
//! The table counts holders per pin file under one mutex. The file operations run under that
//! mutex too, which is the invariant that matters: **while the count of a pin file is above
//! zero, the file exists** (GC, in this or another process, only ever sees the files). A
//! release that dropped the mutex before removing the file would let a new holder create the
//! file again in between and then remove it under that holder's feet; the loom model
//! `loom_pins` shows GC then deleting a blob a reader still reads.
//!
//! The table is written against [`crate::sync`] so loom can explore it with modelled files.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::sync::Mutex;

/// Holders per pin file of this process.
#[derive(Debug, Default)]
pub(crate) struct PinTable {
    holders: Mutex<HashMap<PathBuf, usize>>,
    /// Test-only mutation (loom): release removes the file after dropping the mutex.
    #[cfg(loom)]
    pub(crate) remove_outside_lock: bool,
}

impl PinTable {
    /// An empty table.
    pub(crate) fn new() -> PinTable {
        PinTable::default()
    }

    /// Adds a holder of the pin file `path`, running `create` (which must leave the whole file
    /// in place) if it is the first. A failed `create` adds no holder.
    pub(crate) fn acquire(
        &self,
        path: &Path,
        create: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        let mut holders = self.lock();
        match holders.get_mut(path) {
            Some(count) => *count += 1,
            None => {
                create()?;
                holders.insert(path.to_path_buf(), 1);
            }
        }
        Ok(())
    }

    /// Removes a holder of `path`, running `remove` if it was the last. The holder is gone
    /// even if `remove` fails (the file then outlives it, which only keeps blobs longer).
    pub(crate) fn release(
        &self,
        path: &Path,
        remove: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        let mut holders = self.lock();
        let Some(count) = holders.get_mut(path) else {
            debug_assert!(false, "release of {} without a holder", path.display());
            return Ok(());
        };
        *count -= 1;
        if *count > 0 {
            return Ok(());
        }
        holders.remove(path);
        #[cfg(loom)]
        if self.remove_outside_lock {
            drop(holders);
            return remove();
        }
        remove()
    }

    /// Holders of `path` (for tests).
    #[cfg(test)]
    pub(crate) fn holders(&self, path: &Path) -> usize {
        self.lock().get(path).copied().unwrap_or(0)
    }

    /// Every count in the table is above zero.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        match self.lock().iter().find(|(_, count)| **count == 0) {
            Some((path, _)) => Err(format!("pin {} has no holder", path.display())),
            None => Ok(()),
        }
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, HashMap<PathBuf, usize>> {
        self.holders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_first_holder_creates_and_the_last_removes() {
        let table = PinTable::new();
        let path = Path::new("pins/1-b-x.pin");
        let (created, removed) = (Cell::new(0), Cell::new(0));
        for _ in 0..3 {
            table
                .acquire(path, || {
                    created.set(created.get() + 1);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!((created.get(), table.holders(path)), (1, 3));
        for _ in 0..3 {
            table
                .release(path, || {
                    removed.set(removed.get() + 1);
                    Ok(())
                })
                .unwrap();
        }
        assert_eq!((removed.get(), table.holders(path)), (1, 0));
        table.check_invariants().unwrap();
    }

    #[test]
    fn a_failed_create_adds_no_holder() {
        let table = PinTable::new();
        let path = Path::new("pins/1-b-x.pin");
        let error = table
            .acquire(path, || Err(io::Error::other("disk full")))
            .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(table.holders(path), 0);
        let created = Cell::new(false);
        table
            .acquire(path, || {
                created.set(true);
                Ok(())
            })
            .unwrap();
        assert!(created.get(), "the next holder creates the file");
    }
}
