#!/usr/bin/env bash
# Builds and runs the benchmarks (never part of ctest), then prints each as a table with
# Amalgam/raw RocksDB ratios. Results and targets: docs/benchmarks.md.
# Usage: scripts/bench.sh [engine|txn|all] [extra Google Benchmark flags...]
# The runs hold the build lock (/tmp/amalgam-build.lock) so that no build competes for the cores
# while they measure; do not wrap this script in flock yourself (its build step takes the lock).
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
shift || true
BUILD_DIR=${AMALGAM_BUILD_DIR:-build}
scripts/build.sh engine_bench txn_mode_bench
OUT=$(mktemp -d /tmp/amalgam-bench-out-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
FLAGS=(--benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true
       --benchmark_report_aggregates_only=true)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+local changes')"
run() {  # name binary [flags...]
  local name=$1 bin=$2
  shift 2
  # Hold the build lock so that no build competes for the two cores while we measure.
  flock /tmp/amalgam-build.lock "$BUILD_DIR/bench/$bin" "${FLAGS[@]}" --benchmark_out="$OUT/$name.json" \
    --benchmark_out_format=json "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err" || { cat "$OUT/$name.err" >&2; exit 1; }
  grep -h '^engine_bench:' "$OUT/$name.err" || true
  /usr/bin/python3 bench/report.py "$OUT/$name.json"
  echo
}
EXTRA=("$@")
if [[ $WHICH == engine || $WHICH == all ]]; then run engine engine_bench "${EXTRA[@]}"; fi
if [[ $WHICH == txn || $WHICH == all ]]; then run txn txn_mode_bench "${EXTRA[@]}"; fi
