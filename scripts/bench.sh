#!/usr/bin/env bash
# Builds and runs the benchmarks (never part of ctest), then prints each as a table with
# Amalgam/raw RocksDB ratios. Results and targets: docs/benchmarks.md.
# Usage: scripts/bench.sh [engine|txn|all] [extra Google Benchmark flags...]
#        scripts/bench.sh mongo [extra bench/mongo_load flags, e.g. --conns 16 --measure-ms 2000]
#        scripts/bench.sh vector DATASET_DIR [extra bench/vector flags, e.g. --threads 2 --rounds 5]
#        scripts/bench.sh vector-e2e DATASET_DIR [extra bench/vector/vector_e2e flags, e.g. --ef 40,80 --nq 5000]
#        scripts/bench.sh dynamo [bench/dynamo/run.sh flags, e.g. --duration 5 --conns "1 16 64"]
#        scripts/bench.sh changestream [bench/change_stream/run.sh flags, e.g. --rounds 3]
# `vector` (not part of `all`; needs scripts/bench_setup.sh once and a dataset made by
# ../shared/datasets/make_datasets.py, e.g. /work/vecdata/ft100-angular) runs bench/vector:
# Amalgam's HNSW index, hnswlib and FAISS on the same data in one process (about 5 minutes).
# `vector-e2e` (not part of `all`; needs only libmongoc) starts amalgamd on 127.0.0.1 and a free
# port in /tmp/amalgam-bench-mongo-*, loads the dataset into it, creates a vectorSearch index and
# runs the same queries through `$vectorSearch` and against the same index in-process
# (bench/vector/vector_e2e.cc), then stops amalgamd by PID (about 3 minutes at 100k x 100-d).
# `mongo` (not part of `all`; needs scripts/bench_setup.sh once) starts amalgamd and a PostgreSQL
# 15 of its own, on 127.0.0.1 and free ports, in /tmp/amalgam-bench-mongo-*, runs
# bench/mongo_load against both, and stops both by PID (about 3-4 minutes).
# `dynamo` (not part of `all`; needs scripts/bench_setup.sh once: wrk, nginx, dynalite) runs
# bench/dynamo/run.sh: wrk against amalgamd's DynamoDB port, dynalite and a static nginx reply,
# all on 127.0.0.1 and free ports, stopped by PID (about 3 minutes).
# The runs hold the build lock (/tmp/amalgam-build.lock) so that no build competes for the cores
# while they measure; do not wrap this script in flock yourself (its build step takes the lock).
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
shift || true
BUILD_DIR=${AMALGAM_BUILD_DIR:-build}
if [[ $WHICH == mongo ]]; then
  scripts/build.sh amalgamd mongo_load
elif [[ $WHICH == vector ]]; then
  scripts/build.sh vector_bench
elif [[ $WHICH == vector-e2e ]]; then
  scripts/build.sh amalgamd vector_e2e
elif [[ $WHICH == changestream ]]; then
  exec bench/change_stream/run.sh "$@"
elif [[ $WHICH == dynamo ]]; then
  scripts/build.sh amalgamd
  exec bench/dynamo/run.sh "$@"
else
  scripts/build.sh engine_bench txn_mode_bench
