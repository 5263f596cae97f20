//! Per-thread slots: state that every thread updates on every decision
//! (counters, registries, pools) kept one slot per thread, each on its own
//! cache lines, so two cores never take turns owning one line. Readers
//! (metrics, an asset-scope window) sum or scan the slots.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A value alone on its cache lines (two, against the adjacent-line
/// prefetcher), so threads writing neighbouring slots do not share one.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Padded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// This thread's slot among `n` (assigned round-robin on the thread's first
/// use; threads beyond `n` share slots, which stays correct, only slower).
pub fn thread_slot(n: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.with(|s| *s % n.max(1))
}

/// Slots of a [`StripedU64`].
const STRIPES: usize = 16;

/// A counter each thread adds to in its own slot; [`StripedU64::load`]
/// sums them (or takes their maximum, for one updated with
/// [`StripedU64::fetch_max`]). The method names follow `AtomicU64`'s.
#[derive(Debug, Default)]
pub struct StripedU64 {
    slots: [Padded<AtomicU64>; STRIPES],
}

impl StripedU64 {
    /// Adds `v` in this thread's slot.
    pub fn fetch_add(&self, v: u64, order: Ordering) {
        self.slots[thread_slot(STRIPES)].0.fetch_add(v, order);
    }

    /// Raises this thread's slot to `v` (read first: no write when lower).
    pub fn fetch_max(&self, v: u64, order: Ordering) {
        let slot = &self.slots[thread_slot(STRIPES)].0;
        if v > slot.load(Ordering::Relaxed) {
            slot.fetch_max(v, order);
        }
    }

    /// The sum of the slots (a counter of `fetch_add`).
    pub fn load(&self, order: Ordering) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(order)))
    }

    /// The largest slot (a counter of `fetch_max`).
    pub fn max(&self, order: Ordering) -> u64 {
        self.slots
            .iter()
            .map(|s| s.0.load(order))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn striped_counters_sum_and_max_across_threads() {
        let c = StripedU64::default();
        let m = StripedU64::default();
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (c, m) = (&c, &m);
                s.spawn(move || {
                    for i in 0..1000 {
                        c.fetch_add(1, Ordering::Relaxed);
                        m.fetch_max(t * 1000 + i, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(c.load(Ordering::Relaxed), 8000);
        assert_eq!(m.max(Ordering::Relaxed), 7999);
        assert!(thread_slot(4) < 4);
    }
}
