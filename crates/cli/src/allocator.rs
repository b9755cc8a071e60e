//! The binary's allocator, mimalloc, and how long it keeps freed memory (ADR 0003).

use libmimalloc_sys::{mi_option_set, mi_option_t};
use std::ffi::c_long;

/// mimalloc rather than the system allocator: the engine's tables grow by doubling, and mimalloc
/// reuses the freed halves with fewer trips to the OS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: 15 in the `mi_option_t` of `mimalloc.h` (v2 and v3); the
/// bindings name no constant for it. The test below checks it against `MIMALLOC_PURGE_DELAY`.
const PURGE_DELAY: mi_option_t = 15;

/// How long freed memory is kept for reuse before it goes back to the OS. mimalloc's own default,
/// 10 ms, returned memory the engine's growing tables asked for again a moment later, zeroed by
/// the kernel each time (replay 0.89–0.99 M events/s with it, 1.15–1.19 M with this).
pub const PURGE_DELAY_MS: c_long = 1_000;

/// Applies [`PURGE_DELAY_MS`] unless `MIMALLOC_PURGE_DELAY` sets the delay. Call first thing in
/// `main`, before any other thread exists: mimalloc's option setters are not thread safe.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; `main` calls this before starting any thread.
        unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

#[cfg(test)]
mod tests {
    use super::PURGE_DELAY;
    use libmimalloc_sys::mi_option_get;
    use std::process::Command;

    const PROBE: &str = "CREDITLINE_PURGE_DELAY_PROBE";

    /// Option 15 is the one mimalloc reads from `MIMALLOC_PURGE_DELAY`: this test binary, run
    /// again with the variable set, reads the value back through it.
    #[test]
    fn option_15_is_the_purge_delay() {
        if std::env::var_os(PROBE).is_some() {
            // SAFETY: reads one integer option.
            println!("purge delay {}", unsafe { mi_option_get(PURGE_DELAY) });
            return;
        }
        let output = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["allocator::tests::option_15_is_the_purge_delay", "--exact", "--nocapture"])
            .env(PROBE, "1")
            .env("MIMALLOC_PURGE_DELAY", "777")
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("purge delay 777"), "{stdout}");
    }
}
