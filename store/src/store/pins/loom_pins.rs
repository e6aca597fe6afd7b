//! Loom model of snapshot readers against compaction (`--cfg loom`; run by `.ci/loom`).
//!
//! Modelled as the store runs it: a reader pins the published snapshot's blob while it holds
//! the state mutex (`pin_snapshot`), then reads the blob with the mutex released, and drops
//! its pin without the mutex (`PinnedSnapshot`'s drop). Compaction, under the state mutex,
//! publishes a newer snapshot (the old blob is no longer reachable from the manifest) and then
//! GC lists the pin files and deletes the old blob if no pin names it. The pin table
//! ([`PinTable`]) is the real one; the pin file and the blob are modelled on a shared "disk".
//!
//! Property, in every interleaving: a reader that pinned the blob can read it until it
//! releases the pin. `loom_buggy_release_is_caught` runs the same model on a table whose
//! release removes the file after dropping its mutex, and must fail.

use loom::sync::{Arc, Mutex};
use loom::thread;
use std::path::Path;

use super::table::PinTable;

/// The modelled directory: does the pin file exist, does the old snapshot blob exist.
#[derive(Debug)]
struct Disk {
    pin_file: bool,
    blob: bool,
}

/// What the state mutex guards here: is the old blob still the published snapshot.
struct Published {
    old_blob: bool,
}

struct World {
    table: PinTable,
    state: Mutex<Published>,
    disk: Mutex<Disk>,
}

const PIN: &str = "pins/1-b-snapshot-1.pin";

fn reader(world: &World) {
    let path = Path::new(PIN);
    let pinned = {
        let state = world.state.lock().unwrap();
        if !state.old_blob {
            return; // a newer snapshot is published: this reader would pin that one instead
        }
        world
            .table
            .acquire(path, || {
                world.disk.lock().unwrap().pin_file = true;
                Ok(())
            })
            .unwrap();
        true
    };
    if pinned {
        assert!(
            world.disk.lock().unwrap().blob,
            "a pinned snapshot's blob was deleted while its reader read it"
        );
        world
            .table
            .release(path, || {
                world.disk.lock().unwrap().pin_file = false;
                Ok(())
            })
            .unwrap();
    }
}

fn compact_and_collect(world: &World) {
    let mut state = world.state.lock().unwrap();
    state.old_blob = false;
    // GC lists the pins, then deletes: two steps, with readers running in between.
    let pinned = world.disk.lock().unwrap().pin_file;
    if !pinned {
        world.disk.lock().unwrap().blob = false;
    }
    drop(state);
}

fn run(table: PinTable) {
    let world = Arc::new(World {
        table,
        state: Mutex::new(Published { old_blob: true }),
        disk: Mutex::new(Disk {
            pin_file: false,
            blob: true,
        }),
    });
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let world = Arc::clone(&world);
            thread::spawn(move || reader(&world))
        })
        .collect();
    compact_and_collect(&world);
    for handle in readers {
        handle.join().unwrap();
    }
    world.table.check_invariants().unwrap();
    assert_eq!(world.table.holders(Path::new(PIN)), 0);
    assert!(
        !world.disk.lock().unwrap().pin_file,
        "a pin file outlived its holders"
    );
}

#[test]
fn loom_pinned_snapshot_survives_compaction_and_gc() {
    loom::model(|| run(PinTable::new()));
}

#[test]
#[should_panic(expected = "deleted while its reader read it")]
fn loom_buggy_release_is_caught() {
    loom::model(|| {
        let mut table = PinTable::new();
        table.remove_outside_lock = true;
        run(table);
    });
}
