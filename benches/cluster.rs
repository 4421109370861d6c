//! Benchmarks of a 3-voter cluster of real `edgeflow node` processes on loopback
//! (durable, fsync on commit), driven over the HTTP API with keep-alive clients:
//! write throughput with concurrent clients (through the leader, and forwarded by a
//! follower), with each process's CPU time per write, write latency at a paced 2,000/s,
//! linearizable read throughput, leader failover (SIGKILL → first acknowledged write
//! through a survivor, 20 trials) and idle resident memory. Run with
//! `cargo bench --bench cluster [-- SECTION…]` (sections: writes, forwarded, latency,
//! reads, memory, failover, workers, chain, fleet; all by default; `EDGEFLOW_BIN` runs
//! the nodes from another build, to compare two on the same load); figures go to
//! BENCHMARKS.md. `workers` registers 200 simulated workers that heartbeat every second
//! through the API for 20 s and reports the leader's CPU use; `chain` and `fleet`
//! measure the dispatch of placed steps (`cluster/dispatch.rs`) on a cluster of their
//! own with one worker process.

#[path = "cluster/client.rs"]
mod client;
#[path = "cluster/dispatch.rs"]
mod dispatch;
#[path = "cluster/simulated.rs"]
mod simulated;

use simulated::SimulatedWorker;

use hyper::Method;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Cluster {
    dir: PathBuf,
    urls: Vec<String>,
    tokens: Vec<String>,
    restarted: Vec<Child>,
}

