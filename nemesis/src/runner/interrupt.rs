//! Ctrl-C and panics: the runner finishes the current check and cleans up on the first SIGINT or
//! SIGTERM, and kills everything it started at once on the second, or on a panic.
//!
//! The signal handler only counts signals (an atomic store is all a handler may safely do); the
//! runner polls [`stop_requested`], and a watcher thread acts on a second signal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::Duration;

use super::process::kill_all_groups;

static SIGNALS_SEEN: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Exit code after an interrupt that could not finish cleanly (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

extern "C" fn count_signal(_signal: libc::c_int) {
    SIGNALS_SEEN.fetch_add(1, Ordering::SeqCst);
}

/// Installs the SIGINT/SIGTERM handler, the second-signal watcher and the panic hook, once.
/// `on_abort` runs on the watcher thread before the process exits after a second signal; it is
/// where mounts get unmounted.
pub fn install(on_abort: fn()) {
    INSTALL.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only performs an atomic add, which is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
        std::thread::Builder::new()
            .name("faultline-interrupt".into())
            .spawn(move || loop {
                if SIGNALS_SEEN.load(Ordering::SeqCst) >= 2 {
                    kill_all_groups();
                    on_abort();
                    eprintln!("faultline: interrupted twice, stopped everything it started");
                    std::process::exit(EXIT_INTERRUPTED);
                }
                std::thread::sleep(Duration::from_millis(50));
            })
            .expect("spawning the interrupt watcher thread");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all_groups();
            on_abort();
            previous(info);
        }));
    });
}

/// Whether a SIGINT or SIGTERM arrived: the runner stops starting new work.
pub fn stop_requested() -> bool {
    SIGNALS_SEEN.load(Ordering::SeqCst) > 0
}
