//! The binary's allocator, mimalloc, and how long it keeps freed memory (ADR 0003).

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_option_set, mi_option_t, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::{c_long, c_void};

/// mimalloc rather than the system allocator: the engine's tables grow by doubling, and mimalloc
/// reuses the freed halves with fewer trips to the OS.
#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

/// The alignment every mimalloc block has: blocks are whole words, and a page's first block is
/// 16-aligned (`MI_PAGE_MIN_START_BLOCK_ALIGN` in mimalloc's `types.h`).
const WORD_ALIGN: usize = 8;

/// mimalloc as the global allocator, asking for an alignment only when a block's own is not
/// enough. The `mimalloc` crate sends every request through `mi_malloc_aligned`, and mimalloc v3
/// serves that from its plain free lists only when they have a block ready; otherwise, for any
/// size that is not a power of two, it over-allocates (size + alignment − 1) through a slow path.
/// A ring of four 40-byte entries (160 bytes) thus took a block of 167 bytes or more: half the
/// engine's allocations went that way on the bench.
struct Mimalloc;

// SAFETY: every block comes from mimalloc and goes back to it; a request aligned to at most a
// word takes a plain block, which is word-aligned, and any other asks mimalloc for its alignment.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain calls into mimalloc (see the impl).
        unsafe { block(layout, mi_malloc, mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { block(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, _layout: Layout) {
        // SAFETY: `pointer` came from this allocator, so from mimalloc.
        unsafe { mi_free(pointer.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; the new block keeps the layout's alignment as `alloc` would.
        unsafe {
            match layout.align() <= WORD_ALIGN {
                true => mi_realloc(pointer.cast(), new_size),
                false => mi_realloc_aligned(pointer.cast(), new_size, layout.align()),
            }
            .cast()
        }
    }
}

/// A block for `layout` from `plain` when a word's alignment is enough, else from `aligned`.
///
/// # Safety
/// `plain` and `aligned` are mimalloc's allocation functions (sized, and sized and aligned).
#[inline]
unsafe fn block(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: mimalloc's allocation functions take any size and a power-of-two alignment.
    unsafe {
        match layout.align() <= WORD_ALIGN {
            true => plain(layout.size()),
            false => aligned(layout.size(), layout.align()),
        }
        .cast()
    }
}

/// mimalloc's `mi_option_purge_delay`: 15 in the `mi_option_t` of `mimalloc.h` (v2 and v3); the
/// bindings name no constant for it. The test below checks it against `MIMALLOC_PURGE_DELAY`.
const PURGE_DELAY: mi_option_t = 15;

/// How long freed memory is kept for reuse before it goes back to the OS. mimalloc's own default,
/// 10 ms, returned memory the engine's growing tables asked for again a moment later, zeroed by
/// the kernel each time; 1 s still did so in 2 of 5 replays (ADR 0003).
pub const PURGE_DELAY_MS: c_long = 10_000;

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
    use std::alloc::{GlobalAlloc, Layout};
    use std::process::Command;

    /// Every size and alignment gets a block aligned as asked, whether through a plain block or
    /// an aligned one, fresh, zeroed or grown.
    #[test]
    fn blocks_are_aligned_as_asked() {
        let allocator = super::Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=1_100).chain([4_096, 65_536, 1 << 20]) {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                // SAFETY: a non-zero size; each block is freed once, with its own layout.
                unsafe {
                    let block = allocator.alloc(layout);
                    assert!(!block.is_null() && block.align_offset(align) == 0, "{size} bytes aligned to {align}");
                    block.write_bytes(0xA5, size);
                    let grown = allocator.realloc(block, layout, size * 3);
                    assert_eq!(grown.align_offset(align), 0, "{size} bytes grown, aligned to {align}");
                    assert_eq!(*grown.add(size - 1), 0xA5, "growing keeps the contents");
                    allocator.dealloc(grown, Layout::from_size_align(size * 3, align).expect("valid"));
                    let zeroed = allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed.align_offset(align), 0, "{size} zeroed bytes aligned to {align}");
                    assert!((0..size).all(|at| *zeroed.add(at) == 0), "zeroed");
                    allocator.dealloc(zeroed, layout);
                }
            }
        }
    }

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