impl Cluster {
    /// `count` voters and `workers` worker processes (`up.sh --workers`).
    fn up(count: usize, workers: usize) -> Cluster {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir =
            std::env::temp_dir().join(format!("edgeflow-bench-{}-{workers}", std::process::id()));
        let output = Command::new(root.join("examples/cluster/up.sh"))
            .arg(count.to_string())
            .arg(&dir)
            .args(["--workers", &workers.to_string()])
            .env("EDGEFLOW_BIN", node_binary())
            .output()
            .expect("up.sh runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let urls: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let tokens = (1..=count)
            .map(|id| std::fs::read_to_string(dir.join(format!("{id}.token"))).expect("token"))
            .collect();
        Cluster {
            dir,
            urls,
            tokens,
            restarted: Vec::new(),
        }
    }

    fn pid(&self, id: usize) -> u32 {
        std::fs::read_to_string(self.dir.join(format!("{id}.pid")))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid")
    }

    /// CPU seconds used so far by each of the three voters, then by this process.
    fn cpu_seconds_each(&self) -> Vec<f64> {
        (1..=3)
            .map(|id| cpu_seconds(self.pid(id)))
            .chain([cpu_seconds(std::process::id())])
            .collect()
    }

    fn rss_kib(&self, id: usize) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid(id))).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// SIGKILLs node `id`; returns when the signal was sent (the process is dead, if not
    /// yet reaped, when this returns).
    fn kill(&mut self, id: usize) -> Instant {
        let pid = self.pid(id);
        if let Some(index) = self.restarted.iter().position(|c| c.id() == pid) {
            let mut child = self.restarted.remove(index);
            let sent = Instant::now();
            let _ = child.kill();
            let _ = child.wait();
            return sent;
        }
        let sent = Instant::now();
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        while is_running(pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        sent
    }

    fn restart(&mut self, id: usize) {
        let child = Command::new(env!("CARGO_BIN_EXE_edgeflow"))
            .args(["node", "--config"])
            .arg(self.dir.join(format!("{id}.toml")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node restarts");
        std::fs::write(self.dir.join(format!("{id}.pid")), child.id().to_string())
            .expect("pid file");
        self.restarted.push(child);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.restarted {
            let _ = child.kill();
            let _ = child.wait();
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let _ = Command::new(root.join("examples/cluster/down.sh"))
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `pid` is alive: it exists and is not a zombie waiting to be reaped.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The cluster status from the leader, following a follower's redirect.
async fn status(http: &reqwest::Client, url: &str, token: &str) -> Option<Value> {
    let mut url = url.to_string();
    for _ in 0..3 {
        let reply = http
            .get(format!("{url}/v1/cluster/status"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?;
        let redirected = reply.status() == reqwest::StatusCode::MISDIRECTED_REQUEST;
        let body: Value = reply.json().await.ok()?;
        if !redirected {
            return Some(body);
        }
        url = body["leader_api"].as_str()?.to_string();
    }
    None
}

/// A node's own view: (leader, term), from its metrics.
async fn view(http: &reqwest::Client, url: &str, token: &str) -> Option<(u64, u64)> {
    let text = http
        .get(format!("{url}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
    };
    Some((gauge("edgeflow_raft_leader")?, gauge("edgeflow_raft_term")?))
}

/// The leader and its term, once every node names the same leader in the same term and
/// the leader reports every member replicating with no lag.
async fn settled_leader(http: &reqwest::Client, cluster: &Cluster) -> (usize, u64) {
    loop {
        let mut views = Vec::new();
        for (url, token) in cluster.urls.iter().zip(&cluster.tokens) {
            views.push(view(http, url, token).await);
        }
        if let Some(Some((leader, term))) = views.first().cloned() {
            if leader > 0 && views.iter().all(|v| *v == Some((leader, term))) {
                let index = leader as usize - 1;
                let healthy = status(http, &cluster.urls[index], &cluster.tokens[index])
                    .await
                    .and_then(|s| s["members"].as_array().cloned())
                    .is_some_and(|members| {
                        members.iter().all(|m| {
                            m["state"] == "leader" || (m["state"] == "replicating" && m["lag"] == 0)
                        })
                    });
                if healthy {
                    return (leader as usize, term);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn put(http: &reqwest::Client, url: &str, token: &str, key: &str) -> bool {
    http.put(format!("{url}/v1/state/bench/{key}"))
        .bearer_auth(token)
        .body("1")
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |section: &str| chosen.is_empty() || chosen.iter().any(|c| c == section);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    if wanted("chain") || wanted("fleet") {
        let cluster = Cluster::up(3, 1);
        settled_leader(&http, &cluster).await;
        if wanted("chain") {
            dispatch::chain(&cluster);
        }
        if wanted("fleet") {
            dispatch::fleet(&http, &cluster).await;
        }
    }
    let sections = [
        "writes",
        "forwarded",
        "latency",
        "reads",
        "memory",
        "workers",
        "failover",
    ];
    if !sections.iter().any(|s| wanted(s)) {
        return;
    }
    let mut cluster = Cluster::up(3, 0);
    let (leader, _) = settled_leader(&http, &cluster).await;
    let follower = if leader == 1 { 2 } else { 1 };
    println!("3 voters, leader node {leader}");

    for (target, name, section) in [
        (leader, "leader", "writes"),
        (follower, "a follower", "forwarded"),
    ] {
        if !wanted(section) {
            continue;
        }
        for clients in [16usize, 64, 256, 1024] {
            let per_client = 40_000 / clients;
            let (url, token) = (&cluster.urls[target - 1], &cluster.tokens[target - 1]);
            let cpu_before = cluster.cpu_seconds_each();
            let per_second = rate(url, token, clients, per_client, |c, i| {
                Request::Put(format!("{c}-{i}"))
            })
            .await;
            let total = clients * per_client;
            let cpu_per_write: Vec<String> = cluster
                .cpu_seconds_each()
                .iter()
                .zip(&cpu_before)
                .map(|(after, before)| format!("{:.0}", (after - before) * 1e6 / total as f64))
                .collect();
            println!(
                "writes via {name}: {clients:>4} clients, {total} writes: {per_second:>7.0} committed/s \
                 (CPU µs per write: nodes {}, load generator {})",
                cpu_per_write[..3].join("/"),
                cpu_per_write[3]
            );
        }
    }

    if wanted("latency") {
        paced_latency(&http, &cluster, leader).await;
    }
    if wanted("reads") {
        reads(&http, &cluster, leader, follower).await;
    }
    if wanted("memory") {
        memory(&cluster).await;
    }
    if wanted("workers") {
        workers(&http, &cluster).await;
    }
    if wanted("failover") {
        failover(&http, &mut cluster).await;
    }
}

/// The `edgeflow` binary the nodes run: this build's, or `$EDGEFLOW_BIN` (to compare
/// two builds on the same load).
fn node_binary() -> String {
    std::env::var("EDGEFLOW_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_edgeflow").to_string())
}

/// CPU seconds (user + system) the process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

async fn workers(http: &reqwest::Client, cluster: &Cluster) {
    const WORKERS: u64 = 200;
    const SECONDS: u64 = 20;
    let (leader, _) = settled_leader(http, cluster).await;
    let (url, operator) = (&cluster.urls[0], &cluster.tokens[0]);
    let fleet = SimulatedWorker::register_fleet(WORKERS, 1_000, "sim", http, url, operator).await;
    let pid = cluster.pid(leader);
    let (cpu_before, started) = (cpu_seconds(pid), Instant::now());
    let tasks: Vec<_> = fleet
        .iter()
        .enumerate()
        .map(|(index, worker)| {
            let (http, worker) = (http.clone(), worker.clone());
            let url = cluster.urls[index % 3].clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs(1));
                let mut failures = 0;
                for _ in 0..SECONDS {
                    ticks.tick().await;
                    if !worker.beat(&http, &url).await {
                        failures += 1;
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = 0;
    for task in tasks {
        failures += task.await.expect("worker task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(pid) - cpu_before) / elapsed;
    println!(
        "{WORKERS} workers heartbeating every second for {SECONDS} s: leader CPU {:.1}% of one core, {failures} failed heartbeats",
        cpu * 100.0
    );
}

async fn paced_latency(http: &reqwest::Client, cluster: &Cluster, leader: usize) {
    let rate = 2_000.0;
    let count = 6_000;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    let url = Arc::new(cluster.urls[leader - 1].clone());
    let token = Arc::new(cluster.tokens[leader - 1].clone());
    for i in 0..count {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            assert!(put(&http, &url, &token, &format!("paced-{i}")).await);
            sent.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        latencies.push(task.await.expect("client"));
    }
    latencies.sort();
    println!(
        "write latency at {rate:.0}/s paced, {count} writes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("latencies"))
    );
}

async fn reads(http: &reqwest::Client, cluster: &Cluster, leader: usize, follower: usize) {
    let clients = 64;
    for c in 0..clients {
        let (url, token) = (&cluster.urls[leader - 1], &cluster.tokens[leader - 1]);
        assert!(put(http, url, token, &format!("read-{c}")).await);
    }
    for (target, name) in [(leader, "leader"), (follower, "a follower")] {
        let per_client = 20_000 / clients;
        let (url, token) = (&cluster.urls[target - 1], &cluster.tokens[target - 1]);
        let per_second = rate(url, token, clients, per_client, |c, _| {
            Request::Get(format!("read-{c}"))
        })
        .await;
        let total = clients * per_client;
        println!(
            "linearizable reads via {name}: {clients} clients, {total} reads: {per_second:>7.0} reads/s"
        );
    }
}

/// One request of a throughput section: write or read a key of the `bench` namespace.
enum Request {
    Put(String),
    Get(String),
}

/// Runs `per_client` requests on each of `clients` concurrent clients (one connection
/// each, opened before the clock starts) against the node at `url`; every one must
/// succeed. Returns requests per second.
async fn rate(
    url: &str,
    token: &str,
    clients: usize,
    per_client: usize,
    request: impl Fn(usize, usize) -> Request,
) -> f64 {
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(client::Connection::open(url, token).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(c, mut connection)| {
            let requests: Vec<Request> = (0..per_client).map(|i| request(c, i)).collect();
            tokio::spawn(async move {
                for request in requests {
                    let (method, key, body): (_, _, &'static [u8]) = match request {
                        Request::Put(key) => (Method::PUT, key, b"1"),
                        Request::Get(key) => (Method::GET, key, b""),
                    };
                    let path = format!("/v1/state/bench/{key}");
                    let status = connection.send(method, &path, body).await;
                    assert!(status.is_success(), "{status}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client");
    }
    (clients * per_client) as f64 / started.elapsed().as_secs_f64()
}

async fn memory(cluster: &Cluster) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss: Vec<u64> = (1..=3).map(|id| cluster.rss_kib(id)).collect();
    println!(
        "resident memory, idle 3 s (after the sections before): {} MiB",
        rss.iter()
            .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

async fn failover(http: &reqwest::Client, cluster: &mut Cluster) {
    let mut failovers = Vec::new();
    let mut not_leader_when_killed = 0;
    while failovers.len() < 20 {
        let (leader, term) = settled_leader(http, cluster).await;
        let survivor = if leader == 3 { 1 } else { leader + 1 };
        let killed = cluster.kill(leader);
        let (url, token) = (&cluster.urls[survivor - 1], &cluster.tokens[survivor - 1]);
        while !put(http, url, token, "failover").await {}
        let elapsed = killed.elapsed();
        // A trial counts only if the write went through a newer term's leader (the
        // killed node was still the leader when it died).
        match status(http, url, token)
            .await
            .and_then(|s| s["term"].as_u64())
        {
            Some(now) if now > term => failovers.push(elapsed),
            _ => not_leader_when_killed += 1,
        }
        cluster.restart(leader);
    }
    failovers.sort();
    println!(
        "failover (SIGKILL leader → first acknowledged write via a survivor), 20 trials: median {:.0} ms, worst {:.0} ms, best {:.0} ms ({not_leader_when_killed} trials discarded: leadership had moved before the kill)",
        ms(percentile(&failovers, 0.5)),
        ms(*failovers.last().expect("trials")),
        ms(failovers[0])
    );
}
