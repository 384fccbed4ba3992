#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (CTest, one binary per layer), the crash and
# fault tests, fuzz smoke runs and the integration suites against the real amalgamd binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup_node.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 600
# Black-box tests of the real build/src/server/amalgamd (Debian's python3-pytest; never pip).
/usr/bin/python3 -m pytest -q tests/integration
# The same binary through the real Node.js clients (mongodb driver, mongosh; tests/node/README.md).
(cd tests/node && timeout 300 node --test --test-reporter=tap --test-concurrency=2 --test-timeout=120000 ./*.test.js)
