//! Large values kept out of the workload store's B-tree. Writing a 1 KB value into a
//! redb leaf costs a page rewrite for every few records (and a migration's copy writes
//! a gigabyte of them); appended to a file instead, it costs one sequential write, and
//! the B-tree keeps a 56-byte pointer. So a value of `LOG_MIN_BYTES` or more lives in
//! a segment file of its workload (`workload-values/<id>.seg`), and its row in the
//! store holds where (segment, offset, length), its CRC-32 and its record hash.
//!
//! Only the store's writer thread appends (`LogWriter`); any thread reads (`Segments`).
//! Durability follows the store's: appended bytes are written to the file before the
//! transaction that points at them commits, and fsynced before a durable commit, so a
//! row never points at bytes a crash can lose. Each segment belongs to one workload and
//! has a row in the store's `SEGMENTS` table with its live bytes (the entries some row
//! still points at); a workload's drop deletes its segments after the drop is durable,
//! and the writer rewrites the live entries of a segment that is mostly garbage
//! (`compaction.rs`) before deleting it. A file no row knows (written by a transaction
//! that never committed) is deleted when the store opens.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Values this long or longer go to the log; shorter ones stay in the B-tree.
pub const LOG_MIN_BYTES: usize = 256;
/// A segment is appended to until it is this large; then its workload starts another.
const SEGMENT_MAX: u64 = 64 * 1024 * 1024;
/// Appended bytes buffered before they are written to the file.
const FLUSH_AT: usize = 1024 * 1024;
/// An entry's header: the key's length and the value's, 4 bytes each.
pub const ENTRY_HEADER: u64 = 8;
/// The directory of the segment files, in the store's data dir.
pub const VALUES_DIR: &str = "workload-values";

/// Where a value is in the log, with what checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointer {
    pub segment: u64,
    /// Where the value's bytes start in the segment.
    pub offset: u64,
    pub len: u32,
    pub crc32: u32,
    /// The record's hash (`digest::record_hash`), so a replaced record leaves the
    /// digest without its old value being read back.
    pub hash: [u8; 32],
}

impl Pointer {
    pub const ENCODED_BYTES: usize = 56;

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.segment.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.crc32.to_le_bytes());
        out.extend_from_slice(&self.hash);
    }

    pub fn decode(bytes: &[u8]) -> io::Result<Pointer> {
        if bytes.len() != Pointer::ENCODED_BYTES {
            return Err(io::Error::other(
                "a workload record's value pointer is damaged",
            ));
        }
        let mut u64_at = [0u8; 8];
        let mut u32_at = [0u8; 4];
        let mut hash = [0u8; 32];
        u64_at.copy_from_slice(&bytes[0..8]);
        let segment = u64::from_le_bytes(u64_at);
        u64_at.copy_from_slice(&bytes[8..16]);
        let offset = u64::from_le_bytes(u64_at);
        u32_at.copy_from_slice(&bytes[16..20]);
        let len = u32::from_le_bytes(u32_at);
        u32_at.copy_from_slice(&bytes[20..24]);
        let crc32 = u32::from_le_bytes(u32_at);
        hash.copy_from_slice(&bytes[24..56]);
        Ok(Pointer {
            segment,
            offset,
            len,
            crc32,
            hash,
        })
    }

    /// The bytes its entry takes in the segment (header, key, value).
    pub fn entry_bytes(&self, key: &str) -> u64 {
        ENTRY_HEADER + key.len() as u64 + u64::from(self.len)
    }
}

/// Why a value could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The segment was deleted after the reader saw the pointer (its workload was
    /// dropped, or the entry moved): reading again from a fresh snapshot is right.
    Gone,
    Io(io::Error),
}

