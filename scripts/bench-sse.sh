#!/usr/bin/env bash
# SSE fan-out: for each subscriber count in SIZES, starts a fresh gateway
# (against one private redis-server on a free port) and runs cmd/ssebench
# against it: publish-to-delivery latency, lost messages, Redis client
# connections and gateway RSS per subscriber. Stops what it started on exit.
#
# Usage: scripts/bench-sse.sh   (env: SIZES="1000 5000 10000" MESSAGES=200 INTERVAL=10ms)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

SIZES=${SIZES:-1000 5000 10000}
MESSAGES=${MESSAGES:-200}
INTERVAL=${INTERVAL:-10ms}

# Each subscriber is one socket in the gateway and one in ssebench. Where
# the hard limit is lower (a container), take the hard limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "bench-sse: open files limit $(ulimit -n)" >&2

scripts/deps.sh redis
go build -o "$BENCH_DIR/ssebench" ./cmd/ssebench
start_redis

rows=()
for n in $SIZES; do
  start_gateway
  echo "== $n subscribers" >&2
  if out=$("$BENCH_DIR/ssebench" -url "http://127.0.0.1:$GATEWAY_PORT" -redis "127.0.0.1:$REDIS_PORT" \
    -pid "$GATEWAY_PID" -n "$n" -messages "$MESSAGES" -interval "$INTERVAL"); then
    echo "$out" >&2
    rows+=("$(echo "$out" | grep '^|')")
  else
    echo "bench-sse: $n subscribers failed" >&2
    rows+=("| $n | $MESSAGES every $INTERVAL | failed | | | | | | | | | |")
  fi
  stop_gateway
done

echo
echo "ssebench -messages $MESSAGES -interval $INTERVAL; $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| subscribers | messages | connect time | p50 | p99 | max | deliveries/s | undelivered | Redis clients | RSS before | RSS connected | B/subscriber |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
