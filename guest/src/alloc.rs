//! The policy's allocator on wasm32: small blocks from per-size free lists.
//!
//! Every policy call allocates: the host places the withdrawal's packed
//! text (contract 0.1.2; each string and the parameters' record under
//! `evaluate`) in a fresh guest allocation through `cabi_realloc`, the
//! bindings free it after the call, and a decision's reasons are allocated
//! strings. Rust's default allocator on
//! `wasm32-unknown-unknown` (dlmalloc) spends about a hundred instructions
//! on each, which is fuel and time on every decision: the bundled sanctions
//! policy burns 2223 fuel per clean decision with it, 1400 with this one
//! (velocity: 3923 and 2955).
//!
//! [`SizeClasses`] serves blocks of up to [`MAX_SMALL`] bytes from one free
//! list per size class (a pop to allocate, a push to free, a bump into a
//! 64 KiB chunk when the list is empty) and hands everything else (larger
//! or more strictly aligned blocks, the chunks themselves) to the backing
//! allocator. Freed small blocks are kept for their class, never returned
//! or merged: a policy's memory is its high-water mark per class, bounded
//! by the host's memory cap like any other. It has no locking: wasm32
//! without the atomics feature runs one thread.
//!
//! The SDK installs it as the global allocator of a policy on wasm32 (the
//! default feature `allocator`); a policy that wants its own
//! `#[global_allocator]` turns the SDK's default features off.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::hint::select_unpredictable;
use std::ptr;

/// The largest block served from a size class.
pub const MAX_SMALL: usize = 2048;
/// Alignment of every small block (every class size is a multiple of it).
const ALIGN: usize = 16;
/// Bytes taken from the backing allocator at a time for small blocks.
const CHUNK: usize = 64 << 10;
/// The size classes: multiples of 16, each at most 1.5 times the last.
const CLASSES: [usize; 14] = [
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
];
/// Class of a size, indexed by the size in 16-byte units (rounded up).
const CLASS_OF: [u8; MAX_SMALL / ALIGN + 1] = {
    let mut table = [0u8; MAX_SMALL / ALIGN + 1];
    let mut units = 0;
    let mut class = 0;
    while units < table.len() {
        while CLASSES[class] < units * ALIGN {
            class += 1;
        }
        table[units] = class as u8;
        units += 1;
    }
    table
};

struct State {
    /// Head of each class's list of free blocks; a free block's first
    /// word is the next one.
    free: [*mut u8; CLASSES.len()],
    /// The unused rest of the current chunk.
    next: *mut u8,
    end: *mut u8,
}

/// A size-class allocator over `B` (see the module documentation). Not
/// thread-safe: it is `Sync` only so that it can be a `static`, and must
/// be used from one thread (as on wasm32 without atomics).
pub struct SizeClasses<B> {
    state: UnsafeCell<State>,
    backing: B,
}

// SAFETY: used from one thread only (see the type's documentation): the
// global allocator of a single-threaded wasm32 module, or one test.
unsafe impl<B: Sync> Sync for SizeClasses<B> {}

impl<B> SizeClasses<B> {
    /// An allocator taking its chunks and large blocks from `backing`.
    pub const fn new(backing: B) -> Self {
        SizeClasses {
            state: UnsafeCell::new(State {
                free: [ptr::null_mut(); CLASSES.len()],
                next: ptr::null_mut(),
                end: ptr::null_mut(),
            }),
            backing,
        }
    }
}

/// The class of `layout`, when it is small.
fn class(layout: Layout) -> Option<usize> {
    (layout.size() <= MAX_SMALL && layout.align() <= ALIGN)
        .then(|| usize::from(CLASS_OF[layout.size().div_ceil(ALIGN)]))
}

