#!/usr/bin/env bash
# HTTP throughput of the gateway next to its peers, in one run, so the
# ratios come from the same machine at the same moment:
#
#   gateway GET /db/0/strings/k   the gateway, database 0
#   gateway GET /db/7/strings/k   the same on database 7 (the prefix must cost nothing)
#   gateway, auto_pipeline        GET /db/0/strings/k with GATEWAY_AUTO_PIPELINE=true
#   bare                          bench/cmd/bare: net/http writing a fixed 15-byte body, no Redis
#   naive                         bench/cmd/naive: net/http + go-redis + json.NewEncoder
#   redis-benchmark GET / SET     Redis itself, no HTTP
#
# Starts its own redis-server, gateway, bare and naive on free loopback
# ports and stops them on exit. Every HTTP target answers {"value":"xxx"}
# (k holds "xxx"; redis-benchmark reads and writes 3-byte values too).
# Prints a markdown table and the ratios.
#
# Usage: scripts/bench-peers.sh   (env: DURATION=10s THREADS=2 CONNS=50 REQUESTS=200000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
REQUESTS=${REQUESTS:-200000}

BARE_PID=""
NAIVE_PID=""
peers_cleanup() {
  local pid
  for pid in "$BARE_PID" "$NAIVE_PID"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  stop_gateway
  # Redis runs daemonized (not our child, so no wait): poll until it is gone,
  # or bench_cleanup's rm races with its last writes to BENCH_DIR.
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    REDIS_PID=""
  fi
  bench_cleanup
}
trap peers_cleanup EXIT

scripts/deps.sh redis wrk
(cd bench && CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/bare" ./cmd/bare &&
  CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/naive" ./cmd/naive)
start_redis
start_gateway

BARE_PORT=$(free_port)
"$BENCH_DIR/bare" -addr "127.0.0.1:$BARE_PORT" 2>"$BENCH_DIR/bare.log" &
BARE_PID=$!
NAIVE_PORT=$(free_port)
"$BENCH_DIR/naive" -addr "127.0.0.1:$NAIVE_PORT" -redis "127.0.0.1:$REDIS_PORT" 2>"$BENCH_DIR/naive.log" &
NAIVE_PID=$!

gw="http://127.0.0.1:$GATEWAY_PORT"
bare="http://127.0.0.1:$BARE_PORT/db/0/strings/k"
naive="http://127.0.0.1:$NAIVE_PORT/db/0/strings/k"

redis-cli -p "$REDIS_PORT" -n 0 set k xxx >/dev/null
redis-cli -p "$REDIS_PORT" -n 7 set k xxx >/dev/null
wait_for curl -fsS "$bare"
wait_for curl -fsS "$naive"

# Every HTTP target must answer the same JSON before it is measured.
for url in "$gw/db/0/strings/k" "$gw/db/7/strings/k" "$bare" "$naive"; do
  got=$(curl -fsS "$url")
  if [ "$got" != '{"value":"xxx"}' ]; then
    echo "bench-peers: $url answered $got, want {\"value\":\"xxx\"}" >&2
    exit 1
  fi
done


# run_rb: redis-benchmark GET and SET (its default 3-byte values, and the
# literal key key:__rand_int__, which it reads without -r); appends one row
# per test.
run_rb() {
  local out test rps p50 p99
  redis-cli -p "$REDIS_PORT" set 'key:__rand_int__' xxx >/dev/null
  out=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$REQUESTS" -t get,set --csv)
  echo "$out" >&2
  while IFS=, read -r test rps _ _ p50 _ p99 _; do
    test=${test//\"/}
    [ "$test" = test ] && continue
    rows+=("redis-benchmark $test|${rps//\"/}|${p50//\"/}ms|${p99//\"/}ms")
  done <<<"$out"
}

run_wrk "gateway GET /db/0/strings/k" "$gw/db/0/strings/k"
run_wrk "gateway GET /db/7/strings/k" "$gw/db/7/strings/k"
# The same gateway with auto-pipelining (commands share 2 connections per database).
stop_gateway
start_gateway GATEWAY_AUTO_PIPELINE=true
gw="http://127.0.0.1:$GATEWAY_PORT"
[ "$(curl -fsS "$gw/db/0/strings/k")" = '{"value":"xxx"}' ]
run_wrk "gateway, auto_pipeline, GET /db/0/strings/k" "$gw/db/0/strings/k"
run_wrk "bare (net/http, fixed body)" "$bare"
run_wrk "naive (net/http + go-redis + encoding/json)" "$naive"
run_rb

echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency; redis-benchmark -c $CONNS -n $REQUESTS -t get,set --csv; $(nproc) cores, $(go version | awk '{print $3}'), redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), $(date -u +%Y-%m-%d)"
echo
print_rows
echo

# rps NAME-PREFIX: requests/s of the first row whose name starts with it.
rps() {
  local r
  for r in "${rows[@]}"; do
    [[ $r == "$1"* ]] && { IFS='|' read -r _ v _ _ <<<"$r"; echo "$v"; return; }
  done
}
ratio() { awk -v a="$2" -v b="$3" -v n="$1" 'BEGIN { printf "| %s | %.2f |\n", n, a / b }'; }
g0=$(rps "gateway GET /db/0")
echo "| ratio (requests/s) | value |"
echo "| --- | ---: |"
ratio "gateway db 7 / gateway db 0" "$(rps "gateway GET /db/7")" "$g0"
ratio "gateway / bare" "$g0" "$(rps bare)"
ratio "gateway / naive" "$g0" "$(rps naive)"
ratio "gateway / direct (redis-benchmark GET)" "$g0" "$(rps "redis-benchmark GET")"
ratio "gateway auto_pipeline / gateway" "$(rps "gateway, auto_pipeline")" "$g0"
ratio "gateway auto_pipeline / naive" "$(rps "gateway, auto_pipeline")" "$(rps naive)"
ratio "naive / direct (redis-benchmark GET)" "$(rps naive)" "$(rps "redis-benchmark GET")"
