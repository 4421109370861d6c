#!/usr/bin/env bash
# Stops the nodes up.sh started from DIR: SIGTERM, then SIGKILL after 10 s. Workers
# go first, so they can report themselves offline to a cluster that is still up.
#
#   examples/cluster/down.sh /tmp/edgeflow-cluster
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
shopt -s nullglob
workers=("$dir"/w*.pid)
voters=()
for pidfile in "$dir"/*.pid; do
  [[ $(basename "$pidfile") == w* ]] || voters+=("$pidfile")
done
for pidfile in "${workers[@]}" "${voters[@]}"; do
  pid=$(cat "$pidfile")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
