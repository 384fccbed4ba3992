#!/usr/bin/env bash
# Installs every Debian package Amalgam needs to build, run and test. Idempotent: a machine that
# already has them only pays for one dpkg query per package.
set -euo pipefail
exec "$(dirname "$0")/apt_install.sh" setup \
  build-essential cmake ninja-build ccache mold pkg-config git \
  librocksdb-dev libbson-dev libmongoc-dev libboost-dev libboost-system-dev libssl-dev \
  rapidjson-dev libpcre2-dev libgtest-dev libgmock-dev googletest libbenchmark-dev \
  clang libclang-rt-14-dev \
  python3 python3-pymongo python3-boto3 python3-pytest awscli tzdata
