//! The events of one key: allowed withdrawals sorted by time, one kept
//! inline (most destinations are used once).

use std::collections::VecDeque;

use crate::{Contribution, WindowStats};

/// One allowed withdrawal under one key. Equal events count alike in every
/// window, so a release may remove any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Event {
    pub ts: u64,
    pub amount: u64,
    pub usd_cents: u64,
    /// Interned asset (see `MemoryStore::intern`).
    pub asset: u32,
}

impl Event {
    /// The event of a recorded contribution in interned `asset`.
    pub fn of(c: &Contribution, asset: u32) -> Self {
        Event {
            ts: c.ts,
            amount: c.amount,
            usd_cents: c.usd_cents,
            asset,
        }
    }
}

/// Where an event at `ts` goes: after every event not later than it.
/// Events arrive nearly in time order, so the place is searched from the
/// back, in steps doubling from 16 (a binary search over a long history
/// would be a cache miss per step, and most events go last).
fn insertion_point(events: &VecDeque<Event>, ts: u64) -> usize {
    let len = events.len();
    if events.back().is_none_or(|e| e.ts <= ts) {
        return len;
    }
    // events[hi] is later than `ts`; find lo with events[lo] not later.
    let mut hi = len - 1;
    let mut step = 16;
    let mut lo = loop {
        let lo = hi.saturating_sub(step);
        if lo == 0 || events[lo].ts <= ts {
            break lo;
        }
        hi = lo;
        step *= 2;
    };
    // The first in lo..=hi later than `ts`.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if events[mid].ts <= ts {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn insert_sorted(events: &mut VecDeque<Event>, event: Event) {
    let at = insertion_point(events, event.ts);
    events.insert(at, event);
}

