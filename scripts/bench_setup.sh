#!/usr/bin/env bash
# Installs what only the benchmarks need (scripts/bench.sh mongo): PostgreSQL 15 to compare
# against, libpq to talk to it, and the MongoDB C driver the load tool is built on; for
# scripts/bench.sh vector, hnswlib and FAISS to compare the vector index with; for
# scripts/bench.sh dynamo, wrk (the load tool), nginx (the HTTP ceiling) and dynalite (npm,
# pinned in bench/dynamo/package-lock.json). Idempotent:
# a machine that already has them only pays for one dpkg query. Neither scripts/setup.sh nor the
# tests call this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt_install.sh bench_setup postgresql-15 libpq-dev libmongoc-dev libhnswlib-dev libfaiss-dev \
  wrk nginx
if [ ! -f bench/dynamo/node_modules/dynalite/package.json ]; then
  (cd bench/dynamo && npm ci --no-audit --no-fund)
fi
# Debian's nginx package starts a server on port 80 where there is an init system; the benchmark
# runs its own nginx, so stop the packaged one (only if it is running).
if command -v service >/dev/null && service nginx status >/dev/null 2>&1; then
  SUDO_N=""; if [ "$(id -u)" -ne 0 ]; then SUDO_N="sudo"; fi
  $SUDO_N service nginx stop || true
fi
# Debian starts a cluster on port 5432 when it installs postgresql-15; the benchmark starts its
# own in a temporary directory, so stop the packaged one rather than leave it competing.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 main .* online'; then
  $SUDO pg_ctlcluster 15 main stop || true
fi
# An existing build configured without libpq finds it on its next configure.
if [ -f build/CMakeCache.txt ] && ! grep -q "libpq" build/CMakeCache.txt; then touch bench/CMakeLists.txt; fi
# Likewise for FAISS (bench/vector builds without it, comparing against hnswlib only).
if [ -f build/CMakeCache.txt ] && ! grep -q "faiss_DIR:PATH=/" build/CMakeCache.txt; then touch bench/vector/CMakeLists.txt; fi
