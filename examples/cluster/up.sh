#!/usr/bin/env bash
# Starts N local edgeflow voters on free 127.0.0.1 ports with their data under DIR,
# bootstraps them into one cluster, and returns once it has a leader (the nodes keep
# running). Prints one API URL per line. For node ID, DIR holds ID.toml (its config),
# ID.token (its token), ID.pid and ID.log. Stop them with down.sh DIR.
# With --workers K it also starts K workers (edges w1 … wK, region "lab", node ids
# 101 …), files wI.toml, wI.token, wI.pid, wI.log, and returns once they are idle.
#
#   examples/cluster/up.sh 3 /tmp/edgeflow-cluster
#   examples/cluster/up.sh 3 /tmp/edgeflow-cluster --workers 2
#   edgeflow cluster status --cluster http://127.0.0.1:PORT --token-file /tmp/edgeflow-cluster/1.token
#
# The binary is $EDGEFLOW_BIN, else `edgeflow` on the PATH, else target/release/edgeflow.
set -euo pipefail

usage() { echo "usage: $0 N DIR [--workers K]   (N voters, 1 to 9; K workers, 0 to 99)" >&2; exit 2; }
[[ $# -eq 2 || $# -eq 4 ]] || usage
count=$1
dir=$2
workers=0
if [[ $# -eq 4 ]]; then
  [[ $3 == --workers ]] || usage
  workers=$4
fi
[[ $count =~ ^[1-9]$ ]] || usage
[[ $workers =~ ^[0-9]{1,2}$ ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
bin=${EDGEFLOW_BIN:-$(command -v edgeflow || echo "$here/../../target/release/edgeflow")}
[[ -x $bin ]] || { echo "error: no edgeflow binary at $bin (cargo build --release, or set EDGEFLOW_BIN)" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
for id in $(seq 1 "$count"); do
  if [[ -f $dir/$id.pid ]] && kill -0 "$(cat "$dir/$id.pid")" 2>/dev/null; then
    echo "error: node $id is already running from $dir (run down.sh $dir first)" >&2
    exit 2
  fi
done

# Choosing a port is check-then-bind, so two up.sh runs at once (tests run in parallel)
# could pick the same one: they take turns, from choosing ports until every node listens
# (the lock goes when this script exits; the nodes are started without it).
exec 9>"${TMPDIR:-/tmp}/edgeflow-up.lock"
flock 9

# A port nothing listens on (bash's /dev/tcp connect fails) and not handed out in the
# last two hours (a node killed for a moment, to be restarted on its port, is not
# listening either: the shared list keeps another cluster off it), below the kernel's
# ephemeral range (outgoing connections take ports from there).
handed_out=${TMPDIR:-/tmp}/edgeflow-up.ports
now=$(date +%s)
touch "$handed_out"
awk -v since=$((now - 7200)) '$1 >= since' "$handed_out" > "$handed_out.new" && mv "$handed_out.new" "$handed_out"
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local port
  while true; do
    port=$((10000 + RANDOM % (ephemeral_low - 10000)))
    grep -q " $port\$" "$handed_out" && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$now $port" >> "$handed_out"
      echo "$port"
      return
    fi
  done
}

declare -a raft api hash
# The [[peers]] tables of a node's config: every voter but `$1`.
peers_toml() {
  for peer in $(seq 1 "$count"); do
    [[ $peer == "$1" ]] && continue
    echo
    echo "[[peers]]"
    echo "id = $peer"
    echo "raft = \"127.0.0.1:${raft[$peer]}\""
    echo "api = \"127.0.0.1:${api[$peer]}\""
    echo "token_sha256 = \"${hash[$peer]}\""
  done
}
for id in $(seq 1 "$count"); do
  raft[$id]=$(free_port)
  api[$id]=$(free_port)
  # The token file holds the token without a newline, so `sha256sum` of it is the hash.
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/$id.token"
  chmod 600 "$dir/$id.token"
  hash[$id]=$(sha256sum "$dir/$id.token" | cut -d' ' -f1)
done

for id in $(seq 1 "$count"); do
  {
    echo "id = $id"
    echo "edge = \"node_$id\""
    echo "role = \"voter\""
    echo "data_dir = \"$dir/data-$id\""
    echo "raft_listen = \"127.0.0.1:${raft[$id]}\""
    echo "api_listen = \"127.0.0.1:${api[$id]}\""
    echo "token_file = \"$dir/$id.token\""
    echo "snapshot_every = ${EDGEFLOW_SNAPSHOT_EVERY:-20000}"
    echo
    echo "# Loopback is fast: a shorter election timeout than the default fails over sooner."
    echo "[timeouts]"
    echo "heartbeat = \"${EDGEFLOW_HEARTBEAT:-40ms}\""
    echo "election_min = \"${EDGEFLOW_ELECTION_MIN:-120ms}\""
    echo "election_max = \"${EDGEFLOW_ELECTION_MAX:-240ms}\""
    peers_toml "$id"
  } > "$dir/$id.toml"
  nohup "$bin" node --config "$dir/$id.toml" > "$dir/$id.log" 2>&1 9>&- &
  echo $! > "$dir/$id.pid"
done

first="http://127.0.0.1:${api[1]}"
admin() { "$bin" cluster "$@" --cluster "$first" --token-file "$dir/1.token"; }
# Runs an admin command quietly; on failure shows what it said and stops.
step() {
  local said
  said=$(admin "$@" 2>&1) || { echo "$said" >&2; echo "error: \`edgeflow cluster $*\` failed; logs in $dir/*.log" >&2; exit 1; }
}

# Wait for node 1's API to answer, then bootstrap and grow the cluster.
for _ in $(seq 1 200); do
  admin status > /dev/null 2>&1 && break
  kill -0 "$(cat "$dir/1.pid")" 2>/dev/null || { echo "error: node 1 exited; see $dir/1.log" >&2; exit 1; }
  sleep 0.05
done
step init
for id in $(seq 2 "$count"); do
  for _ in $(seq 1 200); do
    "$bin" cluster status --cluster "http://127.0.0.1:${api[$id]}" --token-file "$dir/$id.token" > /dev/null 2>&1 && break
    sleep 0.05
  done
  step add --config "$dir/$id.toml"
done
if [[ $count -gt 1 ]]; then
  step promote $(seq 2 "$count")
fi

# Workers: registered by node 1's operator token, then started; wait until idle.
for w in $(seq 1 "$workers"); do
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/w$w.token"
  chmod 600 "$dir/w$w.token"
  {
    echo "id = $((100 + w))"
    echo "edge = \"w$w\""
    echo "role = \"worker\""
    echo "data_dir = \"$dir/data-w$w\""
    echo "api_listen = \"127.0.0.1:$(free_port)\""
    echo "token_file = \"$dir/w$w.token\""
    peers_toml 0
    echo
    echo "[labels]"
    echo "region = \"lab\""
    echo
    echo "[timeouts]"
    echo "fleet_heartbeat = \"${EDGEFLOW_FLEET_HEARTBEAT:-500ms}\""
  } > "$dir/w$w.toml"
  said=$("$bin" worker add --config "$dir/w$w.toml" --cluster "$first" --token-file "$dir/1.token" 2>&1) \
    || { echo "$said" >&2; echo "error: cannot register worker w$w" >&2; exit 1; }
  nohup "$bin" node --config "$dir/w$w.toml" > "$dir/w$w.log" 2>&1 9>&- &
  echo $! > "$dir/w$w.pid"
done
if [[ $workers -gt 0 ]]; then
  for _ in $(seq 1 400); do
    idle=$("$bin" worker list --format json --cluster "$first" --token-file "$dir/1.token" 2>/dev/null \
      | grep -o '"state":"idle","[^}]*"role":"worker"\|"role":"worker"[^}]*"state":"idle"' | wc -l || true)
    [[ $idle -ge $workers ]] && break
    sleep 0.05
  done
  [[ $idle -ge $workers ]] || { echo "error: the workers did not become idle; see $dir/w*.log" >&2; exit 1; }
fi

# Every node must still be running (one that could not bind its ports has exited).
for name in $(seq 1 "$count") $(seq -f 'w%g' 1 "$workers"); do
  [[ -f $dir/$name.pid ]] || continue
  kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null \
    || { echo "error: node $name exited; see $dir/$name.log" >&2; exit 1; }
done

for id in $(seq 1 "$count"); do
  echo "http://127.0.0.1:${api[$id]}"
done