/// Merges `run` (in time order) into `events`: the events later than the
/// run's first are taken off the back and merged with it, so a run that
/// overlaps the end of a long history costs the overlap, not an insert
/// into the middle per event.
fn merge_sorted(events: &mut VecDeque<Event>, run: &[Event]) {
    let Some(first) = run.first() else {
        return;
    };
    let at = insertion_point(events, first.ts);
    events.reserve(run.len());
    let tail: Vec<Event> = events.drain(at..).collect();
    let (mut a, mut b) = (tail.iter().peekable(), run.iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.ts <= y.ts => a.next(),
            (_, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        events.extend(next.copied());
    }
}

/// The events of one key, sorted by time.
#[derive(Debug)]
pub(super) enum Events {
    One(Event),
    Many(VecDeque<Event>),
}

impl Events {
    fn as_slices(&self) -> (&[Event], &[Event]) {
        match self {
            Events::One(e) => (std::slice::from_ref(e), &[]),
            Events::Many(d) => d.as_slices(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Events::One(_) => 1,
            Events::Many(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> {
        let (a, b) = self.as_slices();
        a.iter().chain(b)
    }

    /// The events of `run`, in time order (at least one).
    pub fn from_sorted(run: &[Event]) -> Self {
        match run {
            [e] => Events::One(*e),
            _ => Events::Many(run.iter().copied().collect()),
        }
    }

    /// Adds the events of `run`, in time order.
    pub fn extend_sorted(&mut self, run: &[Event]) {
        match self {
            Events::One(e) => {
                let mut d = VecDeque::with_capacity(1 + run.len());
                d.push_back(*e);
                merge_sorted(&mut d, run);
                *self = Events::Many(d);
            }
            Events::Many(d) => merge_sorted(d, run),
        }
        self.compact();
    }

    pub fn insert(&mut self, event: Event) {
        match self {
            Events::One(first) => {
                let mut d = VecDeque::with_capacity(2);
                d.push_back(*first);
                insert_sorted(&mut d, event);
                *self = Events::Many(d);
            }
            Events::Many(d) if d.is_empty() => *self = Events::One(event),
            Events::Many(d) => insert_sorted(d, event),
        }
    }

    /// Drops the events before `cutoff`.
    pub fn prune(&mut self, cutoff: u64) {
        match self {
            Events::One(e) if e.ts < cutoff => *self = Events::Many(VecDeque::new()),
            Events::One(_) => {}
            Events::Many(d) => {
                while d.front().is_some_and(|e| e.ts < cutoff) {
                    d.pop_front();
                }
                self.compact();
            }
        }
    }

    /// Removes one event equal to `event`; whether there was one.
    pub fn remove(&mut self, event: &Event) -> bool {
        let removed = match self {
            Events::One(e) => {
                let found = e == event;
                if found {
                    *self = Events::Many(VecDeque::new());
                }
                found
            }
            Events::Many(d) => {
                let from = d.partition_point(|e| e.ts < event.ts);
                match d.range(from..).position(|e| e == event) {
                    Some(offset) => d.remove(from + offset).is_some(),
                    None => false,
                }
            }
        };
        self.compact();
        removed
    }

    /// Back to inline storage at one event; gives back most of a buffer
    /// that emptied.
    fn compact(&mut self) {
        if let Events::Many(d) = self {
            if d.len() == 1 {
                *self = Events::One(d[0]);
            } else if d.capacity() > 8 && d.len() < d.capacity() / 4 {
                d.shrink_to(d.len() * 2);
            }
        }
    }

    /// Count and sums of the events with `ts > t - window_ms` (`sum` over
    /// the events in `asset` only).
    pub fn window(&self, t: u64, window_ms: u64, asset: Option<u32>) -> WindowStats {
        let mut stats = WindowStats::default();
        let (a, b) = self.as_slices();
        for part in [a, b] {
            let start = part.partition_point(|e| e.ts.saturating_add(window_ms) <= t);
            for e in &part[start..] {
                stats.count += 1;
                stats.usd_cents = stats.usd_cents.saturating_add(e.usd_cents);
                if Some(e.asset) == asset {
                    stats.sum = stats.sum.saturating_add(e.amount);
                }
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(ts: u64, amount: u64) -> Event {
        Event {
            ts,
            amount,
            usd_cents: amount / 2,
            asset: (amount % 3) as u32,
        }
    }

    fn times(e: &Events) -> Vec<u64> {
        e.iter().map(|e| e.ts).collect()
    }

    proptest! {
        /// Any insertion order (in order, jittered, far out of order) gives
        /// the sorted multiset; removals take exactly one equal event; the
        /// window matches a scan of a plain sorted list.
        #[test]
        fn events_stay_sorted_and_windows_match_a_scan(
            ts in proptest::collection::vec(0u64..5_000, 1..300),
            removes in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
            t in 0u64..6_000,
            w in 1u64..3_000,
            cutoff in 0u64..2_000,
        ) {
            let mut e = Events::One(ev(ts[0], 0));
            let mut model = vec![ev(ts[0], 0)];
            for (i, &t) in ts.iter().enumerate().skip(1) {
                e.insert(ev(t, i as u64));
                model.push(ev(t, i as u64));
            }
            let mut run: Vec<Event> = ts.iter().rev().take(40).map(|&t| ev(t / 2 + 1000, t)).collect();
            run.sort_by_key(|e| e.ts);
            e.extend_sorted(&run);
            model.extend(run);
            model.sort_by_key(|e| e.ts);
            prop_assert_eq!(times(&e), model.iter().map(|e| e.ts).collect::<Vec<_>>());
            for r in removes {
                if model.is_empty() { break; }
                let victim = model.remove(r.index(model.len()));
                prop_assert!(e.remove(&victim));
                prop_assert!(!e.is_empty() || model.is_empty());
            }
            prop_assert_eq!(e.len(), model.len());
            let scan = |asset| model.iter().filter(|x| x.ts + w > t).fold(WindowStats::default(), |mut s, x| {
                s.count += 1;
                s.usd_cents += x.usd_cents;
                if Some(x.asset) == asset { s.sum += x.amount; }
                s
            });
            prop_assert_eq!(e.window(t, w, Some(1)), scan(Some(1)));
            prop_assert_eq!(e.window(t, w, None), scan(None));
            e.prune(cutoff);
            model.retain(|x| x.ts >= cutoff);
            prop_assert_eq!(times(&e), model.iter().map(|e| e.ts).collect::<Vec<_>>());
        }
    }

    #[test]
    fn one_event_is_inline_and_removal_empties() {
        let mut e = Events::One(ev(5, 1));
        assert!(!e.remove(&ev(5, 2)));
        e.insert(ev(3, 2));
        assert!(matches!(e, Events::Many(_)));
        assert!(e.remove(&ev(5, 1)));
        assert!(matches!(e, Events::One(x) if x == ev(3, 2)));
        assert!(e.remove(&ev(3, 2)));
        assert!(e.is_empty());
        e.insert(ev(9, 9));
        assert!(matches!(e, Events::One(_)));
    }
}
