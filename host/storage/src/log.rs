//! Group commit: the one mechanism behind every append-only log riskgate
//! syncs (the velocity write-ahead log, the decision log).
//!
//! Appenders add their records to a shared buffer and get a [`Ticket`] for
//! the batch that buffer will be written in. One flush takes everything
//! buffered so far and hands it to the log's own `flush` (one write and at
//! most one sync, whatever the log's format), then tells every appender of
//! that batch the one result: concurrent appends share the cost of a sync,
//! and a failure fails every append of the batch, none is reported written
//! without its bytes on disk.
//!
//! The flush is made either by an appender itself ([`GroupCommit::wait_or_lead`]:
//! the first waiter leads, writing for all who wait meanwhile) or by a
//! background writer ([`GroupCommit::run`] on a thread of its own,
//! appenders waiting with [`GroupCommit::wait`] or [`Ticket::wait`] or,
//! from async code, [`Ticket::committed`]; the velocity log and the
//! decision log). Batches are flushed one at a time, in append order, so a
//! batch written means every batch before it was flushed too (and, under
//! [`OnFailure::Poison`], written: after a failure no later batch reaches
//! the log's `flush`). [`GroupCommit::barrier`] gives a ticket for
//! everything appended so far.
//!
//! After a failed flush the log either refuses every later append
//! ([`OnFailure::Poison`]: a write-ahead log whose file may now hold a torn
//! batch) or goes on with the next batch ([`OnFailure::FailBatch`]: the
//! log's `flush` cut the failed batch off itself).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What a failed flush does to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Every later append fails with the flush's error.
    Poison,
    /// Only the batch fails; the next one is written as usual.
    FailBatch,
}

/// Counters of the flushes made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Records in batches written.
    pub records: u64,
    /// Bytes of batches written.
    pub bytes: u64,
    /// Flushes made (written or failed).
    pub batches: u64,
    pub failed_batches: u64,
}

/// Why [`GroupCommit::while_idle`] did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotIdle<E> {
    /// The log is poisoned.
    Failed(E),
    /// Records are buffered or being flushed.
    InFlight,
}

/// The result of one batch, told to its appenders.
struct Slot<E> {
    state: Mutex<SlotState<E>>,
    /// Blocking waiters of [`Ticket::wait`] wait here.
    set: Condvar,
}

struct SlotState<E> {
    result: Option<Result<(), E>>,
    /// Async appenders waiting for it.
    wakers: Vec<Waker>,
}

