#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (CTest, one binary per layer), the crash and
# fault tests, fuzz smoke runs and the integration suites against the real amalgamd binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 600
