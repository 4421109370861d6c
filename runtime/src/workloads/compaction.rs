//! Reclaiming the value log's garbage. A replaced or deleted record leaves its old
//! value in its segment; once a segment is mostly such dead entries, the store's
//! writer copies the live ones to the end of their workload's log, points their rows
//! there, and deletes the segment. It does so a step at a time (`STEP_BYTES` of the
//! segment per transaction), only while no write is waiting, so a compaction never
//! holds up writes for longer than one step. Each step rechecks every row inside its
//! transaction: a record written meanwhile simply stays where its new value is.

use super::row::{Held, Row};
use super::store::{io_error, RECORDS, SEGMENTS};
use super::value_log::{read_exact_at, LogWriter, ENTRY_HEADER};
use redb::{Database, ReadableDatabase, ReadableTable};
use std::collections::{HashMap, HashSet};
use std::io;

/// The bytes of a segment one step reads.
const STEP_BYTES: u64 = 4 * 1024 * 1024;
/// A segment smaller than this is left alone unless nothing in it is live.
const MIN_SEGMENT_BYTES: u64 = 1024 * 1024;

/// A segment being compacted, and how far.
#[derive(Debug)]
pub struct Compaction {
    segment: u64,
    workload: String,
    position: u64,
    size: u64,
}

impl Compaction {
    pub fn segment(&self) -> u64 {
        self.segment
    }
}

/// What a step left.
#[derive(Debug, PartialEq, Eq)]
pub enum Stepped {
    More,
    /// Every live entry moved; the segment is unregistered, to delete once committed.
    Done,
    /// The segment went with its workload meanwhile.
    Gone,
}

/// The segment no workload appends to whose share of live bytes is least, if under
/// half (and the segment is not tiny, or wholly dead).
pub fn choose(
    db: &Database,
    log: &LogWriter,
    skip: &HashSet<u64>,
) -> io::Result<Option<Compaction>> {
    let txn = db.begin_read().map_err(io_error)?;
    let segments = txn.open_table(SEGMENTS).map_err(io_error)?;
    let mut best: Option<(u64, String, u64, u64)> = None;
    for entry in segments.iter().map_err(io_error)? {
        let (segment, owner) = entry.map_err(io_error)?;
        let (segment, (workload, live)) = (segment.value(), owner.value());
        let size = log.size(segment);
        let worth = live.saturating_mul(2) < size && (size >= MIN_SEGMENT_BYTES || live == 0);
        if !worth || log.is_active(segment) || skip.contains(&segment) {
            continue;
        }
        // Least live per byte first: live / size < best_live / best_size.
        let better = best.as_ref().is_none_or(|(_, _, best_live, best_size)| {
            u128::from(live) * u128::from(*best_size) < u128::from(*best_live) * u128::from(size)
        });
        if better {
            best = Some((segment, workload.to_string(), live, size));
        }
    }
    Ok(best.map(|(segment, workload, _, size)| Compaction {
        segment,
        workload,
        position: 0,
        size,
    }))
}

/// Moves the live entries of the next `STEP_BYTES` of the segment to the end of its
/// workload's log, in `txn`.
pub fn step(
    txn: &redb::WriteTransaction,
    log: &mut LogWriter,
    compaction: &mut Compaction,
) -> io::Result<Stepped> {
    let mut records = txn.open_table(RECORDS).map_err(io_error)?;
    let mut segments = txn.open_table(SEGMENTS).map_err(io_error)?;
    if segments
        .get(compaction.segment)
        .map_err(io_error)?
        .is_none()
    {
        return Ok(Stepped::Gone);
    }
    let file = log
        .file(compaction.segment)
        .ok_or_else(|| io::Error::other("a registered value segment has no open file"))?;
    let workload = compaction.workload.clone();
    let end = compaction
        .position
        .saturating_add(STEP_BYTES)
        .min(compaction.size);
    let mut gained: HashMap<u64, u64> = HashMap::new();
    let mut moved = 0u64;
    while compaction.position < end {
        let at = compaction.position;
        let mut header = [0u8; ENTRY_HEADER as usize];
        if at + ENTRY_HEADER > compaction.size {
            compaction.position = compaction.size;
            break;
        }
        read_exact_at(&file, &mut header, at)?;
        let key_len = u64::from(u32::from_le_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let value_len = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let entry_bytes = ENTRY_HEADER + key_len + value_len;
        if at + entry_bytes > compaction.size {
            // A torn tail: bytes appended by a transaction a crash took.
            compaction.position = compaction.size;
            break;
        }
        compaction.position += entry_bytes;
        let mut body = vec![0u8; (key_len + value_len) as usize];
        read_exact_at(&file, &mut body, at + ENTRY_HEADER)?;
        let (key, value) = body.split_at(key_len as usize);
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        let row = match records.get((workload.as_str(), key)).map_err(io_error)? {
            Some(row) => Row::decode(row.value())?,
            None => continue,
        };
        let Held::Logged(pointer) = row.held else {
            continue;
        };
        if pointer.segment != compaction.segment || pointer.offset != at + ENTRY_HEADER + key_len {
            continue;
        }
        if crc32fast::hash(value) != pointer.crc32 {
            return Err(io::Error::other(format!(
                "the value of `{key}` in segment {} is damaged (its CRC-32 does not match)",
                compaction.segment
            )));
        }
        let (moved_to, created) = log.append(&workload, key, value, pointer.hash, pointer.crc32)?;
        if created {
            segments
                .insert(moved_to.segment, (workload.as_str(), 0))
                .map_err(io_error)?;
        }
        *gained.entry(moved_to.segment).or_default() += entry_bytes;
        moved += entry_bytes;
        let row = Row {
            held: Held::Logged(moved_to),
            ..row
        };
        records
            .insert((workload.as_str(), key), row.encode().as_slice())
            .map_err(io_error)?;
    }
    for (segment, bytes) in gained {
        add_live(&mut segments, segment, bytes as i64)?;
    }
    if compaction.position >= compaction.size {
        segments.remove(compaction.segment).map_err(io_error)?;
        return Ok(Stepped::Done);
    }
    add_live(&mut segments, compaction.segment, -(moved as i64))?;
    Ok(Stepped::More)
}

/// Changes `segment`'s live bytes by `change`; a segment unknown here was dropped
/// with its workload.
pub(super) fn add_live(
    segments: &mut redb::Table<u64, (&'static str, u64)>,
    segment: u64,
    change: i64,
) -> io::Result<()> {
    let known = segments.get(segment).map_err(io_error)?.map(|entry| {
        let (owner, live) = entry.value();
        (owner.to_string(), live)
    });
    if let Some((owner, live)) = known {
        segments
            .insert(
                segment,
                (owner.as_str(), live.saturating_add_signed(change)),
            )
            .map_err(io_error)?;
    }
    Ok(())
}
