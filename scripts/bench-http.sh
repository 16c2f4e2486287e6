#!/usr/bin/env bash
# HTTP throughput of the gateway next to redis-benchmark against the same
# Redis, in one run, so the gateway/Redis ratio is visible. Starts its own
# redis-server and gateway on free loopback ports and stops them on exit.
# Prints a markdown table.
#
# Usage: scripts/bench-http.sh   (env: DURATION=10s THREADS=2 CONNS=64 REQUESTS=200000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
REQUESTS=${REQUESTS:-200000}

scripts/deps.sh redis wrk
start_redis
start_gateway GATEWAY_AUTO_PIPELINE=false
base="http://127.0.0.1:$GATEWAY_PORT/db/0"

# A 100-byte value under the key the gateway reads and under the key
# redis-benchmark uses without -r (the placeholder is sent literally).
value=$(head -c 100 /dev/zero | tr '\0' 'x')
curl -fsS -X PUT -H 'Content-Type: application/json' -d "{\"value\":\"$value\"}" "$base/strings/bench100" >/dev/null
redis-cli -p "$REDIS_PORT" set 'key:__rand_int__' "$value" >/dev/null
curl -fsS "$base/strings/bench100" | grep -q "$value"


# run_rb NAME TEST: one redis-benchmark test; appends a row the same way.
run_rb() {
  local name=$1 test=$2 out rps p50
  out=$(redis-benchmark -p "$REDIS_PORT" -t "$test" -n "$REQUESTS" -c "$CONNS" -q 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -1)
  echo "$out" >&2
  rps=$(echo "$out" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')
  p50=$(echo "$out" | sed -nE 's/.*p50=([0-9.]+) msec.*/\1ms/p')
  rows+=("$name|$rps|${p50:-n/a}|n/a")
}

run_wrk "gateway GET /db/0/strings/bench100 (100 B)" "$base/strings/bench100"
run_wrk "gateway POST /db/0/command PING" -s scripts/wrk-command.lua "$base/command"
# The same with auto-pipelining (commands share 2 connections per database).
stop_gateway
start_gateway GATEWAY_AUTO_PIPELINE=true
base="http://127.0.0.1:$GATEWAY_PORT/db/0"
run_wrk "gateway, auto_pipeline, GET /db/0/strings/bench100" "$base/strings/bench100"
run_wrk "gateway, auto_pipeline, POST /db/0/command PING" -s scripts/wrk-command.lua "$base/command"
run_rb "redis-benchmark GET (100 B)" get
run_rb "redis-benchmark PING (PING_MBULK)" ping_mbulk

echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency; redis-benchmark -n $REQUESTS -c $CONNS -q; $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
print_rows
echo
rps() { IFS='|' read -r _ v _ _ <<<"${rows[$1]}"; echo "$v"; }
awk -v g="$(rps 0)" -v r="$(rps 4)" 'BEGIN { printf "GET: gateway/redis = %.2f\n", g / r }'
awk -v g="$(rps 1)" -v r="$(rps 5)" 'BEGIN { printf "PING: gateway/redis = %.2f\n", g / r }'
awk -v g="$(rps 2)" -v r="$(rps 4)" 'BEGIN { printf "GET, auto_pipeline: gateway/redis = %.2f\n", g / r }'
awk -v g="$(rps 3)" -v r="$(rps 5)" 'BEGIN { printf "PING, auto_pipeline: gateway/redis = %.2f\n", g / r }'
