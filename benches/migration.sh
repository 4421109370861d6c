#!/usr/bin/env bash
# Migration throughput, bandwidth accuracy, write freeze and memory, node to node over
# loopback (release build): two voters; a workload filled on node_1 with incompressible
# records; migrated to node_2 (a) uncapped, compression off (bulk), (b) capped at
# CAP (live), (c) live under a steady writer, recording the freeze. Prints each
# migration's status and both nodes' resident memory before and at its peak (the
# kernel's high-water mark, reset when the migration starts).
#
#   cargo build --release && benches/migration.sh [RECORDS] [SIZE] [CAP] [SECTIONS]
#
# RECORDS × SIZE is the workload (default 1,000,000 × 1,000 bytes ≈ 1 GB); SECTIONS
# picks some of `uncapped capped busy` (default: all three).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
records=${1:-1000000}
size=${2:-1000}
cap=${3:-100Mbps}
sections=" ${4:-uncapped capped busy} "
bin=${EDGEFLOW_BIN:-$root/target/release/edgeflow}
dir=$(mktemp -d)
trap '"$root/examples/cluster/down.sh" "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

mapfile -t urls < <(EDGEFLOW_BIN=$bin "$root/examples/cluster/up.sh" 2 "$dir")
export EDGEFLOW_CLUSTER=${urls[0]} EDGEFLOW_TOKEN_FILE=$dir/1.token
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$dir/$1.pid")/status"; }
peak() { awk '/^VmHWM/ {print $2}' "/proc/$(cat "$dir/$1.pid")/status"; }
# CPU time a node has used so far, in clock ticks (user + system).
ticks() { awk '{print $14 + $15}' "/proc/$(cat "$dir/$1.pid")/stat"; }
# The machine's CPU time stolen by its hypervisor so far, in clock ticks: on a shared
# VM it explains much of the run-to-run spread.
stolen() { awk '/^cpu / {print $9}' /proc/stat; }
# The kernel's high-water mark of a node's resident memory starts again from now.
reset_peak() { echo 5 > "/proc/$(cat "$dir/$1.pid")/clear_refs"; }

migrate() { # NAME WORKLOAD FIELDS…
  local name=$1 workload=$2 fields=$3
  cat > "$dir/$name.edgeflow" <<FILE
edges {
  node_1 { region: "lab" }
  node_2 { region: "lab" }
}
migration $name {
  from: node_1
  to: node_2
  workloads: ["$workload"]
$fields
}
FILE
  local idle1 idle2 id status cpu1 cpu2 steal
  idle1=$(rss 1); idle2=$(rss 2); reset_peak 1; reset_peak 2
  cpu1=$(ticks 1); cpu2=$(ticks 2); steal=$(stolen)
  local started=$SECONDS
  id=$("$bin" migrate start "$name" --file "$dir/$name.edgeflow")
  # Polled once a second by one CLI call and no other process: on two cores, a
  # monitor that forks a Python and `ps` five times a second takes CPU from the copy.
  while :; do
    status=$("$bin" migrate status "$id" --format json)
    [[ $status =~ \"phase\":\ *\"(completed|failed|rolled_back)\" ]] && break
    sleep 1
  done
  echo "== $name: $((SECONDS - started)) s wall"
  "$bin" migrate status "$id" --format json | python3 -c '
import json, sys
s = json.load(sys.stdin)
s["secs"] = max(1, s["bytes_sent"]) * 8 / max(1, s["throughput_bps"])
s["mbit"] = s["throughput_bps"] / 1e6
s["mbyte"] = s["throughput_bps"] / 8e6
print("phase %(phase)s, %(records_copied)s records, %(bytes_copied)s bytes copied, %(bytes_sent)s on the wire in %(secs).2f s of copying: %(mbit).1f Mbit/s = %(mbyte).1f MB/s on the wire; write freeze %(downtime_ms)s ms; error %(error)s" % s)'
  local hz; hz=$(getconf CLK_TCK)
  echo "CPU time: node 1 $(( ($(ticks 1) - cpu1) * 1000 / hz )) ms, node 2 $(( ($(ticks 2) - cpu2) * 1000 / hz )) ms; stolen by the hypervisor $(( ($(stolen) - steal) * 1000 / hz )) ms"
  echo "resident memory: node 1 $((idle1 / 1024)) → $(($(peak 1) / 1024)) MiB, node 2 $((idle2 / 1024)) → $(($(peak 2) / 1024)) MiB (peak)"
}

fill() { # WORKLOAD RECORDS
  "$bin" workload create "$1" --edge node_1 >/dev/null 2>&1
  local started=$SECONDS
  "$bin" workload fill "$1" --records "$2" --size "$size" --seed 1 2>/dev/null
  echo "== filled $1: $2 × $size bytes in $((SECONDS - started)) s"
}

wanted() { [[ $sections == *" $1 "* ]]; }

if wanted uncapped; then
fill big "$records"
migrate uncapped big "  strategy: bulk
  compression: false"
fi

# A capped copy long enough for the cap to dominate (about 20 s at 100 Mbit/s).
if wanted capped; then
fill capped $(( records / 4 ))
migrate capped capped "  strategy: live
  bandwidth: $cap
  compression: false"
fi

# Live under a steady writer through node 2 (the workload's old edge sends it on).
if wanted busy; then
fill busy $(( records / 4 ))
python3 - "${urls[1]}" "$(cat "$dir/2.token")" > "$dir/writer.log" 2>&1 <<'PY' &
import sys, time, urllib.request
url, token = sys.argv[1], sys.argv[2].strip()
longest, n = 0.0, 0
while True:
    n += 1
    request = urllib.request.Request(f"{url}/v1/workloads/busy/records/w-{n}", data=str(n).encode(),
        method="PUT", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    began = time.monotonic()
    try:
        urllib.request.urlopen(request, timeout=30).read()
    except Exception as error:
        print("error", n, error, flush=True)
    longest = max(longest, time.monotonic() - began)
    if n % 200 == 0:
        print(f"writes {n} longest {longest * 1000:.0f} ms", flush=True)
PY
writer=$!
migrate live_busy busy "  strategy: live
  max_downtime: 1s"
kill "$writer"
echo "writer: $(tail -1 "$dir/writer.log")"
fi
