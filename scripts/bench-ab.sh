#!/usr/bin/env bash
# Two gateway builds side by side over one redis-server, in ABBA order
# repeated ROUNDS times, in their default configuration (log level info,
# access log to a file): GET /db/0/strings/k with
#   wrk -tTHREADS -cCONNS -dDURATION --latency
# Per run: req/s, p99, gateway CPU µs per request (utime+stime from
# /proc/PID/stat over the run ÷ requests, as bench-peers.sh), Redis CPU µs
# per request. Prints the rows and the ratios B/A of the means.
#
# A is BASE (a git revision, default main) built from `git archive`; B is
# this working tree. A_BIN / B_BIN use prebuilt binaries instead. Each
# round also measures bench/cmd/bare (net/http writing the same 15-byte
# body, no Redis) between its two B runs, for the gateway / bare ratios.
#
# Usage: scripts/bench-ab.sh   (env: BASE=main ROUNDS=2 DURATION=5s THREADS=2 CONNS=50 A_BIN= B_BIN=)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

BASE=${BASE:-main}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
HZ=$(getconf CLK_TCK)

scripts/deps.sh redis wrk
A_BIN=${A_BIN:-}
B_BIN=${B_BIN:-}
A_NAME=${A_BIN:-$BASE}
B_NAME=${B_BIN:-working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+changes'))}
if [ -z "$A_BIN" ]; then
  mkdir -p "$BENCH_DIR/base"
  git archive "$BASE" | tar -x -C "$BENCH_DIR/base"
  (cd "$BENCH_DIR/base" && CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/gateway-a" ./cmd/gateway)
  A_BIN=$BENCH_DIR/gateway-a
fi
if [ -z "$B_BIN" ]; then
  CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/gateway-b" ./cmd/gateway
  B_BIN=$BENCH_DIR/gateway-b
fi
(cd bench && CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/bare" ./cmd/bare)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
start_redis
redis-cli -p "$REDIS_PORT" set k xxx >/dev/null

rows=()
measure() {
  local name=$1 g0 r0 g1 r1 out reqs rps p99
  g0=$(cpu_ticks "$GATEWAY_PID"); r0=$(cpu_ticks "$REDIS_PID")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k")
  g1=$(cpu_ticks "$GATEWAY_PID"); r1=$(cpu_ticks "$REDIS_PID")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "bench-ab: $name: errors during the run" >&2
    echo "$out" >&2
    exit 1
  fi
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  rows+=("$name|$rps|$p99|$(awk -v d=$((g1 - g0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')|$(awk -v d=$((r1 - r0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')")
}

for _ in $(seq "$ROUNDS"); do
  for which in A B bare B A; do
    case $which in
    A) GATEWAY_BIN=$A_BIN start_gateway ;;
    B) GATEWAY_BIN=$B_BIN start_gateway ;;
    bare)
      GATEWAY_PORT=$(free_port)
      "$BENCH_DIR/bare" -addr "127.0.0.1:$GATEWAY_PORT" 2>>"$BENCH_DIR/bare.log" &
      GATEWAY_PID=$!
      wait_for curl -fsS "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k"
      ;;
    esac
    measure "$which"
    stop_gateway
  done
done

echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency GET /db/0/strings/k; A = $A_NAME, B = $B_NAME; default configuration (log level info, access log to a file); $(nproc) cores, load average before $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %H:%M UTC')"
echo
echo "| server | req/s | p99 | server CPU µs/req | Redis CPU µs/req |"
echo "| --- | ---: | ---: | ---: | ---: |"
for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
printf '%s\n' "${rows[@]}" | awk -F'|' '
  { n[$1]++; s[$1] += $2; c[$1] += $4 }
  END {
    printf "\nmean req/s: A %.0f, B %.0f, bare %.0f; B/A %.2f; A/bare %.2f, B/bare %.2f\n",
      s["A"]/n["A"], s["B"]/n["B"], s["bare"]/n["bare"], (s["B"]/n["B"])/(s["A"]/n["A"]), (s["A"]/n["A"])/(s["bare"]/n["bare"]), (s["B"]/n["B"])/(s["bare"]/n["bare"])
    printf "mean server CPU µs/req: A %.1f, B %.1f, bare %.1f; B/A %.2f; A/bare %.2f, B/bare %.2f\n",
      c["A"]/n["A"], c["B"]/n["B"], c["bare"]/n["bare"], (c["B"]/n["B"])/(c["A"]/n["A"]), (c["A"]/n["A"])/(c["bare"]/n["bare"]), (c["B"]/n["B"])/(c["bare"]/n["bare"])
  }'
