//! The server's allocator: the system's, with a count of the bytes each thread holds.
//!
//! Caches must know what they keep, and tantivy does not tell the size of the tables it reads
//! into memory when a column is opened (an address column's table of value ranges is most of
//! a cached column). [`measure`] counts what a piece of work left allocated instead.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// [`System`], counting per thread the bytes allocated less the bytes freed.
pub struct MeteredAllocator;

thread_local! {
    /// Bytes this thread allocated less those it freed (memory freed by another thread than
    /// the one that allocated it counts there). Without a destructor, so it can be read while
    /// the thread ends.
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn count(bytes: isize) {
    let _ = NET_BYTES.try_with(|net| net.set(net.get().wrapping_add(bytes)));
}

// SAFETY: every call is passed to `System` unchanged; only a thread-local counter is added.
unsafe impl GlobalAlloc for MeteredAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is `System`'s.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    #[inline]
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(pointer, layout) };
        count(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `pointer` came from `System` with `layout`; the rest is the caller's contract.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        moved
    }
}

/// Runs `work` and tells the heap bytes it left allocated on this thread: what its result
/// holds, when it allocates on this thread only and frees nothing allocated before.
pub fn measure<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = NET_BYTES.with(Cell::get);
    let result = work();
    let after = NET_BYTES.with(Cell::get);
    (result, after.saturating_sub(before).max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::measure;

    #[test]
    fn what_work_keeps_is_measured_and_what_it_frees_is_not() {
        let (kept, bytes) = measure(|| {
            let scratch = vec![0u8; 1 << 20];
            drop(scratch);
            let mut kept: Vec<u64> = Vec::with_capacity(1000);
            kept.extend(0..1000);
            kept.reserve_exact(1000);
            kept
        });
        assert_eq!(bytes, kept.capacity() * 8);
        let ((), freed) = measure(|| drop(kept));
        assert_eq!(freed, 0, "freeing is never a negative size");
    }
}
