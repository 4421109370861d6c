//! Faults an unlucky operator meets, on real processes: a disk that fills up. What must
//! hold: the node takes itself out of service visibly (readiness says why, a log line,
//! the process exits so a supervisor restarts it) and a write whose fate it cannot know
//! is answered as unknown, never as a definite failure.

mod common;

use common::cluster::Cluster;
use common::http;
use common::tmpfs::Tmpfs;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn pid_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

#[test]
fn a_full_disk_takes_the_node_out_of_service_visibly() {
    let mount: Mutex<Option<Result<Tmpfs, String>>> = Mutex::new(None);
    let cluster = Cluster::up_prepared("faults-full-disk", 1, 0, |dir| {
        *mount.lock().expect("mount") = Some(Tmpfs::mount(&dir.join("data-1"), "24m"));
    });
    let _tmpfs = match mount.into_inner().expect("mount").expect("tried") {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            eprintln!("skipped: cannot mount a tmpfs here ({why})");
            return;
        }
    };
    let pid = std::fs::read_to_string(cluster.dir.join("1.pid")).expect("pid");
    let value = format!("\"{}\"", "x".repeat(900 * 1024));
    let mut answers = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Fill the disk until the node stops answering 200.
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "the disk never filled: {answers:?}"
        );
        let reply = http::request(
            cluster.url(1),
            "PUT",
            &format!("/v1/state/fill/k{i}"),
            Some(&cluster.token(1)),
            Some(value.as_bytes()),
        );
        match reply {
            Ok(reply) if reply.status == 200 => continue,
            Ok(reply) => {
                answers.push((reply.status, reply.body));
                break;
            }
            Err(error) => panic!("no answer to a write on a full disk: {error}"),
        }
    }
    // The write the disk could not take is answered "unknown", never as failed.
    assert!(
        !answers.is_empty(),
        "no answer to the write that filled the disk"
    );
    for (status, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert!(body.contains("may have been applied"), "{body}");
    }
    // The node leaves: readiness (while it is still there) names the error, the log
    // says why, and the process exits.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pid_alive(&pid) {
        if let Ok(ready) = http::get(cluster.url(1), "/readyz", None) {
            assert!(
                ready.status == 503 || ready.status == 0,
                "still ready on a full disk: {}",
                ready.body
            );
        }
        assert!(Instant::now() < deadline, "the node did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(cluster.dir.join("1.log")).expect("log");
    assert!(log.contains("fatal error"), "{log}");
}
