#!/usr/bin/env bash
# Installs every Debian package Amalgam needs to build, run and test. Idempotent: a machine that
# already has them only pays for one dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache mold pkg-config git
  librocksdb-dev libbson-dev libmongoc-dev libboost-dev libboost-system-dev libssl-dev
  rapidjson-dev libpcre2-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang libclang-rt-14-dev
  python3 python3-pymongo python3-boto3 python3-pytest
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

