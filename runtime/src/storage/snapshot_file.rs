//! The latest Raft snapshot, in a file of its own beside the database.
//!
//! It used to be two records in the database. redb has one write lock, and the log's
//! writer takes it for every group commit: a snapshot of tens of megabytes held it for
//! its whole write and fsync — seconds on a slow disk — so the log could not flush,
//! heartbeat answers (openraft sends them once the log is flushed) stopped, the
//! leader's lease ran out and writes were refused as if there were no leader. In its own
//! file the snapshot never waits for the log nor the log for it; its data is synced a
//! slice at a time, so a log fsync that has to wait for the file system's journal
//! waits for one slice at most.
//!
//! A snapshot is written to `snapshot.partial`, synced, then renamed over `snapshot`
//! and the folder synced: a crash leaves the previous snapshot or the new one, whole.
//! A checksum over the file tells a damaged one from a snapshot.

use super::database::io_error;
use crate::encoding;
use crate::raft_types::{LogId, SnapshotMeta};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The snapshot file inside a data dir.
pub const SNAPSHOT_FILE: &str = "snapshot";
/// Where the next snapshot is written before it replaces the current one.
const PARTIAL_FILE: &str = "snapshot.partial";
/// What a snapshot file starts with (the last byte is the format's version).
const MAGIC: &[u8; 8] = b"efsnap\x00\x01";
/// Data is synced every this many bytes while a snapshot is written.
const SYNC_EVERY: usize = 8 * 1024 * 1024;

/// The snapshot file of one data dir.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    folder: PathBuf,
}

impl SnapshotFile {
    pub fn new(data_dir: &Path) -> SnapshotFile {
        SnapshotFile {
            folder: data_dir.to_path_buf(),
        }
    }

    fn path(&self) -> PathBuf {
        self.folder.join(SNAPSHOT_FILE)
    }

    /// Replaces the snapshot with `meta` and `body`, durably, before returning.
    pub fn write(&self, meta: &SnapshotMeta, body: &[u8]) -> io::Result<()> {
        let meta = encoding::encode(meta);
        let meta_length = u32::try_from(meta.len())
            .map_err(|_| io_error("the snapshot's metadata is larger than 4 GiB"))?;
        let mut header = Vec::with_capacity(MAGIC.len() + 12 + meta.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&meta_length.to_be_bytes());
        header.extend_from_slice(&meta);
        header.extend_from_slice(&(body.len() as u64).to_be_bytes());
        let mut checksum = crc32fast::Hasher::new();
        checksum.update(&header);
        checksum.update(body);

        let partial = self.folder.join(PARTIAL_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)
            .map_err(|e| self.failed("create", &partial, e))?;
        let write = |file: &mut File, bytes: &[u8]| {
            file.write_all(bytes)
                .map_err(|e| self.failed("write", &partial, e))
        };
        write(&mut file, &header)?;
        for slice in body.chunks(SYNC_EVERY) {
            write(&mut file, slice)?;
            file.sync_data()
                .map_err(|e| self.failed("sync", &partial, e))?;
        }
        write(&mut file, &checksum.finalize().to_be_bytes())?;
        file.sync_all()
            .map_err(|e| self.failed("sync", &partial, e))?;
        drop(file);
        let path = self.path();
        std::fs::rename(&partial, &path).map_err(|e| self.failed("rename", &partial, e))?;
        File::open(&self.folder)
            .and_then(|folder| folder.sync_all())
            .map_err(|e| self.failed("sync", &self.folder, e))
    }