fi
OUT=$(mktemp -d /tmp/amalgam-bench-out-XXXXXX)
MONGO_DIR="" AMALGAMD_PID="" PG_BIN=/usr/lib/postgresql/15/bin PG_STARTED=""
as_postgres() {  # initdb and postgres refuse to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  if [ -n "$AMALGAMD_PID" ]; then kill -TERM "$AMALGAMD_PID" 2>/dev/null || true; wait "$AMALGAMD_PID" || true; fi
  if [ -n "$PG_STARTED" ]; then as_postgres "$PG_BIN/pg_ctl" -D "$MONGO_DIR/pg/data" -m fast -w stop >/dev/null || true; fi
  rm -rf "$OUT"
  if [ -n "$MONGO_DIR" ]; then rm -rf "$MONGO_DIR"; fi
}
trap cleanup EXIT
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
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
run_mongo() {  # [mongo_load flags...]
  if [ ! -x "$PG_BIN/initdb" ]; then echo "bench: PostgreSQL 15 is missing: run scripts/bench_setup.sh" >&2; exit 1; fi
  MONGO_DIR=$(mktemp -d /tmp/amalgam-bench-mongo-XXXXXX)
  chmod 755 "$MONGO_DIR"
  mkdir -p "$MONGO_DIR/pg"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$MONGO_DIR/pg"; fi
  # PostgreSQL: fsync=off with synchronous_commit=on writes the WAL to the kernel before a commit
  # is acknowledged but never flushes it, like amalgamd's default --durability process.
  as_postgres "$PG_BIN/initdb" -D "$MONGO_DIR/pg/data" -A trust -U bench --no-sync >"$MONGO_DIR/pg/initdb.log"
  local pg_port; pg_port=$(free_port)
  as_postgres "$PG_BIN/pg_ctl" -D "$MONGO_DIR/pg/data" -l "$MONGO_DIR/pg/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$MONGO_DIR/pg -c fsync=off -c shared_buffers=256MB -c max_connections=100" \
    start >/dev/null
  PG_STARTED=1
  local pg_pid; pg_pid=$(head -1 "$MONGO_DIR/pg/data/postmaster.pid")
  "$BUILD_DIR/src/server/amalgamd" --data-dir "$MONGO_DIR/amalgam" --mongo-port 0 --http-port 0 --dynamo-port 0 \
    --log-level warning >"$MONGO_DIR/amalgamd.log" 2>&1 &
  AMALGAMD_PID=$!
  for _ in $(seq 100); do [ -f "$MONGO_DIR/amalgam/amalgamd.ports" ] && break; sleep 0.1; done
  local mongo_port
  mongo_port=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mongo"])' "$MONGO_DIR/amalgam/amalgamd.ports")
  echo "amalgamd pid $AMALGAMD_PID on 127.0.0.1:$mongo_port; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') pid $pg_pid on 127.0.0.1:$pg_port"
  # Hold the build lock so that no build competes for the two cores while we measure.
  flock /tmp/amalgam-build.lock "$BUILD_DIR/bench/mongo_load" \
    --mongo "mongodb://127.0.0.1:$mongo_port/?directConnection=true&appname=mongo_load" --mongo-pid "$AMALGAMD_PID" \
    --pg "host=127.0.0.1 port=$pg_port user=bench dbname=postgres" --pg-pid "$pg_pid" "$@"
}
run_vector() {  # DATASET_DIR [vector_bench flags...]
  if [ $# -lt 1 ] || [ ! -d "$1" ]; then echo "bench: usage: scripts/bench.sh vector DATASET_DIR [flags]" >&2; exit 1; fi
  if [ ! -x "$BUILD_DIR/bench/vector/vector_bench" ]; then
    echo "bench: vector_bench was not built: run scripts/bench_setup.sh (libhnswlib-dev, libfaiss-dev)" >&2; exit 1
  fi
  local data=$1
  shift
  # Hold the build lock so that no build competes for the two cores while we measure.
  flock /tmp/amalgam-build.lock "$BUILD_DIR/bench/vector/vector_bench" --data "$data" "$@"
}
run_vector_e2e() {  # DATASET_DIR [vector_e2e flags...]
  if [ $# -lt 1 ] || [ ! -d "$1" ]; then echo "bench: usage: scripts/bench.sh vector-e2e DATASET_DIR [flags]" >&2; exit 1; fi
  local data=$1
  shift
  MONGO_DIR=$(mktemp -d /tmp/amalgam-bench-mongo-XXXXXX)
  "$BUILD_DIR/src/server/amalgamd" --data-dir "$MONGO_DIR/amalgam" --mongo-port 0 --http-port 0 --dynamo-port 0 \
    --log-level warning >"$MONGO_DIR/amalgamd.log" 2>&1 &
  AMALGAMD_PID=$!
  for _ in $(seq 100); do [ -f "$MONGO_DIR/amalgam/amalgamd.ports" ] && break; sleep 0.1; done
  local mongo_port
  mongo_port=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mongo"])' "$MONGO_DIR/amalgam/amalgamd.ports")
  echo "amalgamd pid $AMALGAMD_PID on 127.0.0.1:$mongo_port"
  # Hold the build lock so that no build competes for the two cores while we measure.
  flock /tmp/amalgam-build.lock "$BUILD_DIR/bench/vector/vector_e2e" \
    --mongo "mongodb://127.0.0.1:$mongo_port/?directConnection=true&appname=vector_e2e" --pid "$AMALGAMD_PID" \
    --data "$data" "$@"
}
EXTRA=("$@")
if [[ $WHICH == vector-e2e ]]; then run_vector_e2e "${EXTRA[@]}"; fi
if [[ $WHICH == mongo ]]; then run_mongo "${EXTRA[@]}"; fi
if [[ $WHICH == vector ]]; then run_vector "${EXTRA[@]}"; fi
if [[ $WHICH == engine || $WHICH == all ]]; then run engine engine_bench "${EXTRA[@]}"; fi
if [[ $WHICH == txn || $WHICH == all ]]; then run txn txn_mode_bench "${EXTRA[@]}"; fi
