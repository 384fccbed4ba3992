#!/usr/bin/env bash
# Installs the Node.js test clients (mongodb driver, mongosh), pinned in
# tests/node/package-lock.json. Only the test command needs them. Idempotent: `npm ci` runs only
# when the lock file changed since the last install (a stamp in node_modules). Install scripts
# are skipped: the optional native add-ons they build are not needed by the tests.
set -euo pipefail
if ! command -v npm >/dev/null 2>&1; then
  "$(dirname "$0")/apt_install.sh" setup_node nodejs npm
fi
NODE_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
NODE_STAMP=$NODE_DIR/node_modules/.amalgam-package-lock.sha256
lock_sum=$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)
if [ -f "$NODE_STAMP" ] && [ "$(cat "$NODE_STAMP")" = "$lock_sum" ]; then
  echo "setup: node test packages up to date"
else
  echo "setup: npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  echo "$lock_sum" >"$NODE_STAMP"
fi