    /// The snapshot, if one was written.
    pub fn read(&self) -> io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
        let path = self.path();
        let mut bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failed("read", &path, e)),
        };
        let (meta, body_at) = self.parse(&bytes)?;
        bytes.truncate(bytes.len() - 4);
        bytes.drain(..body_at);
        Ok(Some((meta, bytes)))
    }

    /// The metadata and where the body starts, once the framing and checksum are right.
    fn parse(&self, bytes: &[u8]) -> io::Result<(SnapshotMeta, usize)> {
        let damaged = |why: &str| {
            io_error(format!(
                "the snapshot {} is damaged ({why}). Restore the data dir from a backup; or, \
                 on a cluster member, move it away and bring the node back (`edgeflow cluster \
                 remove ID`, start it empty, `cluster add`, `cluster promote`)",
                self.path().display()
            ))
        };
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| damaged("it does not start as a snapshot"))?;
        let (meta_length, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| damaged("cut short"))?;
        let meta_length = u32::from_be_bytes(*meta_length) as usize;
        if rest.len() < meta_length {
            return Err(damaged("cut short"));
        }
        let (meta, rest) = rest.split_at(meta_length);
        let (body_length, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| damaged("cut short"))?;
        let body_length = u64::from_be_bytes(*body_length);
        if rest.len() as u64 != body_length.saturating_add(4) {
            return Err(damaged("its length is not the length it records"));
        }
        let (framed, stored_checksum) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(framed).to_be_bytes() != stored_checksum {
            return Err(damaged("its checksum does not match"));
        }
        let meta = encoding::decode(meta).map_err(|e| damaged(&e.to_string()))?;
        Ok((meta, bytes.len() - 4 - body_length as usize))
    }

    /// The error for a data dir whose log was purged past what its snapshot holds (the
    /// snapshot file was deleted, or an older one put back): the entries in between
    /// are gone, and the state cannot be rebuilt.
    pub fn behind_the_log(&self, covered: Option<LogId>, purged: Option<LogId>) -> io::Error {
        let found = match covered {
            None => "is missing".to_string(),
            Some(id) => format!("holds the state up to entry {} only", id.index()),
        };
        let first_kept = purged.map_or(0, |id| id.index()) + 1;
        io_error(format!(
            "the snapshot {} {found}, but the log before entry {first_kept} was removed: the state \
             cannot be rebuilt. Put back the snapshot file this data dir was written with \
             (or restore the whole data dir from a backup); or, on a cluster member, move the \
             data dir away and bring the node back (`edgeflow cluster remove ID`, start it \
             empty, `cluster add`, `cluster promote`)",
            self.path().display(),
        ))
    }

    fn failed(&self, action: &str, path: &Path, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!(
                "cannot {action} the snapshot file {}: {error}",
                path.display()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(index: u64) -> SnapshotMeta {
        let leader = openraft::vote::leader_id_adv::LeaderId {
            term: 3,
            node_id: 1,
        };
        SnapshotMeta {
            last_log_id: Some(LogId::new(leader, index)),
            ..SnapshotMeta::default()
        }
    }

    #[test]
    fn a_written_snapshot_reads_back_and_the_next_one_replaces_it() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let file = SnapshotFile::new(dir.path());
        assert!(file.read().expect("no snapshot yet").is_none());
        let body = vec![7u8; SYNC_EVERY * 2 + 5];
        file.write(&meta(10), &body).expect("written");
        let (read_meta, read_body) = file.read().expect("read").expect("a snapshot");
        assert_eq!(read_meta, meta(10));
        assert_eq!(read_body, body);
        file.write(&meta(20), b"later").expect("written");
        let (read_meta, read_body) = file.read().expect("read").expect("a snapshot");
        assert_eq!(
            (read_meta, read_body.as_slice()),
            (meta(20), b"later".as_slice())
        );
        assert!(!dir.path().join(PARTIAL_FILE).exists());
    }

    #[test]
    fn a_damaged_or_cut_short_snapshot_is_an_error_that_names_the_file() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let file = SnapshotFile::new(dir.path());
        file.write(&meta(10), b"the state").expect("written");
        let path = dir.path().join(SNAPSHOT_FILE);
        let whole = std::fs::read(&path).expect("read");
        let mut flipped = whole.clone();
        flipped[whole.len() - 6] ^= 1;
        let cases: [(&[u8], &str); 4] = [
            (&flipped, "checksum"),
            (&whole[..whole.len() - 1], "length"),
            (&whole[..10], "cut short"),
            (b"not a snapshot at all", "does not start as a snapshot"),
        ];
        for (bytes, why) in cases {
            std::fs::write(&path, bytes).expect("written");
            let error = file.read().expect_err("a damaged snapshot is refused");
            let said = error.to_string();
            assert!(said.contains(why), "{said}");
            assert!(said.contains(&path.display().to_string()), "{said}");
        }
    }

    #[test]
    fn a_crash_while_writing_leaves_the_previous_snapshot() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let file = SnapshotFile::new(dir.path());
        file.write(&meta(10), b"kept").expect("written");
        // What a crash part-way through the next write leaves behind.
        std::fs::write(dir.path().join(PARTIAL_FILE), b"efsnap\x00\x01half").expect("written");
        let (read_meta, body) = file.read().expect("read").expect("a snapshot");
        assert_eq!((read_meta, body.as_slice()), (meta(10), b"kept".as_slice()));
        file.write(&meta(11), b"next")
            .expect("the leftover is overwritten");
        assert_eq!(file.read().expect("read").expect("a snapshot").1, b"next");
    }
}
