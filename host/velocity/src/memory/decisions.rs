//! Recorded decisions of one shard: id hash to encoded log record, the
//! records packed in one arena per hour of requested-at, an hour dropped
//! whole once it ages out.

use std::collections::BTreeMap;

use super::checkpoint::DecodeError;
use super::{Hash, HashMapOf, IndexHasher};
use crate::record::{self, LogRecord, RecordError};
use riskgate_storage::bytes::ByteReader;

/// Decisions are packed in one arena per hour of requested-at.
const EPOCH_MS: u64 = 3_600_000;

/// Where a recorded decision's encoded record lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    epoch: u64,
    offset: u32,
    len: u32,
}

#[derive(Default)]
pub(super) struct DecisionLog {
    by_id: HashMapOf<Slot>,
    /// Epoch (requested-at / [`EPOCH_MS`]) to its records, each framed
    /// `[len: u32 LE][record]`.
    arenas: BTreeMap<u64, Vec<u8>>,
}

/// The id and requested-at of a stored decision.
fn record_head(bytes: &[u8]) -> Result<(&str, u64), RecordError> {
    match record::decode(bytes)? {
        LogRecord::Decided(d) => Ok((d.id, d.requested_at)),
        LogRecord::Released { .. } | LogRecord::Withdrawn { .. } => Err(RecordError::NotADecision),
    }
}

fn record_id(bytes: &[u8]) -> Result<&str, RecordError> {
    record_head(bytes).map(|(id, _)| id)
}

impl DecisionLog {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    fn bytes(&self, slot: Slot) -> Option<&[u8]> {
        let start = slot.offset as usize;
        self.arenas
            .get(&slot.epoch)?
            .get(start..start + slot.len as usize)
    }

    /// The record of `id` (hashed to `hash`), if recorded and not older
    /// than `cutoff` (an aged-out decision counts as pruned whether or not
    /// its hour was dropped yet).
    pub fn get(&self, hash: Hash, id: &str, cutoff: u64) -> Result<Option<&[u8]>, RecordError> {
        let Some(&slot) = self.by_id.get(&hash) else {
            return Ok(None);
        };
        let bytes = self.bytes(slot).ok_or(RecordError::MissingBytes)?;
        let (recorded_id, requested_at) = record_head(bytes)?;
        // Another id with the same hash: `id` itself is not recorded.
        Ok((recorded_id == id && requested_at >= cutoff).then_some(bytes))
    }

    /// Records `bytes` as the decision of `id`, then drops the hours wholly
    /// before `cutoff`.
    pub fn insert(
        &mut self,
        hash: Hash,
        id: &str,
        requested_at: u64,
        bytes: &[u8],
        cutoff: u64,
        hasher: &IndexHasher,
    ) -> Result<(), RecordError> {
        if let Some(&slot) = self.by_id.get(&hash) {
            let other = self.bytes(slot).map(record_id).transpose()?;
            if other.is_some_and(|other| other != id) {
                return Err(RecordError::HashCollision(id.to_string()));
            }
        }
        let epoch = requested_at / EPOCH_MS;
        let arena = self.arenas.entry(epoch).or_default();
        let too_big = || RecordError::HourFull;
        let len = u32::try_from(bytes.len()).map_err(|_| too_big())?;
        let offset = u32::try_from(arena.len() + 4).map_err(|_| too_big())?;
        offset.checked_add(len).ok_or_else(too_big)?;
        arena.extend_from_slice(&len.to_le_bytes());
        arena.extend_from_slice(bytes);
        self.by_id.insert(hash, Slot { epoch, offset, len });
        self.prune(cutoff, hasher);
        Ok(())
    }

    /// Forgets the decision of `hash` (found with [`get`](Self::get)).
    pub fn remove(&mut self, hash: Hash) {
        self.by_id.remove(&hash);
    }

    /// Every recorded decision's record (aged-out ones included).
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.by_id.values().filter_map(|&slot| self.bytes(slot))
    }

    /// Drops every arena wholly before `cutoff`, with its ids.
    pub fn prune(&mut self, cutoff: u64, hasher: &IndexHasher) {
        while let Some(entry) = self.arenas.first_entry() {
            if entry.key().saturating_add(1).saturating_mul(EPOCH_MS) > cutoff {
                break;
            }
            let epoch = *entry.key();
            let arena = entry.remove();
            let mut r = ByteReader::new(&arena);
            while let Ok(len) = r.u32() {
                let slot = Slot {
                    epoch,
                    offset: r.pos() as u32,
                    len,
                };
                let Ok(bytes) = r.bytes(len as usize) else {
                    break;
                };
                if let Ok(id) = record_id(bytes) {
                    let hash = hasher.hash(id.as_bytes());
                    if self.by_id.get(&hash) == Some(&slot) {
                        self.by_id.remove(&hash);
                    }
                }
            }
        }
    }
}

impl DecisionLog {
    /// Appends this log to a checkpoint block: the arenas, then the slots.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.arenas.len() as u64).to_le_bytes());
        for (epoch, arena) in &self.arenas {
            out.extend_from_slice(&epoch.to_le_bytes());
            out.extend_from_slice(&(arena.len() as u64).to_le_bytes());
            out.extend_from_slice(arena);
        }
        out.extend_from_slice(&(self.by_id.len() as u64).to_le_bytes());
        for (hash, slot) in &self.by_id {
            out.extend_from_slice(&hash.to_le_bytes());
            out.extend_from_slice(&slot.epoch.to_le_bytes());
            out.extend_from_slice(&slot.offset.to_le_bytes());
            out.extend_from_slice(&slot.len.to_le_bytes());
        }
    }

    /// The log [`encode_into`](Self::encode_into) wrote, read from `r`;
    /// every slot must lie inside its arena.
    pub fn decode_from(r: &mut ByteReader<'_>) -> Result<Self, DecodeError> {
        let mut log = DecisionLog::default();
        for _ in 0..r.count(16)? {
            let epoch = r.u64()?;
            let len = r.count(1)?;
            log.arenas.insert(epoch, r.bytes(len)?.to_vec());
        }
        let n = r.count(32)?;
        log.by_id.reserve(n);
        for _ in 0..n {
            let hash = r.u128()?;
            let slot = Slot {
                epoch: r.u64()?,
                offset: r.u32()?,
                len: r.u32()?,
            };
            if log.bytes(slot).is_none() {
                return Err(DecodeError::OutsideArena);
            }
            log.by_id.insert(hash, slot);
        }
        Ok(log)
    }
}