impl From<ReadError> for io::Error {
    fn from(error: ReadError) -> io::Error {
        match error {
            ReadError::Gone => io::Error::other("a workload value's segment was deleted"),
            ReadError::Io(error) => error,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> ReadError {
        ReadError::Io(error)
    }
}

/// The open segment files, for reading, shared by the writer and the readers.
pub struct Segments {
    files: RwLock<HashMap<u64, Arc<File>>>,
}

impl Segments {
    fn file(&self, segment: u64) -> Option<Arc<File>> {
        let files = self
            .files
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        files.get(&segment).cloned()
    }

    /// The value `pointer` points at, checked against its CRC-32.
    pub fn read(&self, pointer: &Pointer) -> Result<Vec<u8>, ReadError> {
        let file = self.file(pointer.segment).ok_or(ReadError::Gone)?;
        let mut value = vec![0u8; pointer.len as usize];
        read_exact_at(&file, &mut value, pointer.offset).map_err(ReadError::Io)?;
        check(pointer, &value)?;
        Ok(value)
    }
}

impl Segments {
    /// The values `pointers` point at, in order, each checked against its CRC-32. Runs
    /// of values that follow one another in a segment (a workload written in key
    /// order, read in key order) are read with one read each, not one per value.
    pub fn read_many(&self, pointers: &[Pointer]) -> Result<Vec<Vec<u8>>, ReadError> {
        let mut values = Vec::with_capacity(pointers.len());
        let mut start = 0;
        while start < pointers.len() {
            let first = &pointers[start];
            let mut end = start + 1;
            let mut span_end = first.offset.saturating_add(u64::from(first.len));
            while let Some(next) = pointers.get(end) {
                let gap = next.offset.checked_sub(span_end);
                let close = gap.is_some_and(|gap| gap <= MAX_READ_GAP);
                let next_end = next.offset.saturating_add(u64::from(next.len));
                if next.segment != first.segment
                    || !close
                    || next_end - first.offset > MAX_READ_SPAN
                {
                    break;
                }
                span_end = next_end;
                end += 1;
            }
            if end == start + 1 {
                values.push(self.read(first)?);
            } else {
                let file = self.file(first.segment).ok_or(ReadError::Gone)?;
                let mut span = vec![0u8; (span_end - first.offset) as usize];
                read_exact_at(&file, &mut span, first.offset).map_err(ReadError::Io)?;
                for pointer in &pointers[start..end] {
                    let at = (pointer.offset - first.offset) as usize;
                    let value = &span[at..at + pointer.len as usize];
                    check(pointer, value)?;
                    values.push(value.to_vec());
                }
            }
            start = end;
        }
        Ok(values)
    }
}

/// Bytes between two values (the next entry's header and key) that still let one
/// read take both.
const MAX_READ_GAP: u64 = 4 * 1024;
/// The most bytes one read of a run of values takes.
const MAX_READ_SPAN: u64 = 4 * 1024 * 1024;

/// Whether `value` is what `pointer` says it is.
fn check(pointer: &Pointer, value: &[u8]) -> Result<(), ReadError> {
    if crc32fast::hash(value) == pointer.crc32 {
        return Ok(());
    }
    Err(ReadError::Io(io::Error::other(format!(
        "a workload value in segment {} at {} is damaged (its CRC-32 does not match)",
        pointer.segment, pointer.offset
    ))))
}

/// The segment a workload appends to.
struct Active {
    id: u64,
    file: Arc<File>,
    /// Bytes in the file.
    written: u64,
    /// Bytes appended after them, not yet written.
    buffer: Vec<u8>,
}

impl Active {
    /// Writes the buffered bytes to the file; its segment then needs an fsync.
    fn write_out(&mut self, unsynced: &mut HashSet<u64>) -> io::Result<()> {
        if !self.buffer.is_empty() {
            write_all_at(&self.file, &self.buffer, self.written)?;
            self.written += self.buffer.len() as u64;
            self.buffer.clear();
            unsynced.insert(self.id);
        }
        Ok(())
    }
}

/// The writer thread's side of the log.
pub struct LogWriter {
    dir: PathBuf,
    segments: Arc<Segments>,
    active: HashMap<String, Active>,
    /// Each segment's size (written and buffered), for compaction's choice.
    sizes: HashMap<u64, u64>,
    /// Segments written since the last fsync.
    unsynced: HashSet<u64>,
    /// A segment was created since the directory was last fsynced.
    created_since_sync: bool,
    next_id: u64,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016x}.seg"))
}

/// The segment id a file name stands for.
fn segment_id(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".seg")?;
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

impl LogWriter {
    /// Opens the log in `data_dir` given the segments the store knows (id → workload):
    /// deletes the files of no known segment, and fails if a known one has no file.
    pub fn open(data_dir: &Path, known: &HashMap<u64, String>) -> io::Result<LogWriter> {
        let dir = data_dir.join(VALUES_DIR);
        std::fs::create_dir_all(&dir)?;
        let mut files = HashMap::new();
        let mut sizes = HashMap::new();
        let mut highest = known.keys().copied().max().unwrap_or(0);
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(segment_id) else {
                continue;
            };
            highest = highest.max(id);
            if known.contains_key(&id) {
                let file = File::open(entry.path())?;
                sizes.insert(id, file.metadata()?.len());
                files.insert(id, Arc::new(file));
            } else {
                std::fs::remove_file(entry.path())?;
            }
        }
        if let Some((id, workload)) = known.iter().find(|(id, _)| !files.contains_key(id)) {
            return Err(io::Error::other(format!(
                "segment file {} of workload `{workload}` is missing: the workload's large values are lost",
                segment_path(&dir, *id).display()
            )));
        }
        Ok(LogWriter {
            dir,
            segments: Arc::new(Segments {
                files: RwLock::new(files),
            }),
            active: HashMap::new(),
            sizes,
            unsynced: HashSet::new(),
            created_since_sync: false,
            next_id: highest + 1,
        })
    }

