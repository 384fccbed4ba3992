#!/usr/bin/env bash
# Sets up, builds and starts amalgamd on its embedded default: data in ./data, MongoDB on 27017,
# DynamoDB on 8000, health and metrics on 9090. Extra arguments go to amalgamd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh amalgamd
mkdir -p data
exec build/src/server/amalgamd --data-dir data "$@"
