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

/// The running totals of a [`Series`] up to and including one event: sums
/// (wrapping) of `usd_cents` and of `amount` from its first event.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    usd: u64,
    amount: u64,
}

/// Which assets a series' events are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mix {
    #[default]
    Empty,
    /// Every event is in this asset.
    One(u32),
    /// Two events differ (the series never goes back to `One`).
    Many,
}

impl Mix {
    fn add(&mut self, asset: u32) {
        *self = match *self {
            Mix::Empty => Mix::One(asset),
            Mix::One(a) if a == asset => Mix::One(a),
            _ => Mix::Many,
        };
    }
}

/// The events of a key with several, in time order, and the running totals
/// up to each: a window's count and sums are one binary search and two
/// subtractions, however many events it holds (a hot destination or an
/// asset-wide key may hold hundreds of thousands in a day). Two cases are
/// summed over the window instead: the amounts of a key whose events are in
/// several assets (`sum` counts one asset's), and a sum whose key's total
/// passes `u64::MAX` (the window saturates; the running totals wrap).
///
/// The totals are kept for a prefix of the events and extended when a
/// window is asked, not on every change: an event inserted before others
/// (requests arriving out of order, or a replay) cuts the prefix at its
/// place, and the next window extends it once. A key no rule asks about
/// (every withdrawal of an asset has an event under the asset's key) keeps
/// none, and its inserts cost what they did without them.
#[derive(Debug, Default)]
pub(super) struct Series {
    events: VecDeque<Event>,
    /// The running totals of `events[..totals.len()]`.
    totals: VecDeque<Totals>,
    /// Exact totals of every event's `usd_cents` and `amount`.
    total_usd: u128,
    total_amount: u128,
    mix: Mix,
}

impl Series {
    fn from_sorted(run: &[Event]) -> Self {
        let mut s = Series {
            events: run.iter().copied().collect(),
            ..Series::default()
        };
        for e in run {
            s.count_in(e);
        }
        s
    }

    fn len(&self) -> usize {
        self.events.len()
    }

    fn count_in(&mut self, e: &Event) {
        self.total_usd += u128::from(e.usd_cents);
        self.total_amount += u128::from(e.amount);
        self.mix.add(e.asset);
    }

    fn count_out(&mut self, e: &Event) {
        self.total_usd -= u128::from(e.usd_cents);
        self.total_amount -= u128::from(e.amount);
    }

    /// Events from `i` on changed: their running totals go.
    fn changed_from(&mut self, i: usize) {
        self.totals.truncate(i);
    }

    /// The running totals of every event.
    fn extend_totals(&mut self) {
        let mut last = self.totals.back().copied().unwrap_or_default();
        let from = self.totals.len();
        for e in self.events.range(from..) {
            last = Totals {
                usd: last.usd.wrapping_add(e.usd_cents),
                amount: last.amount.wrapping_add(e.amount),
            };
            self.totals.push_back(last);
        }
    }

    /// The running totals before event `i` (those of every event known).
    fn before(&self, i: usize) -> Totals {
        match i.checked_sub(1) {
            Some(j) => self.totals[j],
            None => match (self.totals.front(), self.events.front()) {
                (Some(t), Some(e)) => Totals {
                    usd: t.usd.wrapping_sub(e.usd_cents),
                    amount: t.amount.wrapping_sub(e.amount),
                },
                _ => Totals::default(),
            },
        }
    }