    pub fn segments(&self) -> Arc<Segments> {
        self.segments.clone()
    }

    /// Appends `key`'s `value` (whose record hash and CRC-32 are worked out already) to
    /// `workload`'s segment; where it is, and whether that segment is new (the caller
    /// registers it in the same transaction).
    pub fn append(
        &mut self,
        workload: &str,
        key: &str,
        value: &[u8],
        hash: [u8; 32],
        crc32: u32,
    ) -> io::Result<(Pointer, bool)> {
        let len = u32::try_from(value.len())
            .map_err(|_| io::Error::other("a workload value is over 4 GiB"))?;
        let key_len = u32::try_from(key.len())
            .map_err(|_| io::Error::other("a workload key is over 4 GiB"))?;
        let full = self
            .active
            .get(workload)
            .is_some_and(|active| active.written + active.buffer.len() as u64 >= SEGMENT_MAX);
        if full {
            self.seal(workload)?;
        }
        let created = !self.active.contains_key(workload);
        if created {
            let active = self.create()?;
            self.active.insert(workload.to_string(), active);
        }
        let Some(active) = self.active.get_mut(workload) else {
            return Err(io::Error::other("the value log lost its active segment"));
        };
        let start = active.written + active.buffer.len() as u64;
        active.buffer.extend_from_slice(&key_len.to_le_bytes());
        active.buffer.extend_from_slice(&len.to_le_bytes());
        active.buffer.extend_from_slice(key.as_bytes());
        active.buffer.extend_from_slice(value);
        let pointer = Pointer {
            segment: active.id,
            offset: start + ENTRY_HEADER + key.len() as u64,
            len,
            crc32,
            hash,
        };
        let id = active.id;
        let size = active.written + active.buffer.len() as u64;
        let flush = active.buffer.len() >= FLUSH_AT;
        self.sizes.insert(id, size);
        if flush {
            self.flush_one(workload)?;
        }
        Ok((pointer, created))
    }

    fn create(&mut self) -> io::Result<Active> {
        let id = self.next_id;
        self.next_id += 1;
        let path = segment_path(&self.dir, id);
        let file = Arc::new(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?,
        );
        {
            let mut files = self
                .segments
                .files
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            files.insert(id, file.clone());
        }
        self.sizes.insert(id, 0);
        self.unsynced.insert(id);
        self.created_since_sync = true;
        Ok(Active {
            id,
            file,
            written: 0,
            buffer: Vec::new(),
        })
    }