impl<E: Clone> Slot<E> {
    fn new() -> Arc<Self> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                result: None,
                wakers: Vec::new(),
            }),
            set: Condvar::new(),
        })
    }

    /// A slot whose result is already known.
    fn settled(result: Result<(), E>) -> Arc<Self> {
        let slot = Self::new();
        lock(&slot.state).result = Some(result);
        slot
    }

    /// Blocks until the result is set.
    fn wait(&self) -> Result<(), E> {
        let mut s = lock(&self.state);
        loop {
            if let Some(result) = &s.result {
                return result.clone();
            }
            s = self.set.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn result(&self) -> Option<Result<(), E>> {
        lock(&self.state).result.clone()
    }

    fn set(&self, result: Result<(), E>) {
        let wakers = {
            let mut s = lock(&self.state);
            if s.result.is_some() {
                return;
            }
            s.result = Some(result);
            std::mem::take(&mut s.wakers)
        };
        self.set.notify_all();
        for w in wakers {
            w.wake();
        }
    }
}

/// An append's place in its batch.
pub struct Ticket<E> {
    seq: u64,
    slot: Arc<Slot<E>>,
}

impl<E: Clone> Ticket<E> {
    /// The sequence number of the append's first record: records are
    /// numbered from 0 in append order.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Resolves with the batch's result, without blocking a thread (for a
    /// log written by a background writer).
    pub fn committed(self) -> Committed<E> {
        Committed { slot: self.slot }
    }

    /// Blocks until the batch is flushed, and its result (for a log written
    /// by a background writer: nothing here flushes it).
    pub fn wait(&self) -> Result<(), E> {
        self.slot.wait()
    }

    /// The batch's result, if it is flushed.
    pub fn result(&self) -> Option<Result<(), E>> {
        self.slot.result()
    }
}

/// The future of [`Ticket::committed`].
pub struct Committed<E> {
    slot: Arc<Slot<E>>,
}

impl<E: Clone> Future for Committed<E> {
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.slot.state);
        if let Some(result) = &s.result {
            return Poll::Ready(result.clone());
        }
        if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            s.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

struct State<M, E> {
    buf: Vec<u8>,
    /// The previous batch's allocation, reused.
    spare: Vec<u8>,
    /// What the log tracks of the buffered records (e.g. their newest time).
    meta: M,
    /// Records buffered.
    records: u64,
    /// Records appended since open.
    appended: u64,
    /// The batch being filled.
    batch: Arc<Slot<E>>,
    /// The batch being flushed, while `flushing`.
    in_flight: Option<Arc<Slot<E>>>,
    flushing: bool,
    /// Someone waits for the batch being filled ([`GroupCommit::demand`]).
    demanded: bool,
    closing: bool,
    failed: Option<E>,
    stats: BatchStats,
}

/// A group-commit buffer in front of a log's file (see the module docs).
/// `M` is what the log gathers about a batch besides its bytes, `E` its
/// error.
pub struct GroupCommit<M, E> {
    state: Mutex<State<M, E>>,
    /// A background writer waits here for records.
    work: Condvar,
    /// Appenders wait here for their batch.
    done: Condvar,
    poisoned: AtomicBool,
    on_failure: OnFailure,
    /// The error of an append after [`close`](Self::close).
    closed: E,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tells a batch's appenders that its flush never finished (the flush
/// panicked), so none waits forever.
struct Unfinished<'a, M, E: Clone> {
    log: &'a GroupCommit<M, E>,
    slot: Option<Arc<Slot<E>>>,
}

impl<M, E: Clone> Drop for Unfinished<'_, M, E> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.set(Err(self.log.closed.clone()));
            let mut s = lock(&self.log.state);
            s.flushing = false;
            s.in_flight = None;
            drop(s);
            self.log.done.notify_all();
        }
    }
}

