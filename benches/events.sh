#!/usr/bin/env bash
# CloudEvents into a 3-voter cluster (release build, loopback): (a) the latency from
# posting one structured event to its 202 — the answer comes once the event and the
# run it starts are committed — over N sequential events, p50/p99; (b) throughput of
# batch mode, B batches of 1,000 events from 4 concurrent senders; then checks that
# every accepted event's run exists exactly once.
#
#   cargo build --release && benches/events.sh [N=500] [B=20]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
count=${1:-500}
batches=${2:-20}
bin=${EDGEFLOW_BIN:-$root/target/release/edgeflow}
dir=$(mktemp -d)
trap '"$root/examples/cluster/down.sh" "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

mapfile -t urls < <(EDGEFLOW_BIN=$bin "$root/examples/cluster/up.sh" 3 "$dir")
export EDGEFLOW_CLUSTER=${urls[0]} EDGEFLOW_TOKEN_FILE=$dir/1.token
cat > "$dir/react.edgeflow" <<'FILE'
workflow react() on event "bench.reading" where float(trigger.data.value) >= 0.0 {
  let noted = log.emit(message: "reading", level: "debug")
  return noted.success
}
FILE
"$bin" apply "$dir/react.edgeflow" >/dev/null
python3 - "${urls[1]}" "$(cat "$dir/1.token")" "$count" "$batches" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
url, token, count, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host = urllib.parse.urlparse(url)

def connection():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)

def post(conn, content_type, body):
    conn.request("POST", "/v1/events", body=body, headers={
        "Content-Type": content_type, "Authorization": "Bearer " + token})
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 202, (reply.status, data)
    return json.loads(data)

def event(source, n):
    return {"specversion": "1.0", "id": str(n), "source": source,
            "type": "bench.reading", "data": {"value": n}}

conn = connection()
latencies = []
for n in range(count):
    body = json.dumps(event("/bench/latency", n)).encode()
    start = time.perf_counter()
    answer = post(conn, "application/cloudevents+json", body)
    latencies.append((time.perf_counter() - start) * 1000)
    assert len(answer["run_ids"]) == 1, answer
latencies.sort()
print(f"structured, one at a time: {count} events, p50 {latencies[len(latencies)//2]:.2f} ms, "
      f"p99 {latencies[int(len(latencies)*0.99)-1]:.2f} ms")

started = []
lock = threading.Lock()
def sender(worker):
    conn = connection()
    for b in range(worker, batches, 4):
        events = [event(f"/bench/batch", b * 1000 + i) for i in range(1000)]
        answer = post(conn, "application/cloudevents-batch+json", json.dumps(events).encode())
        with lock:
            started.extend(answer["run_ids"])
start = time.perf_counter()
threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.perf_counter() - start
total = batches * 1000
print(f"batch mode, 4 senders: {total} events in {elapsed:.2f} s = {total/elapsed:.0f} events/s")
assert len(started) == total and len(set(started)) == total, "every event started one run"
print(f"runs started: {len(started)} distinct, one per event")
PY
