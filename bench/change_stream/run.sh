#!/usr/bin/env bash
# The change-stream benchmark (docs/benchmarks.md, "Change streams"): builds amalgamd and
# change_stream_bench, starts amalgamd on 127.0.0.1 with free ports and a fresh data dir in
# /tmp/amalgam-bench-cs-*, runs change_stream_bench against it while holding the build lock (so no
# build competes for the cores), and stops amalgamd by PID.
# Usage: bench/change_stream/run.sh [change_stream_bench flags, e.g. --measure-ms 4000 --rounds 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${AMALGAM_BUILD_DIR:-build}
[ -n "${AMALGAM_BENCH_NO_BUILD:-}" ] || scripts/build.sh amalgamd change_stream_bench
DIR=$(mktemp -d /tmp/amalgam-bench-cs-XXXXXX)
AMALGAMD_PID=""
cleanup() {
  if [ -n "$AMALGAMD_PID" ] && kill -0 "$AMALGAMD_PID" 2>/dev/null; then
    kill -TERM "$AMALGAMD_PID" 2>/dev/null || true; wait "$AMALGAMD_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
"$BUILD_DIR/src/server/amalgamd" --data-dir "$DIR/amalgam" --mongo-port 0 --http-port 0 --dynamo-port 0 \
  --log-level warning >"$DIR/amalgamd.log" 2>&1 &
AMALGAMD_PID=$!
for _ in $(seq 100); do [ -f "$DIR/amalgam/amalgamd.ports" ] && break; sleep 0.1; done
PORTS="$DIR/amalgam/amalgamd.ports"
[ -f "$PORTS" ] || { echo "bench/change_stream: amalgamd did not start (log: $(cat "$DIR/amalgamd.log"))" >&2; exit 1; }
port() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$PORTS" "$1"; }
MONGO_PORT=$(port mongo) DYNAMO_PORT=$(port dynamo)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+local changes'); $(uptime | sed 's/.*load/load/')"
echo "amalgamd pid $AMALGAMD_PID, mongo 127.0.0.1:$MONGO_PORT, dynamo 127.0.0.1:$DYNAMO_PORT"
flock /tmp/amalgam-build.lock "$BUILD_DIR/bench/change_stream_bench" \
  --mongo "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true&appname=change_stream_bench" \
  --dynamo "127.0.0.1:$DYNAMO_PORT" --server-pid "$AMALGAMD_PID" "$@"
echo "# after: $(uptime | sed 's/.*load/load/')"