impl<M: Default, E: Clone> GroupCommit<M, E> {
    /// An empty log; `capacity` bytes are reserved for a batch, `closed` is
    /// the error of appends after [`close`](Self::close).
    pub fn new(on_failure: OnFailure, capacity: usize, closed: E) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                buf: Vec::with_capacity(capacity),
                spare: Vec::with_capacity(capacity),
                meta: M::default(),
                records: 0,
                appended: 0,
                batch: Slot::new(),
                in_flight: None,
                flushing: false,
                demanded: false,
                closing: false,
                failed: None,
                stats: BatchStats::default(),
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            poisoned: AtomicBool::new(false),
            on_failure,
            closed,
        }
    }

    /// Appends `records` records, which `fill` adds to the batch buffer
    /// (and notes in the batch's `M`); fails at once when the log is
    /// closed or poisoned.
    pub fn append(
        &self,
        records: u64,
        fill: impl FnOnce(&mut Vec<u8>, &mut M),
    ) -> Result<Ticket<E>, E> {
        let mut s = lock(&self.state);
        if s.closing {
            return Err(self.closed.clone());
        }
        if let Some(e) = &s.failed {
            return Err(e.clone());
        }
        let s = &mut *s;
        fill(&mut s.buf, &mut s.meta);
        let seq = s.appended;
        s.appended += records;
        s.records += records;
        self.work.notify_one();
        Ok(Ticket {
            seq,
            slot: s.batch.clone(),
        })
    }

    /// A ticket for every record appended so far: its batch is the one
    /// being filled when it holds records, else the one being flushed, else
    /// (nothing in flight) it is already settled (with the poisoning error
    /// of a failed log). Since batches are flushed in order, once it is
    /// settled `Ok` so is every append made before it.
    pub fn barrier(&self) -> Ticket<E> {
        let s = lock(&self.state);
        let slot = if s.records > 0 || !s.buf.is_empty() {
            s.batch.clone()
        } else if let Some(slot) = &s.in_flight {
            slot.clone()
        } else {
            Slot::settled(match &s.failed {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            })
        };
        Ticket {
            seq: s.appended,
            slot,
        }
    }

    /// Waits for `ticket`'s batch, flushing it (and whatever else is
    /// buffered) with `flush` when no one else is.
    pub fn wait_or_lead(
        &self,
        ticket: &Ticket<E>,
        flush: impl FnMut(&[u8], M) -> Result<(), E>,
    ) -> Result<(), E> {
        self.wait_for(ticket, Some(flush))
    }

    /// Waits for `ticket`'s batch, flushed by a background writer
    /// ([`run`](Self::run)).
    pub fn wait(&self, ticket: &Ticket<E>) -> Result<(), E> {
        self.wait_for(ticket, None::<fn(&[u8], M) -> Result<(), E>>)
    }

    fn wait_for(
        &self,
        ticket: &Ticket<E>,
        mut lead: Option<impl FnMut(&[u8], M) -> Result<(), E>>,
    ) -> Result<(), E> {
        let mut s = lock(&self.state);
        loop {
            if let Some(result) = ticket.slot.result() {
                return result;
            }
            if let Some(e) = &s.failed {
                return Err(e.clone());
            }
            s = match &mut lead {
                Some(flush) if !s.flushing => self.flush(s, flush),
                _ => self.done.wait(s).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    /// The background writer: flushes batches with `flush` as records
    /// come, until [`close`](Self::close)d and every record is flushed.
    pub fn run(&self, mut flush: impl FnMut(&[u8], M) -> Result<(), E>) {
        let mut s = lock(&self.state);
        loop {
            while s.records == 0 && s.buf.is_empty() && !s.closing {
                s = self.work.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            if s.records == 0 && s.buf.is_empty() {
                return;
            }
            s = self.flush(s, &mut flush);
        }
    }

    /// [`run`](Self::run), but a batch is flushed only once someone waits
    /// for it ([`demand`](Self::demand)), or at close: appenders that wait
    /// once after many appends (a request's decisions) get one flush for
    /// all of them, however fast the flush is.
    pub fn run_on_demand(&self, mut flush: impl FnMut(&[u8], M) -> Result<(), E>) {
        let mut s = lock(&self.state);
        loop {
            loop {
                let buffered = s.records > 0 || !s.buf.is_empty();
                if s.closing && !buffered {
                    return;
                }
                if buffered && (s.demanded || s.closing) {
                    break;
                }
                s = self.work.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            s = self.flush(s, &mut flush);
        }
    }

    /// Asks the writer of [`run_on_demand`](Self::run_on_demand) to flush
    /// `ticket`'s batch (no effect once it is being flushed or done).
    pub fn demand(&self, ticket: &Ticket<E>) {
        let mut s = lock(&self.state);
        if !s.demanded && Arc::ptr_eq(&ticket.slot, &s.batch) {
            s.demanded = true;
            self.work.notify_one();
        }
    }

    /// Refuses appends from now on; a background writer flushes what is
    /// buffered and returns.
    pub fn close(&self) {
        lock(&self.state).closing = true;
        self.work.notify_all();
    }

    /// Flushes the batch being filled: its result goes to its appenders.
    fn flush<'a>(
        &'a self,
        mut s: MutexGuard<'a, State<M, E>>,
        flush: &mut impl FnMut(&[u8], M) -> Result<(), E>,
    ) -> MutexGuard<'a, State<M, E>> {
        s.flushing = true;
        let spare = std::mem::take(&mut s.spare);
        let mut buf = std::mem::replace(&mut s.buf, spare);
        let meta = std::mem::take(&mut s.meta);
        let records = std::mem::take(&mut s.records);
        let slot = std::mem::replace(&mut s.batch, Slot::new());
        s.demanded = false;
        // A poisoned log writes nothing more: a batch appended before the
        // failure was known fails with it.
        let poisoned = s.failed.clone();
        s.in_flight = Some(slot.clone());
        drop(s);
        let mut unfinished = Unfinished {
            log: self,
            slot: Some(slot),
        };
        let result = match poisoned {
            Some(e) => Err(e),
            None => flush(&buf, meta),
        };
        let slot = unfinished.slot.take().expect("the batch's slot");
        let mut s = lock(&self.state);
        s.flushing = false;
        s.in_flight = None;
        s.stats.batches += 1;
        match &result {
            Ok(()) => {
                s.stats.records += records;
                s.stats.bytes += buf.len() as u64;
            }
            Err(e) => {
                s.stats.failed_batches += 1;
                if self.on_failure == OnFailure::Poison {
                    s.failed = Some(e.clone());
                    self.poisoned.store(true, Ordering::Release);
                }
            }
        }
        slot.set(result);
        buf.clear();
        s.spare = buf;
        self.done.notify_all();
        s
    }

    /// The error that poisoned the log, if one did.
    #[inline]
    pub fn failure(&self) -> Option<E> {
        if !self.poisoned.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.state).failed.clone()
    }

    /// Runs `f` with the number of records appended so far, while no
    /// record is buffered or being flushed, holding appends off meanwhile.
    pub fn while_idle<R>(&self, f: impl FnOnce(u64) -> R) -> Result<R, NotIdle<E>> {
        let s = lock(&self.state);
        if let Some(e) = &s.failed {
            return Err(NotIdle::Failed(e.clone()));
        }
        if s.flushing || s.records > 0 || !s.buf.is_empty() {
            return Err(NotIdle::InFlight);
        }
        Ok(f(s.appended))
    }

    pub fn stats(&self) -> BatchStats {
        lock(&self.state).stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn append(log: &GroupCommit<u64, String>, text: &str, ts: u64) -> Ticket<String> {
        log.append(1, |buf, max| {
            buf.extend_from_slice(text.as_bytes());
            *max = (*max).max(ts);
        })
        .unwrap()
    }

    #[test]
    fn led_batches_cover_concurrent_appenders_with_one_flush_each() {
        let log = GroupCommit::<u64, String>::new(OnFailure::Poison, 0, "closed".into());
        let written = Mutex::new(Vec::new());
        let flushes = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (log, written, flushes) = (&log, &written, &flushes);
                s.spawn(move || {
                    for i in 0..200u64 {
                        let ticket = append(log, "r", t * 1000 + i);
                        log.wait_or_lead(&ticket, |buf, _max| {
                            flushes.fetch_add(1, Ordering::Relaxed);
                            written.lock().unwrap().extend_from_slice(buf);
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(written.lock().unwrap().len(), 1600);
        let stats = log.stats();
        assert_eq!((stats.records, stats.bytes), (1600, 1600));
        assert_eq!(stats.batches, flushes.load(Ordering::Relaxed));
        assert_eq!(log.while_idle(|n| n), Ok(1600));
    }

    #[test]
    fn a_failed_flush_poisons_or_fails_only_its_batch() {
        let log = GroupCommit::<u64, String>::new(OnFailure::Poison, 0, "closed".into());
        let t = append(&log, "a", 1);
        assert_eq!(
            log.wait_or_lead(&t, |_, _| Err("full".into())),
            Err("full".into())
        );
        assert_eq!(log.failure(), Some("full".into()));
        assert_eq!(log.append(1, |_, _| {}).err(), Some("full".into()));
        assert_eq!(log.while_idle(|_| ()), Err(NotIdle::Failed("full".into())));

        let log = GroupCommit::<u64, String>::new(OnFailure::FailBatch, 0, "closed".into());
        let t = append(&log, "a", 1);
        assert_eq!(
            log.wait_or_lead(&t, |_, _| Err("full".into())),
            Err("full".into())
        );
        assert_eq!(log.failure(), None);
        let t = append(&log, "b", 2);
        assert_eq!(t.seq(), 1);
        assert_eq!(
            log.wait_or_lead(&t, |buf, max| {
                assert_eq!((buf, max), (&b"b"[..], 2));
                Ok(())
            }),
            Ok(())
        );
        let stats = log.stats();
        assert_eq!(
            (stats.batches, stats.failed_batches, stats.records),
            (2, 1, 1)
        );
    }

    #[test]
    fn a_background_writer_serves_blocking_and_async_appenders_then_drains_at_close() {
        let log = Arc::new(GroupCommit::<(), String>::new(
            OnFailure::FailBatch,
            0,
            "closed".into(),
        ));
        let written = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let (log, written) = (log.clone(), written.clone());
            std::thread::spawn(move || {
                log.run(|buf, ()| {
                    written.lock().unwrap().extend_from_slice(buf);
                    Ok(())
                })
            })
        };
        let t = log
            .append(1, |buf, _| buf.extend_from_slice(b"x\n"))
            .unwrap();
        log.wait(&t).unwrap();
        let t = log
            .append(2, |buf, _| buf.extend_from_slice(b"y\nz\n"))
            .unwrap();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut fut = std::pin::pin!(t.committed());
        let result = loop {
            if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                break r;
            }
            std::thread::yield_now();
        };
        assert_eq!(result, Ok(()));
        let queued = log
            .append(1, |buf, _| buf.extend_from_slice(b"w\n"))
            .unwrap();
        log.close();
        writer.join().unwrap();
        assert_eq!(queued.slot.result(), Some(Ok(())));
        assert_eq!(log.append(1, |_, _| {}).err(), Some("closed".into()));
        assert_eq!(&written.lock().unwrap()[..], b"x\ny\nz\nw\n");
    }

    #[test]
    fn an_on_demand_writer_flushes_once_waited_for_and_a_barrier_covers_all() {
        let log = Arc::new(GroupCommit::<u64, String>::new(
            OnFailure::Poison,
            0,
            "closed".into(),
        ));
        let flushes = Arc::new(AtomicU64::new(0));
        let fail = Arc::new(AtomicBool::new(false));
        let writer = {
            let (log, flushes, fail) = (log.clone(), flushes.clone(), fail.clone());
            std::thread::spawn(move || {
                log.run_on_demand(|_, _| {
                    flushes.fetch_add(1, Ordering::SeqCst);
                    if fail.load(Ordering::SeqCst) {
                        Err("full".into())
                    } else {
                        Ok(())
                    }
                })
            })
        };
        // Nothing in flight: a barrier is settled at once.
        assert_eq!(log.barrier().result(), Some(Ok(())));
        let tickets: Vec<_> = (0..20).map(|i| append(&log, "r", i)).collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(flushes.load(Ordering::SeqCst), 0, "no one waited yet");
        let barrier = log.barrier();
        assert_eq!(barrier.seq(), 20);
        log.demand(&tickets[19]);
        assert_eq!(tickets[0].wait(), Ok(()));
        assert!(tickets.iter().all(|t| t.result() == Some(Ok(()))));
        assert_eq!(barrier.result(), Some(Ok(())));
        assert_eq!(flushes.load(Ordering::SeqCst), 1, "one flush for twenty");
        // A failed flush fails its batch and every later one, unflushed.
        fail.store(true, Ordering::SeqCst);
        let a = append(&log, "a", 1);
        log.demand(&a);
        assert_eq!(a.wait(), Err("full".into()));
        assert_eq!(log.barrier().result(), Some(Err("full".into())));
        assert!(log.append(1, |_, _| {}).is_err());
        assert_eq!(flushes.load(Ordering::SeqCst), 2);
        log.close();
        writer.join().unwrap();
    }
}