unsafe impl<B: GlobalAlloc> GlobalAlloc for SizeClasses<B> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else {
            // SAFETY: the caller's layout, passed on.
            return unsafe { self.backing.alloc(layout) };
        };
        // SAFETY: one thread (see `Sync` above); no reference to the state
        // outlives this call.
        let state = unsafe { &mut *self.state.get() };
        let size = CLASSES[c];
        // Room for a block of this class in the chunk, whether or not the
        // class's list has one (at worst a chunk's tail goes unused).
        if (state.end as usize) - (state.next as usize) < size {
            // SAFETY: a non-zero size and a valid alignment.
            let chunk = unsafe {
                self.backing
                    .alloc(Layout::from_size_align_unchecked(CHUNK, ALIGN))
            };
            if chunk.is_null() {
                return chunk;
            }
            state.next = chunk;
            // SAFETY: one past the end of the chunk just allocated.
            state.end = unsafe { chunk.add(CHUNK) };
        }
        // The list's head when there is one, else the chunk's next block,
        // chosen without a branch (`select_unpredictable` keeps the
        // optimiser from making two paths of it): both cost the same
        // instructions, so the fuel of a call does not depend on what
        // earlier calls left in the lists (the same input burns the same
        // fuel on a fresh instance and on a reused one).
        let head = state.free[c];
        let popped = !head.is_null();
        let link = select_unpredictable(popped, head.cast::<*mut u8>(), &raw mut state.free[c]);
        // SAFETY: a free block of this class holds the next one in its
        // first word (written by `dealloc`; blocks are 16-aligned); when
        // the list is empty `link` is its head, read and written back.
        state.free[c] = unsafe { link.read() };
        let bumped = state.next;
        // SAFETY: `size` bytes remain in the chunk (made sure above).
        let after = unsafe { bumped.add(size) };
        state.next = select_unpredictable(popped, bumped, after);
        select_unpredictable(popped, head, bumped)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else {
            // SAFETY: allocated by the backing allocator with this layout.
            return unsafe { self.backing.dealloc(block, layout) };
        };
        // SAFETY: one thread; `block` is a block of class `c` no longer in
        // use (the caller's contract), at least 16 bytes and 16-aligned.
        unsafe {
            let state = &mut *self.state.get();
            block.cast::<*mut u8>().write(state.free[c]);
            state.free[c] = block;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract: `new_size` is valid for the
        // alignment of `layout`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new_layout)) {
            // The same class: the block already fits.
            (Some(a), Some(b)) if a == b => block,
            // SAFETY: large before and after: the backing allocator's own.
            (None, None) => unsafe { self.backing.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: allocate, copy what both hold, free the old.
                unsafe {
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::alloc::System;

    #[test]
    fn classes_cover_every_small_size_with_the_smallest_fit() {
        assert_eq!(CLASSES[CLASSES.len() - 1], MAX_SMALL);
        for size in 0..=MAX_SMALL {
            let c = class(Layout::from_size_align(size, 1).unwrap()).unwrap();
            assert!(CLASSES[c] >= size, "size {size} in class {}", CLASSES[c]);
            assert!(
                c == 0 || CLASSES[c - 1] < size,
                "size {size} not in the smallest class"
            );
        }
        assert_eq!(
            class(Layout::from_size_align(MAX_SMALL + 1, 1).unwrap()),
            None
        );
        assert_eq!(class(Layout::from_size_align(8, 32).unwrap()), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc { size: usize, align_log2: u32 },
        Free(prop::sample::Index),
        Realloc(prop::sample::Index, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let size = prop_oneof![
            8 => 0usize..=64,
            4 => 0usize..=MAX_SMALL + 64,
            1 => 0usize..=(CHUNK + 100),
        ];
        prop_oneof![
            5 => (size.clone(), 0u32..=6).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
            3 => any::<prop::sample::Index>().prop_map(Op::Free),
            2 => (any::<prop::sample::Index>(), size).prop_map(|(i, s)| Op::Realloc(i, s)),
        ]
    }

    /// Fills `len` bytes at `p` with a pattern of `tag`.
    unsafe fn fill(p: *mut u8, len: usize, tag: u8) {
        for i in 0..len {
            unsafe { p.add(i).write(tag ^ (i as u8)) };
        }
    }

    fn intact(p: *const u8, len: usize, tag: u8) -> bool {
        (0..len).all(|i| unsafe { p.add(i).read() } == tag ^ (i as u8))
    }

    proptest! {
        /// Any sequence of allocations (sizes small and large, alignments
        /// up to 64), frees and reallocations: every block is aligned,
        /// live blocks never overlap, and what was written in a block is
        /// there until it is freed (across a realloc, its first bytes).
        #[test]
        fn live_blocks_are_aligned_disjoint_and_keep_their_bytes(ops in proptest::collection::vec(op(), 1..400)) {
            let a = SizeClasses::new(System);
            // (pointer, layout, tag)
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                let tag = n as u8;
                match op {
                    Op::Alloc { size, align_log2 } => {
                        let layout = Layout::from_size_align(size.max(1), 1 << align_log2).unwrap();
                        let p = unsafe { a.alloc(layout) };
                        prop_assert!(!p.is_null());
                        prop_assert_eq!(p as usize % layout.align(), 0);
                        unsafe { fill(p, layout.size(), tag) };
                        live.push((p, layout, tag));
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (p, layout, t) = live.swap_remove(i.index(live.len()));
                        prop_assert!(intact(p, layout.size(), t));
                        unsafe { a.dealloc(p, layout) };
                    }
                    Op::Realloc(i, size) if !live.is_empty() => {
                        let i = i.index(live.len());
                        let (p, layout, t) = live[i];
                        let size = size.max(1);
                        let q = unsafe { a.realloc(p, layout, size) };
                        prop_assert!(!q.is_null());
                        prop_assert_eq!(q as usize % layout.align(), 0);
                        prop_assert!(intact(q, layout.size().min(size), t));
                        let layout = Layout::from_size_align(size, layout.align()).unwrap();
                        unsafe { fill(q, size, tag) };
                        live[i] = (q, layout, tag);
                    }
                    _ => {}
                }
                let mut spans: Vec<(usize, usize)> = live.iter().map(|&(p, l, _)| (p as usize, p as usize + l.size())).collect();
                spans.sort_unstable();
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 <= pair[1].0, "blocks overlap: {:?}", pair);
                }
            }
            for (p, layout, t) in live {
                prop_assert!(intact(p, layout.size(), t));
                unsafe { a.dealloc(p, layout) };
            }
        }
    }

    #[test]
    fn a_freed_block_is_reused_by_its_class() {
        let a = SizeClasses::new(System);
        let small = Layout::from_size_align(40, 8).unwrap();
        unsafe {
            let p = a.alloc(small);
            a.dealloc(p, small);
            assert_eq!(a.alloc(Layout::from_size_align(48, 4).unwrap()), p);
            // Growing within the class keeps the block.
            assert_eq!(a.realloc(p, Layout::from_size_align(48, 4).unwrap(), 33), p);
        }
    }
}
