#!/usr/bin/env bash
# The `edgeflow check` benchmark of issue #2: a generated program of 5,000 workflows ×
# 10 steps (≈65,000 lines, ≈4.4 MB) and one of 10,000, timed with hyperfine; peak memory
# with GNU time; and a 20-line file, process start included.
#
#   benches/check.sh            (needs hyperfine and GNU time: apt-get install hyperfine time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/edgeflow
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/generate_program.py 5000 "$work/p5000.edgeflow"
python3 benches/generate_program.py 10000 "$work/p10000.edgeflow"
wc -lc "$work"/p5000.edgeflow "$work"/p10000.edgeflow
"$bin" check --deny warnings "$work/p5000.edgeflow"
hyperfine --warmup 3 --runs 20 \
  "$bin check $work/p5000.edgeflow" \
  "$bin check $work/p10000.edgeflow"
hyperfine -N --warmup 5 --runs 50 "$bin check examples/leader_election.edgeflow"
for size in 5000 10000; do
  /usr/bin/time -f "peak memory, $size workflows: %M KB" "$bin" check "$work/p$size.edgeflow" 2>&1 | tail -1
done

# Rendering many diagnostics (issue #11, finding 20): a file with N errors, rendered for
# people and as JSON; the human rendering must stay within about 2x of JSON.
for n in 1000 5000; do
  python3 -c "
import sys
n = int(sys.argv[1])
print('\n'.join(f'const X{i}: int = \"s{i}\"' for i in range(n)))" "$n" > "$work/errors$n.edgeflow"
done
hyperfine -N -i --warmup 2 --runs 10 \
  "$bin check --color never $work/errors1000.edgeflow" \
  "$bin check --format json $work/errors1000.edgeflow" \
  "$bin check --color never $work/errors5000.edgeflow" \
  "$bin check --format json $work/errors5000.edgeflow"
