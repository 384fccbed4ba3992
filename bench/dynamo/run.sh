#!/usr/bin/env bash
# The DynamoDB benchmark (scripts/bench.sh dynamo runs it after building amalgamd): starts
# amalgamd, dynalite (bench/dynamo/node_modules, in memory) and nginx (a static 200-byte JSON
# reply, the ceiling of HTTP on this machine) on 127.0.0.1 and free ports in
# /tmp/amalgam-bench-dynamo-*, preloads the same items into both DynamoDB servers
# (preload.py), then runs wrk with dynamo.lua: GetItem, PutItem, UpdateItem (ADD counter) and a
# 10-item Query at 1, 16 and 64 keep-alive connections against each, and stops all three by PID.
# Usage: bench/dynamo/run.sh [--duration SECONDS (5)] [--partitions N (500, 10 items each)]
#                           [--conns "1 16 64"] [--ops "get query update put"]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${AMALGAM_BUILD_DIR:-build}
DURATION=5 PARTS=500 CONNS="1 16 64" OPS="get query update put"
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --ops) OPS=$2; shift 2 ;;
    *) echo "bench/dynamo: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "bench/dynamo: $tool is missing: run scripts/bench_setup.sh" >&2; exit 1; }
done
if [ ! -f bench/dynamo/node_modules/dynalite/cli.js ]; then
  echo "bench/dynamo: dynalite is missing: run scripts/bench_setup.sh (npm ci in bench/dynamo)" >&2; exit 1
fi
DIR=$(mktemp -d /tmp/amalgam-bench-dynamo-XXXXXX)
AMALGAMD_PID="" DYNALITE_PID="" NGINX_PID=""
stop() {  # pid
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
cleanup() {
  stop "$AMALGAMD_PID"; stop "$DYNALITE_PID"
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {  # port what
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench/dynamo: $2 did not listen on 127.0.0.1:$1 within 10 s" >&2; exit 1
}

# amalgamd, with its default durability (process: the WAL reaches the kernel, no fsync).
"$BUILD_DIR/src/server/amalgamd" --data-dir "$DIR/amalgam" --mongo-port 0 --http-port 0 --dynamo-port 0 \
  --log-level warning >"$DIR/amalgamd.log" 2>&1 &
AMALGAMD_PID=$!
for _ in $(seq 100); do [ -f "$DIR/amalgam/amalgamd.ports" ] && break; sleep 0.1; done
AM_PORT=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["dynamo"])' "$DIR/amalgam/amalgamd.ports")
wait_port "$AM_PORT" amalgamd

# dynalite, in memory (its default, and its fastest configuration).
DL_PORT=$(free_port)
node bench/dynamo/node_modules/dynalite/cli.js --host 127.0.0.1 --port "$DL_PORT" --createTableMs 0 \
  >"$DIR/dynalite.log" 2>&1 &
DYNALITE_PID=$!
wait_port "$DL_PORT" dynalite

# nginx: the same POST answered with a fixed 200-byte JSON body, one worker per core.
NG_PORT=$(free_port)
mkdir -p "$DIR/nginx"
BODY=$(/usr/bin/python3 -c '
head = "{\"Item\":{\"pk\":{\"S\":\"p1\"},\"sk\":{\"N\":\"1\"},\"payload\":{\"S\":\""
tail = "\"}}}"
print(head + "x" * (200 - len(head) - len(tail)) + tail)')
USER_LINE=""
if [ "$(id -u)" -eq 0 ]; then USER_LINE="user root;"; fi
cat >"$DIR/nginx/nginx.conf" <<CONF
$USER_LINE
worker_processes auto;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/body;
  proxy_temp_path $DIR/nginx/proxy;
  fastcgi_temp_path $DIR/nginx/fastcgi;
  uwsgi_temp_path $DIR/nginx/uwsgi;
  scgi_temp_path $DIR/nginx/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$NG_PORT;
    location / {
      default_type application/x-amz-json-1.0;
      return 200 '$BODY';
    }
  }
}
CONF
nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -g 'daemon on;' 2>"$DIR/nginx/start.err" || {
  cat "$DIR/nginx/start.err" >&2; exit 1; }
for _ in $(seq 50); do [ -s "$DIR/nginx/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$DIR/nginx/nginx.pid")
wait_port "$NG_PORT" nginx
LEN=$(curl -s -XPOST -d '{}' "http://127.0.0.1:$NG_PORT/" | wc -c)
[ "$LEN" -eq 200 ] || { echo "bench/dynamo: nginx answered $LEN bytes, not 200" >&2; exit 1; }

echo "amalgamd pid $AMALGAMD_PID on 127.0.0.1:$AM_PORT; dynalite $(node -p 'require("./bench/dynamo/node_modules/dynalite/package.json").version') (node $(node --version)) pid $DYNALITE_PID on 127.0.0.1:$DL_PORT; $(nginx -v 2>&1 | sed 's/.*: //') master pid $NGINX_PID on 127.0.0.1:$NG_PORT; $(wrk --version 2>&1 | head -1 | awk '{print $1, $2}')"
t0=$(date +%s.%N)
/usr/bin/python3 bench/dynamo/preload.py "http://127.0.0.1:$AM_PORT" "$PARTS"
t1=$(date +%s.%N)
/usr/bin/python3 bench/dynamo/preload.py "http://127.0.0.1:$DL_PORT" "$PARTS"
t2=$(date +%s.%N)
printf 'preloaded %d items of ~200 bytes: amalgamd %.1f s, dynalite %.1f s (boto3 BatchWriteItem)\n' \
  $((PARTS * 10)) "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"

# Hold the build lock while measuring so that no build competes for the cores. The servers were
# started before the lock was opened, so they do not inherit (and keep) it.
exec 9>/tmp/amalgam-build.lock
flock 9
# Other helpers compile on the same cores: the load average before measuring is part of the result.
echo "load average when measuring starts: $(uptime | sed 's/.*load average: //') ($(nproc) cores)"
RESULTS="$DIR/results.txt"
measure() {  # label url op conns
  local threads=2
  if [ "$4" -lt 2 ]; then threads=1; fi
  wrk -t "$threads" -c "$4" -d "${DURATION}s" --timeout 5s -s bench/dynamo/dynamo.lua "$2" -- \
    "$3" bench "$PARTS" "$1" "$4" | grep '^RESULT' | tee -a "$RESULTS" >/dev/null
}
for c in $CONNS; do measure nginx "http://127.0.0.1:$NG_PORT/" static "$c"; done
for op in $OPS; do
  for c in $CONNS; do
    measure amalgam "http://127.0.0.1:$AM_PORT/" "$op" "$c"
    measure dynalite "http://127.0.0.1:$DL_PORT/" "$op" "$c"
  done
done
flock -u 9
exec 9>&-
/usr/bin/python3 bench/dynamo/report.py "$RESULTS"
