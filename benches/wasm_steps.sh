#!/usr/bin/env bash
# A workflow of N independent WebAssembly steps, end to end through `edgeflow run`
# (process start, compile, module load, N sandboxed calls, every result recorded):
#   benches/wasm_steps.sh [N=500]
# Uses the C example op (examples/wasm/canary.c, WASI ABI); builds it first.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-500}
examples/wasm/build.sh >/dev/null
[[ -x target/release/edgeflow ]] || cargo build --release -q
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp examples/wasm/canary.wasm "$dir/"
{
  echo 'extern op canary.verdict(error_rate: float, latency_p99: duration, max_error_rate: float, max_latency: duration) -> { promote: bool, reason: string } = wasm("canary.wasm", "_start")'
  echo 'workflow many() {'
  for i in $(seq 1 "$steps"); do
    echo "  let v$i = canary.verdict(error_rate: 0.00$((i % 10)), latency_p99: ${i}ms, max_error_rate: 0.01, max_latency: 250ms)"
  done
  echo -n '  return { promoted: len(['
  for i in $(seq 1 "$steps"); do
    [[ $i -gt 1 ]] && echo -n ', '
    echo -n "v$i.promote"
  done
  echo ']) }'
  echo '}'
} > "$dir/many.edgeflow"
echo "== $steps wasm steps: edgeflow run (3 runs)"
for _ in 1 2 3; do
  start=$(date +%s%N)
  target/release/edgeflow run "$dir/many.edgeflow" --ephemeral 2>/dev/null >/dev/null
  echo "$(( ($(date +%s%N) - start) / 1000000 )) ms"
done