    fn flush_one(&mut self, workload: &str) -> io::Result<()> {
        if let Some(active) = self.active.get_mut(workload) {
            active.write_out(&mut self.unsynced)?;
        }
        Ok(())
    }

    /// Writes every appended byte to its file (before a commit makes rows point at it).
    pub fn flush(&mut self) -> io::Result<()> {
        for active in self.active.values_mut() {
            active.write_out(&mut self.unsynced)?;
        }
        Ok(())
    }

    /// Writes and fsyncs every appended byte (before a durable commit).
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        // A segment leaves `unsynced` only once its fsync succeeded: after a failure,
        // the next durable commit tries it again.
        let unsynced: Vec<u64> = self.unsynced.iter().copied().collect();
        for id in unsynced {
            if let Some(file) = self.segments.file(id) {
                file.sync_data()?;
            }
            self.unsynced.remove(&id);
        }
        if self.created_since_sync {
            sync_dir(&self.dir)?;
            self.created_since_sync = false;
        }
        Ok(())
    }

    /// `workload`'s segment is appended to no more: the next append starts another.
    fn seal(&mut self, workload: &str) -> io::Result<()> {
        self.flush_one(workload)?;
        self.active.remove(workload);
        Ok(())
    }

    /// Forgets every workload's segment in progress, unwritten bytes included: after a
    /// failed transaction, whose rows (and new segments' registrations) are gone.
    pub fn abandon_active(&mut self) {
        for (_, active) in self.active.drain() {
            self.sizes.insert(active.id, active.written);
        }
    }

    /// `workload` (dropped) appends to a new segment from now on.
    pub fn retire(&mut self, workload: &str) {
        self.active.remove(workload);
    }

    /// Whether a workload appends to `segment`.
    pub fn is_active(&self, segment: u64) -> bool {
        self.active.values().any(|active| active.id == segment)
    }

    pub fn size(&self, segment: u64) -> u64 {
        self.sizes.get(&segment).copied().unwrap_or(0)
    }

    /// Deletes segments no row points at any more (after the commit saying so).
    pub fn delete(&mut self, ids: &[u64]) -> io::Result<()> {
        for id in ids {
            self.active.retain(|_, active| active.id != *id);
            {
                let mut files = self
                    .segments
                    .files
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                files.remove(id);
            }
            self.sizes.remove(id);
            self.unsynced.remove(id);
            match std::fs::remove_file(segment_path(&self.dir, *id)) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// The file of `segment`, for reading it through (compaction).
    pub fn file(&self, segment: u64) -> Option<Arc<File>> {
        self.segments.file(segment)
    }
}

/// Makes the names of files created in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows makes a new file's name durable with the file.
#[cfg(windows)]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(unix)]
fn write_all_at(file: &File, buffer: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buffer, offset)
}

