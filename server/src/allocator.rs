//! Settings of the server's allocator (mimalloc, chosen in `main.rs`) so that memory freed
//! after a load goes back to the system within a second (docs/BENCHMARKS.md, Memory).

use std::os::raw::c_long;

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// mimalloc v3's `mi_option_purge_delay` (its `mi_option_t` in include/mimalloc.h; the Rust
/// bindings name no constant for it). The test below checks it by its default.
const PURGE_DELAY: mi_option_t = 15;
/// Freed pages are handed back 10 ms after they are freed (arenas: ten times that). mimalloc
/// v3's default of 1 s (10 s for arenas) left an idle server holding what a load run had
/// freed a minute later.
const PURGE_DELAY_MS: c_long = 10;

/// Call first thing in `main`, before the runtime starts its threads.
pub fn tune() {
    // No transparent huge pages: one live object kept a whole 2 MiB page resident, and
    // mimalloc asks for them where the system leaves it to the program. A failure (a kernel
    // without the flag) only leaves the system's setting.
    let _ = nix::sys::prctl::set_thp_disable(true);
    // SAFETY: setting an option is a plain store into mimalloc's option table, valid at any
    // time; the index is checked by the test below.
    unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The purge delay in force, in milliseconds.
    fn purge_delay_ms() -> c_long {
        // SAFETY: reads mimalloc's option table (see `tune`).
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
    }

    #[test]
    fn the_purge_delay_is_the_option_tuned() {
        // mimalloc v3's default purge delay is 1000 ms: reading that default at this index
        // shows the index names the option (an upgrade that moved it fails here).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay_ms(), 1000);
        }
        tune();
        assert_eq!(purge_delay_ms(), PURGE_DELAY_MS);
        assert!(nix::sys::prctl::get_thp_disable().unwrap());
    }
}
