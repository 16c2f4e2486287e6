#!/usr/bin/env bash
# Peak memory of large replies, and resident memory under small-request
# load, for gateway variants side by side (the memory side of the garbage
# collector's policy, docs/benchmarks.md "A least headroom for the
# garbage collector"):
#   - VmRSS of a fresh gateway, then after a wrk -t2 -c50 -d5s run of
#     GET /db/0/strings/k;
#   - then one POST /db/0/command MGET of KEYS keys of 100 B (a 1.4 MB body
#     and a 10.3 MB reply at the default 99 999), ROUNDS in a row; the
#     process's VmHWM (peak RSS) after them.
#
# Usage: scripts/bench-peak.sh
#   env: VARIANTS="headroom0=GATEWAY_GC_HEADROOM_MIB=0;default=;gogc400=GOGC=400"
#        (name=space-separated NAME=value settings, ';' between variants)
#        KEYS=99999 ROUNDS=8 REPEAT=2
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

VARIANTS=${VARIANTS:-"headroom0=GATEWAY_GC_HEADROOM_MIB=0;default=;gogc400=GOGC=400"}
KEYS=${KEYS:-99999}
ROUNDS=${ROUNDS:-8}
REPEAT=${REPEAT:-2}

scripts/deps.sh redis wrk
start_redis
redis-cli -p "$REDIS_PORT" debug populate "$KEYS" key 100 >/dev/null 2>&1 || {
  # DEBUG may be disabled; fill the keys with a pipe instead.
  seq 0 $((KEYS - 1)) | awk '{printf "SET key:%d %0100d\n", $1, $1}' | redis-cli -p "$REDIS_PORT" --pipe >/dev/null
}
redis-cli -p "$REDIS_PORT" set k abc >/dev/null
python3 -c "import json,sys; print(json.dumps({'command': ['MGET'] + ['key:%d' % i for i in range($KEYS)]}))" >"$BENCH_DIR/mget.json"
body=$(stat -c %s "$BENCH_DIR/mget.json")

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

echo "| variant | settings | RSS fresh | RSS after wrk c=50 5 s | then VmHWM after MGET of $KEYS keys ×$ROUNDS |"
echo "| --- | --- | ---: | ---: | ---: |"
IFS=';' read -r -a vs <<<"$VARIANTS"
for _ in $(seq "$REPEAT"); do
  for v in "${vs[@]}"; do
    name=${v%%=*} settings=${v#*=}
    # shellcheck disable=SC2086 # settings is a list of NAME=value words
    start_gateway GATEWAY_LOG_LEVEL=warn $settings
    idle=$(kib "$GATEWAY_PID" VmRSS)
    wrk -t2 -c50 -d5s "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k" >/dev/null
    rss=$(kib "$GATEWAY_PID" VmRSS)
    for _ in $(seq "$ROUNDS"); do
      curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary @"$BENCH_DIR/mget.json" \
        "http://127.0.0.1:$GATEWAY_PORT/db/0/command"
    done
    hwm=$(kib "$GATEWAY_PID" VmHWM)
    echo "| $name | ${settings:-(defaults)} | $((idle / 1024)) MB | $((rss / 1024)) MB | $((hwm / 1024)) MB |"
    stop_gateway
  done
done
echo
echo "body $body B; $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