#[cfg(windows)]
pub fn read_exact_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buffer.is_empty() {
        match file.seek_read(buffer, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buffer = &mut buffer[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buffer: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buffer.is_empty() {
        let n = file.seek_write(buffer, offset)?;
        buffer = &buffer[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::store::{WorkloadStore, Write};
    use super::*;
    use std::time::{Duration, Instant};

    fn value(index: usize, round: usize) -> Vec<u8> {
        format!("\"{index:06}-{round}-{}\"", "v".repeat(1_000)).into_bytes()
    }

    /// Writes `count` large records (`round` tells their values apart).
    async fn write_all(store: &WorkloadStore, count: usize, round: usize) {
        for start in (0..count).step_by(500) {
            let writes = (start..count.min(start + 500))
                .map(|index| Write::Put {
                    key: format!("k{index:06}"),
                    value: value(index, round),
                    if_version: None,
                })
                .collect();
            store.write("w", writes).await.expect("written");
        }
    }

    async fn assert_values(store: &WorkloadStore, count: usize, round: usize) {
        for index in (0..count).step_by(97) {
            let record = store
                .get("w", &format!("k{index:06}"))
                .await
                .expect("read")
                .expect("a record");
            assert_eq!(record.value, value(index, round), "k{index:06}");
        }
    }

    fn segment_bytes(dir: &Path) -> u64 {
        std::fs::read_dir(dir.join(VALUES_DIR))
            .expect("the values dir")
            .map(|entry| entry.expect("an entry").metadata().expect("metadata").len())
            .sum()
    }

    /// Waits until the segments take at most `bytes` (compaction runs while the store
    /// is idle); panics after 30 s.
    async fn wait_for_segments_under(dir: &Path, bytes: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while segment_bytes(dir) > bytes {
            assert!(
                Instant::now() < deadline,
                "segments still take {} bytes",
                segment_bytes(dir)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A store whose 2,000 large records were written three times over (two thirds of
    /// its segment dead), and its dir.
    async fn overwritten_twice() -> (tempfile::TempDir, WorkloadStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        for round in 0..3 {
            write_all(&store, 2_000, round).await;
        }
        (dir, store)
    }

    #[tokio::test]
    async fn large_values_live_in_the_log_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        write_all(&store, 1_000, 0).await;
        let summary = store.summary("w").await.expect("summary");
        assert!(segment_bytes(dir.path()) > 1_000_000);
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert_values(&store, 1_000, 0).await;
        assert_eq!(store.summary("w").await.expect("summary"), summary);
        let (exported, done) = store
            .export_keys("w", None, 2_000, usize::MAX)
            .await
            .expect("exported");
        assert!(done);
        assert_eq!(exported.len(), 1_000);
        assert_eq!(exported[10].1.value, value(10, 0));
    }

    /// One write of 5 MB: its values reach the file in several buffers, and all of them
    /// are there once the write is answered, and after a reopen.
    #[tokio::test]
    async fn a_write_larger_than_a_buffer_is_whole_once_answered() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        let writes = (0..5_000)
            .map(|index| Write::Put {
                key: format!("k{index:06}"),
                value: value(index, 0),
                if_version: None,
            })
            .collect();
        store.write("w", writes).await.expect("written");
        assert!(segment_bytes(dir.path()) > 5_000_000);
        for index in 0..5_000 {
            let record = store
                .get("w", &format!("k{index:06}"))
                .await
                .expect("read")
                .expect("a record");
            assert_eq!(record.value, value(index, 0), "k{index:06}");
        }
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert_values(&store, 5_000, 0).await;
    }

    /// Values overwritten twice leave two thirds of their segment dead: it is rewritten
    /// while the store is idle, the disk space comes back, and every record reads the
    /// same before, during and after, across a reopen.
    #[tokio::test]
    async fn dead_values_are_compacted_away() {
        let (dir, store) = overwritten_twice().await;
        let summary = store.summary("w").await.expect("summary");
        let before = segment_bytes(dir.path());
        assert!(before > 6_000_000, "{before}");
        drop(store);
        // Reopened, no segment is appended to: the old one can be compacted.
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert_values(&store, 2_000, 2).await;
        wait_for_segments_under(dir.path(), 2_200_000).await;
        assert_values(&store, 2_000, 2).await;
        assert_eq!(store.summary("w").await.expect("summary"), summary);
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert_values(&store, 2_000, 2).await;
        assert_eq!(store.summary("w").await.expect("summary"), summary);
    }

    /// Writes and deletes that land while a segment is being compacted win: a record
    /// rewritten meanwhile keeps its new value, a deleted one stays deleted, and the
    /// digest is that of what was written last.
    #[tokio::test]
    async fn writes_during_a_compaction_keep_their_effect() {
        let (dir, store) = overwritten_twice().await;
        drop(store);
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        // Compaction starts as soon as the store is idle; these land between its steps.
        for start in (0..2_000).step_by(100) {
            let writes = (start..start + 10)
                .map(|index| match index % 2 {
                    0 => Write::Put {
                        key: format!("k{index:06}"),
                        value: value(index, 9),
                        if_version: None,
                    },
                    _ => Write::Delete {
                        key: format!("k{index:06}"),
                    },
                })
                .collect();
            store.write("w", writes).await.expect("written");
        }
        wait_for_segments_under(dir.path(), 2_400_000).await;
        let expected = |index: usize| match (index % 100 < 10, index % 2) {
            (true, 0) => Some(value(index, 9)),
            (true, _) => None,
            (false, _) => Some(value(index, 2)),
        };
        let (records, _) = store
            .export_keys("w", None, 5_000, usize::MAX)
            .await
            .expect("exported");
        let found: std::collections::BTreeMap<String, Vec<u8>> = records
            .into_iter()
            .map(|(key, record)| (key, record.value))
            .collect();
        for index in 0..2_000 {
            let key = format!("k{index:06}");
            assert_eq!(found.get(&key).cloned(), expected(index), "{key}");
        }
        // The digest is the one the same records written afresh give.
        let fresh = tempfile::tempdir().expect("temp dir");
        let again = WorkloadStore::open(fresh.path()).expect("store");
        let writes = found
            .iter()
            .map(|(key, value)| Write::Put {
                key: key.clone(),
                value: value.clone(),
                if_version: None,
            })
            .collect();
        again.write("w", writes).await.expect("written");
        assert_eq!(
            store.summary("w").await.expect("summary").digest,
            again.summary("w").await.expect("summary").digest
        );
    }

    #[tokio::test]
    async fn a_dropped_workload_takes_its_segments_with_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        write_all(&store, 500, 0).await;
        assert!(segment_bytes(dir.path()) > 500_000);
        store.write("w", vec![Write::Drop]).await.expect("dropped");
        assert_eq!(segment_bytes(dir.path()), 0);
        // Written again, the workload starts a new segment.
        write_all(&store, 500, 1).await;
        assert_values(&store, 500, 1).await;
    }

    /// A damaged value fails its read, alone or among others read together.
    #[tokio::test]
    async fn a_damaged_value_is_an_error_not_garbage() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        write_all(&store, 3, 0).await;
        drop(store);
        let segment = std::fs::read_dir(dir.path().join(VALUES_DIR))
            .expect("the values dir")
            .next()
            .expect("a segment")
            .expect("an entry")
            .path();
        let mut bytes = std::fs::read(&segment).expect("the segment");
        // The middle record's value.
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&segment, bytes).expect("damaged");
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        let error = store.get("w", "k000001").await.expect_err("damaged");
        assert!(error.to_string().contains("damaged"), "{error}");
        assert_values(&store, 1, 0).await;
        let error = store
            .export_keys("w", None, 10, usize::MAX)
            .await
            .expect_err("damaged");
        assert!(error.to_string().contains("damaged"), "{error}");
        let error = store.scan("w", "k", 10).await.expect_err("damaged");
        assert!(error.to_string().contains("damaged"), "{error}");
    }

    /// A segment file no row knows (its transaction never committed) is deleted on
    /// open; a known one that is missing stops the store from opening, saying which.
    #[tokio::test]
    async fn open_cleans_strays_and_refuses_a_missing_segment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = WorkloadStore::open(dir.path()).expect("store");
        write_all(&store, 1, 0).await;
        drop(store);
        let values = dir.path().join(VALUES_DIR);
        let stray = segment_path(&values, 0xfff);
        std::fs::write(&stray, b"uncommitted").expect("a stray");
        let store = WorkloadStore::open(dir.path()).expect("reopened");
        assert!(!stray.exists());
        assert_values(&store, 1, 0).await;
        drop(store);
        for entry in std::fs::read_dir(&values).expect("the values dir") {
            std::fs::remove_file(entry.expect("an entry").path()).expect("removed");
        }
        let error = WorkloadStore::open(dir.path())
            .err()
            .expect("a missing segment");
        assert!(error.to_string().contains("is missing"), "{error}");
    }
}
