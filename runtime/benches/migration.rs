//! The parts of a migration's copy on one machine, without the network: sealing and
//! opening a batch (MessagePack, with and without zstd, CRC-32), importing a batch into
//! a workload store (one fsynced transaction), importing 16 MiB of new records the way a
//! copy does (batches queued unsynced, four in flight, then one sync), and exporting a
//! batch. Run with
//! `cargo bench -p edgeflow-runtime --bench migration`; figures go to BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use edgeflow_runtime::migrations::transfer::{open, seal, Batch, Copied};
use edgeflow_runtime::workloads::{Prepared, WorkloadStore, Write};
use std::collections::VecDeque;

/// 1,000 records of 1,000 random printable bytes, as `workload fill` makes them.
fn batch() -> Batch {
    let mut rng = fastrand::Rng::with_seed(1);
    let records = (0..1_000)
        .map(|i| Copied {
            key: format!("r{i:010}"),
            version: 1,
            value: Some((0..1_000).map(|_| rng.u8(b' '..=b'~')).collect()),
        })
        .collect();
    Batch {
        records,
        last_seq: 0,
        done: false,
    }
}

fn wire(c: &mut Criterion) {
    let batch = batch();
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Bytes(batch.bytes()));
    for compress in [false, true] {
        let label = if compress { "zstd" } else { "plain" };
        group.bench_function(format!("seal_{label}"), |b| {
            b.iter(|| seal(&batch, compress).expect("sealed"))
        });
        let sealed = seal(&batch, compress).expect("sealed");
        group.bench_function(format!("open_{label}"), |b| {
            b.iter(|| open(&sealed.body, sealed.crc32, sealed.raw_bytes, compress).expect("opened"))
        });
    }
    group.finish();
}

fn store(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = WorkloadStore::open(dir.path()).expect("store");
    let batch = batch();
    let writes = || -> Vec<Write> {
        batch
            .records
            .iter()
            .map(|r| Write::Import {
                key: r.key.clone(),
                value: r.value.clone(),
                version: r.version,
            })
            .collect()
    };
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Bytes(batch.bytes()));
    group.sample_size(20);
    group.bench_function("import_batch", |b| {
        b.iter(|| {
            runtime
                .block_on(store.write("bench", writes()))
                .expect("written")
        })
    });
    let mut copied = 0u64;
    let copy_batches = 16;
    group.throughput(Throughput::Bytes(batch.bytes() * copy_batches));
    group.bench_function("import_copy_16mib", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut in_flight = VecDeque::new();
                for _ in 0..copy_batches {
                    copied += 1;
                    let fresh = writes()
                        .into_iter()
                        .map(|write| match write {
                            Write::Import {
                                key,
                                value,
                                version,
                            } => Write::Import {
                                key: format!("{copied:06}{key}"),
                                value,
                                version,
                            },
                            other => other,
                        })
                        .collect();
                    let prepared = Prepared::of(fresh).await.expect("prepared");
                    in_flight.push_back(store.import_unsynced("copy", prepared).expect("queued"));
                    if in_flight.len() > 4 {
                        if let Some(import) = in_flight.pop_front() {
                            import.applied().await.expect("imported");
                        }
                    }
                }
                for import in in_flight {
                    import.applied().await.expect("imported");
                }
                store.sync("copy").await.expect("synced");
            })
        })
    });
    group.throughput(Throughput::Bytes(batch.bytes()));
    group.bench_function("export_batch", |b| {
        b.iter(|| {
            runtime
                .block_on(store.export_keys("bench", None, 1_000, 8 * 1024 * 1024))
                .expect("exported")
        })
    });
    group.finish();
}

criterion_group!(benches, wire, store);
criterion_main!(benches);
