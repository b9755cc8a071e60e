//! Asking the CPU for records ahead of use: the engine's look-ahead and the risk records'
//! heap parts call these. A prefetch is a hint without memory effects; it changes no state.

/// Every cache line of a record.
#[inline]
pub fn record<T>(value: &T) {
    slice(std::slice::from_ref(value));
}

/// Every cache line of a slice.
#[inline]
pub fn slice<T>(values: &[T]) {
    let (start, size) = (values.as_ptr().cast::<u8>(), size_of_val(values));
    let mut offset = 0;
    while offset < size {
        line(start.wrapping_add(offset));
        offset += 64;
    }
}

/// Asks for one line into the level-2 cache rather than the level-1 (`T1`, not `T0`): measured
/// on the bench, `T1` was 3–4 % faster in the rules-on pass alone (two batches of six pairs) and
/// 3 % in the full bench (six pairs, every one faster; commit 45ea7ab). Why is not known:
/// `perf` still puts samples on the prefetch instructions either way.
#[cfg(target_arch = "x86_64")]
#[inline]
fn line(address: *const u8) {
    // SAFETY: a prefetch is a hint without memory effects, valid for any address; SSE, which
    // provides it, is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(address.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn line(_address: *const u8) {}
