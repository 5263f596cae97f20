//! Durable files, one home for each mechanism: every riskgate crate that
//! writes state to disk (velocity's write-ahead log and checkpoints, the
//! decision log, compiled sets, the AOT cache, key files) goes through
//! these.
//!
//! - [`atomic`]: whole-file writes that a crash cannot tear (temporary
//!   file, sync, rename, directory sync).
//! - [`lock`]: one process per directory (an exclusive lock on `LOCK`).
//! - [`bytes`]: one bounds-checked reader of binary files.
//! - [`header`]: the format header (magic, version) of every binary file.
//! - [`log`]: group commit, batching concurrent appends to a log so that
//!   one write and one sync cover them.
//! - [`slots`]: per-thread slots (striped counters, padded registries) for
//!   state every thread updates on every decision, so two cores never take
//!   turns owning one cache line.

pub mod atomic;
pub mod bytes;
pub mod header;
pub mod lock;
pub mod log;
pub mod slots;

pub use atomic::{WriteError, WriteOptions, sync_dir, write_atomic, write_atomic_with};
pub use bytes::{ByteReader, ReadError};
pub use header::{Format, Found, HEADER_LEN, HeaderError};
pub use lock::{DirLock, LockError};
pub use log::{BatchStats, Committed, GroupCommit, NotIdle, OnFailure, Ticket};
