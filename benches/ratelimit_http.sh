#!/usr/bin/env bash
# The HTTP rate-limit check under load: one node (release build) on loopback, a global
# policy deployed with `edgeflow apply`, a client token with the `ratelimit` scope, and
# wrk with keep-alive (-t2 -c32) POSTing /v1/ratelimit/check — the node and wrk sharing
# this machine's cores. Prints wrk's report; also runs the nginx auth form.
#
#   cargo build --release && benches/ratelimit_http.sh [SECONDS] [LIMIT_PER_SECOND]
#
# LIMIT_PER_SECOND defaults to far more than a node can check, so every check is
# admitted; a small one measures a mix of 200 and 429 answers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
seconds=${1:-10}
limit=${2:-1000000000}
bin=${EDGEFLOW_BIN:-$root/target/release/edgeflow}
dir=$(mktemp -d)
trap '"$root/examples/cluster/down.sh" "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

url=$(EDGEFLOW_BIN=$bin "$root/examples/cluster/up.sh" 1 "$dir")
export EDGEFLOW_CLUSTER=$url EDGEFLOW_TOKEN_FILE=$dir/1.token
cat > "$dir/bench.edgeflow" <<POLICY
policy bench_api {
  match: route("/api/v1/generate")
  limit: $limit per 1s
  scope: global
}
POLICY
"$bin" apply "$dir/bench.edgeflow" >&2
export RATELIMIT_TOKEN
RATELIMIT_TOKEN=$("$bin" token create --scope ratelimit 2>/dev/null)

cat > "$dir/check.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"route": "/api/v1/generate"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RATELIMIT_TOKEN")
LUA
cat > "$dir/auth.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RATELIMIT_TOKEN")
LUA

echo "== POST /v1/ratelimit/check (wrk -t2 -c32 -d${seconds}s)"
wrk -t2 -c32 -d"${seconds}s" --latency -s "$dir/check.lua" "$url/v1/ratelimit/check"
echo "== GET /v1/ratelimit/auth/bench_api (nginx's auth_request form)"
wrk -t2 -c32 -d"${seconds}s" --latency -s "$dir/auth.lua" "$url/v1/ratelimit/auth/bench_api?key=k"
