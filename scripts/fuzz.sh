#!/usr/bin/env bash
# Builds every libFuzzer target fuzz/<name>_fuzz.cc with clang (ASan + UBSan) into build-fuzz/,
# replays its saved regressions (fuzz/regressions/<name>/), then fuzzes it for FUZZ_SECONDS
# (default 20) starting from its seed corpus (fuzz/corpus/<name>/). Exits non-zero on any crash,
# leak, sanitizer report or timeout; the offending input is left in build-fuzz/artifacts/<name>/.
#
# Usage: scripts/fuzz.sh [name...]      (default: every fuzz/*_fuzz.cc)
#
# Adding a target: drop fuzz/<name>_fuzz.cc defining LLVMFuzzerTestOneInput, and list what it
# links in header comments (globs relative to the repository root; *_test.cc never linked):
#   // fuzz-sources: src/common/*.cc src/bson/*.cc
#   // fuzz-pkgs: libbson-1.0            (pkg-config packages, optional)
#   // fuzz-libs: -lpcre2-8              (extra linker flags, optional)
# Then add a few small seed inputs to fuzz/corpus/<name>/. Objects are cached per source file,
# so targets share what they have in common.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
OUT=build-fuzz
CXX=${FUZZ_CXX:-clang++}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CXXFLAGS="-std=c++20 -g -O1 -fno-omit-frame-pointer $SAN -I src"

for tool in "$CXX" pkg-config; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
if ! "$CXX" -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q /; then
  echo "fuzz: libFuzzer runtime missing (apt-get install -y libclang-rt-14-dev)" >&2
  exit 1
fi

mkdir -p "$OUT"
echo '*' >"$OUT/.gitignore"  # keep build output out of git without touching the top .gitignore

# header_field FILE KEY: the words after "// KEY:" in FILE's header comments.
header_field() { sed -n "s|^// $2:||p" "$1" | tr '\n' ' '; }

# compile SRC FLAGS...: SRC -> $OUT/obj/SRC.o, rebuilt only when SRC or a header it includes changed.
compile() {
  local src=$1; shift
  local obj="$OUT/obj/${src%.cc}.o" dep="$OUT/obj/${src%.cc}.d"
  if [ -f "$obj" ] && [ -f "$dep" ]; then
    local stale=0 f
    for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
      if [ "$f" -nt "$obj" ]; then stale=1; break; fi
    done
    [ $stale = 0 ] && return 0
  fi
  mkdir -p "$(dirname "$obj")"
  echo "fuzz: compiling $src"
  $CXX $CXXFLAGS "$@" -MMD -MF "$dep" -c "$src" -o "$obj"
}

build_target() {
  local name=$1 main="fuzz/$1_fuzz.cc"
  local pkgs libs pkg_cflags="" pkg_libs="" srcs=() objs=() s
  pkgs=$(header_field "$main" fuzz-pkgs)
  libs=$(header_field "$main" fuzz-libs)
  if [ -n "${pkgs// /}" ]; then
    pkg_cflags=$(pkg-config --cflags $pkgs)
    pkg_libs=$(pkg-config --libs $pkgs)
  fi
  for s in $(header_field "$main" fuzz-sources); do
    [[ $s == *_test.cc || ! -f $s ]] || srcs+=("$s")
  done
  # Compile two at a time (this machine has two cores); fail after all started jobs finish.
  local pids=() src failed=0
  for src in "$main" "${srcs[@]}"; do
    compile "$src" -fsanitize=fuzzer-no-link $pkg_cflags &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
    objs+=("$OUT/obj/${src%.cc}.o")
  done
  for s in "${pids[@]}"; do wait "$s" || failed=1; done
  [ $failed = 0 ] || { echo "fuzz: $name: compilation failed" >&2; return 1; }
  local bin="$OUT/$1_fuzz" newest=0 o
  for o in "${objs[@]}"; do [ "$o" -nt "$bin" ] && newest=1; done
  if [ ! -x "$bin" ] || [ $newest = 1 ]; then
    echo "fuzz: linking $bin"
    $CXX $CXXFLAGS -fsanitize=fuzzer "${objs[@]}" $pkg_libs $libs -o "$bin"
  fi
}

run_target() {
  local name=$1 bin="$OUT/$1_fuzz"
  local seeds="fuzz/corpus/$name" regressions="fuzz/regressions/$name"
  local work="$OUT/corpus/$name" artifacts="$OUT/artifacts/$name/"
  mkdir -p "$work" "$artifacts" "$seeds"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "fuzz: $name: replaying $(ls "$regressions" | wc -l) saved regressions"
    "$bin" -artifact_prefix="$artifacts" "$regressions"/*
  fi
  echo "fuzz: $name: fuzzing for ${FUZZ_SECONDS}s"
  # New inputs go to the first (scratch) corpus dir; the committed seeds are only read.
  "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$seeds"
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do
    [ -e "$f" ] || continue
    f=${f#fuzz/}
    targets+=("${f%_fuzz.cc}")
  done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets in fuzz/" >&2; exit 1; }

# Build under the project's build lock so fuzz builds never compete with scripts/build.sh.
(
  flock 9
  for t in "${targets[@]}"; do
    [ -f "fuzz/${t}_fuzz.cc" ] || { echo "fuzz: no fuzz/${t}_fuzz.cc" >&2; exit 1; }
    build_target "$t"
  done
) 9>/tmp/amalgam-build.lock

for t in "${targets[@]}"; do
  run_target "$t"
done
echo "fuzz: ${targets[*]}: no crashes"
