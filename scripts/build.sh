#!/usr/bin/env bash
# Configures (once) and builds Amalgam into build/ with Ninja. Only one build runs at a time on
# this machine: concurrent callers wait on a lock instead of fighting over two cores.
# Usage: scripts/build.sh [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AMALGAM_BUILD_DIR:-build}
# ccache keys on paths relative to the checkout, so clones and worktrees share one cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
exec 9>/tmp/amalgam-build.lock
flock 9
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${AMALGAM_BUILD_TYPE:-RelWithDebInfo}
fi
ninja -C "$BUILD_DIR" "$@"