    /// Where an event at `ts` goes: after every event not later than it.
    /// Events arrive nearly in time order, so the place is searched from
    /// the back, in steps doubling from 16 (a binary search over a long
    /// history would be a cache miss per step, and most events go last).
    fn insertion_point(&self, ts: u64) -> usize {
        let events = &self.events;
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

    fn insert(&mut self, event: Event) {
        let at = self.insertion_point(event.ts);
        self.count_in(&event);
        self.events.insert(at, event);
        self.changed_from(at);
    }

    /// Merges `run` (in time order): the events later than the run's first
    /// are taken off the back and merged with it, so a run that overlaps
    /// the end of a long history costs the overlap, not an insert into the
    /// middle per event.
    fn merge_sorted(&mut self, run: &[Event]) {
        let Some(first) = run.first() else {
            return;
        };
        let at = self.insertion_point(first.ts);
        for e in run {
            self.count_in(e);
        }
        self.changed_from(at);
        self.events.reserve(run.len());
        let tail: Vec<Event> = self.events.drain(at..).collect();
        let (mut a, mut b) = (tail.iter().peekable(), run.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.ts <= y.ts => a.next(),
                (_, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            self.events.extend(next.copied());
        }
    }

    fn pop_front_before(&mut self, cutoff: u64) {
        while let Some(front) = self.events.front().copied()
            && front.ts < cutoff
        {
            self.events.pop_front();
            // The totals of the others stay: a window subtracts two of them.
            self.totals.pop_front();
            self.count_out(&front);
        }
    }

    fn remove(&mut self, event: &Event) -> bool {
        let from = self.events.partition_point(|e| e.ts < event.ts);
        let Some(offset) = self.events.range(from..).position(|e| e == event) else {
            return false;
        };
        let at = from + offset;
        self.events.remove(at);
        self.count_out(event);
        self.changed_from(at);
        true
    }

    fn window(&mut self, t: u64, window_ms: u64, asset: Option<u32>) -> WindowStats {
        let start = self
            .events
            .partition_point(|e| e.ts.saturating_add(window_ms) <= t);
        if start == self.events.len() {
            return WindowStats::default();
        }
        self.extend_totals();
        let last = self.before(self.events.len());
        let first = self.before(start);
        let scan = || self.events.range(start..);
        let usd_cents = if self.total_usd <= u128::from(u64::MAX) {
            last.usd.wrapping_sub(first.usd)
        } else {
            scan().fold(0u64, |s, e| s.saturating_add(e.usd_cents))
        };
        let scan_sum = |a: u32| {
            scan()
                .filter(|e| e.asset == a)
                .fold(0u64, |s, e| s.saturating_add(e.amount))
        };
        let sum = match (asset, self.mix) {
            (Some(a), Mix::One(b)) if a == b => {
                if self.total_amount <= u128::from(u64::MAX) {
                    last.amount.wrapping_sub(first.amount)
                } else {
                    scan_sum(a)
                }
            }
            (Some(a), Mix::Many) => scan_sum(a),
            _ => 0,
        };
        WindowStats {
            count: (self.events.len() - start) as u64,
            sum,
            usd_cents,
        }
    }
}

/// The events of one key, sorted by time.
#[derive(Debug)]
pub(super) enum Events {
    One(Event),
    Many(Series),
}

impl Events {
    pub fn len(&self) -> usize {
        match self {
            Events::One(_) => 1,
            Events::Many(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> {
        let (one, many) = match self {
            Events::One(e) => (Some(e), None),
            Events::Many(s) => (None, Some(s.events.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// The events of `run`, in time order (at least one).
    pub fn from_sorted(run: &[Event]) -> Self {
        match run {
            [e] => Events::One(*e),
            _ => Events::Many(Series::from_sorted(run)),
        }
    }

    /// Adds the events of `run`, in time order.
    pub fn extend_sorted(&mut self, run: &[Event]) {
        match self {
            Events::One(e) => {
                let mut s = Series::from_sorted(std::slice::from_ref(e));
                s.merge_sorted(run);
                *self = Events::Many(s);
            }
            Events::Many(s) => s.merge_sorted(run),
        }
        self.compact();
    }

    pub fn insert(&mut self, event: Event) {
        match self {
            Events::One(first) => {
                let mut s = Series::from_sorted(std::slice::from_ref(first));
                s.insert(event);
                *self = Events::Many(s);
            }
            Events::Many(s) if s.len() == 0 => *self = Events::One(event),
            Events::Many(s) => s.insert(event),
        }
    }

    /// Drops the events before `cutoff`.
    pub fn prune(&mut self, cutoff: u64) {
        match self {
            Events::One(e) if e.ts < cutoff => *self = Events::Many(Series::default()),
            Events::One(_) => {}
            Events::Many(s) => {
                s.pop_front_before(cutoff);
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
                    *self = Events::Many(Series::default());
                }
                found
            }
            Events::Many(s) => s.remove(event),
        };
        self.compact();
        removed
    }

    /// Back to inline storage at one event; gives back most of a buffer
    /// that emptied.
    fn compact(&mut self) {
        if let Events::Many(s) = self {
            if s.events.len() == 1 {
                *self = Events::One(s.events[0]);
            } else if s.events.capacity() > 8 && s.events.len() < s.events.capacity() / 4 {
                s.events.shrink_to(s.events.len() * 2);
                s.totals.shrink_to(s.totals.len() * 2);
            }
        }
    }

    /// Count and sums of the events with `ts > t - window_ms` (`sum` over
    /// the events in `asset` only).
    pub fn window(&mut self, t: u64, window_ms: u64, asset: Option<u32>) -> WindowStats {
        match self {
            Events::One(e) if e.ts.saturating_add(window_ms) > t => WindowStats {
                count: 1,
                sum: if Some(e.asset) == asset { e.amount } else { 0 },
                usd_cents: e.usd_cents,
            },
            Events::One(_) => WindowStats::default(),
            Events::Many(s) => s.window(t, window_ms, asset),
        }
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
            prop_assert_eq!(e.window(t, w, Some(0)).count, u64::from(ts[0] + w > t));
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

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Event),
        Run(Vec<Event>),
        Remove(prop::sample::Index),
        Prune(u64),
    }

    /// Events of one asset or of three, amounts small or near `u64::MAX`
    /// (a key's totals then pass it and the windows saturate).
    fn event(assets: u32, huge: bool) -> impl Strategy<Value = Event> {
        let value = if huge {
            prop_oneof![0u64..1_000, (u64::MAX / 4)..=u64::MAX].boxed()
        } else {
            (0u64..1_000_000).boxed()
        };
        (0u64..10_000, value.clone(), value, 0..assets).prop_map(
            |(ts, amount, usd_cents, asset)| Event {
                ts,
                amount,
                usd_cents,
                asset,
            },
        )
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        (1u32..=3, any::<bool>()).prop_flat_map(|(assets, huge)| {
            let op = prop_oneof![
                6 => event(assets, huge).prop_map(Op::Insert),
                1 => proptest::collection::vec(event(assets, huge), 0..30).prop_map(|mut run| {
                    run.sort_by_key(|e| e.ts);
                    Op::Run(run)
                }),
                2 => any::<prop::sample::Index>().prop_map(Op::Remove),
                1 => (0u64..6_000).prop_map(Op::Prune),
            ];
            proptest::collection::vec(op, 1..200)
        })
    }

    proptest! {
        /// After any sequence of inserts, merged runs, removals and prunes,
        /// every window (of several lengths, ending before, inside and
        /// after the events, for each asset and none) is the saturating
        /// scan of a plain list: the running totals and their fallbacks
        /// agree with the definition.
        #[test]
        fn windows_from_running_totals_match_a_scan(
            ops in ops(),
            probes in proptest::collection::vec((0u64..12_000, 1u64..12_000), 8),
            every in 1usize..8,
        ) {
            let mut e: Option<Events> = None;
            let mut model: Vec<Event> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Insert(x) => {
                        match &mut e {
                            Some(e) => e.insert(x),
                            None => e = Some(Events::One(x)),
                        }
                        model.push(x);
                    }
                    Op::Run(run) if !run.is_empty() => {
                        match &mut e {
                            Some(e) => e.extend_sorted(&run),
                            None => e = Some(Events::from_sorted(&run)),
                        }
                        model.extend(run);
                    }
                    Op::Run(_) => {}
                    Op::Remove(i) if !model.is_empty() => {
                        let victim = model.remove(i.index(model.len()));
                        prop_assert!(e.as_mut().unwrap().remove(&victim));
                    }
                    Op::Remove(_) => {}
                    Op::Prune(cutoff) => {
                        if let Some(e) = &mut e {
                            e.prune(cutoff);
                        }
                        model.retain(|x| x.ts >= cutoff);
                    }
                }
                model.sort_by_key(|x| x.ts);
                // Windows every few changes: stale totals pile up between.
                let Some(e) = &mut e else { continue };
                prop_assert_eq!(e.len(), model.len());
                if n % every != 0 {
                    continue;
                }
                for &(t, w) in &probes {
                    for asset in [None, Some(0), Some(1), Some(2)] {
                        let scan = model.iter().filter(|x| x.ts.saturating_add(w) > t).fold(
                            WindowStats::default(),
                            |mut s, x| {
                                s.count += 1;
                                s.usd_cents = s.usd_cents.saturating_add(x.usd_cents);
                                if Some(x.asset) == asset {
                                    s.sum = s.sum.saturating_add(x.amount);
                                }
                                s
                            },
                        );
                        prop_assert_eq!(e.window(t, w, asset), scan, "t {} w {} asset {:?}", t, w, asset);
                    }
                }
            }
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
