#!/usr/bin/env bash
# Installs the Debian packages named after TAG that are not installed yet; the one place the
# setup scripts ask apt. Idempotent: when all are present it costs one dpkg query per package.
# Usage: scripts/apt_install.sh TAG PACKAGE...   (TAG prefixes the log line, e.g. "setup")
set -euo pipefail
tag=$1
shift
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$tag: all packages present"
  exit 0
fi
echo "$tag: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
