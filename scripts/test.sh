#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (CTest, one binary per layer), the crash and
# fault tests, fuzz smoke runs and the integration suites against the real amalgamd binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 600
# Black-box tests of the real build/src/server/amalgamd (Debian's python3-pytest; never pip).
/usr/bin/python3 -m pytest -q tests/integration
