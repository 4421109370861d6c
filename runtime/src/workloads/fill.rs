//! `workload fill`: records of incompressible random text, written in batches as they
//! are made — memory stays at one batch whatever the count — for tests, demos and
//! benchmarks of migrations. The same seed gives the same records on any machine.

use super::store::{WorkloadStore, Write};
use std::io;

/// Records written per transaction.
const FILL_BATCH: u64 = 1_000;
/// The characters a value is drawn from: printable ASCII that JSON strings need not
/// escape (so a value of `size` characters is `size` bytes stored, plus its quotes).
const ALPHABET: &[u8] =
    b"!#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~ ";

/// The key of the `index`th filled record (zero-padded, so key order is fill order).
pub fn fill_key(index: u64) -> String {
    format!("r{index:010}")
}

/// Writes `records` records of `size`-character random strings, from `seed`.
pub async fn fill(
    store: &WorkloadStore,
    workload: &str,
    records: u64,
    size: u64,
    seed: u64,
) -> io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut next = 0;
    while next < records {
        let end = records.min(next + FILL_BATCH);
        let batch = (next..end)
            .map(|index| {
                let mut value = Vec::with_capacity(size as usize + 2);
                value.push(b'"');
                value.extend((0..size).map(|_| ALPHABET[rng.usize(..ALPHABET.len())]));
                value.push(b'"');
                Write::Put {
                    key: fill_key(index),
                    value,
                    if_version: None,
                }
            })
            .collect();
        store.write(workload, batch).await?;
        next = end;
    }
    Ok(())
}
