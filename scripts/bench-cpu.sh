#!/usr/bin/env bash
# CPU per request of the gateway and of Redis, pooled against
# auto_pipeline, and the mean auto-pipeline batch, in one run:
#   wrk -tTHREADS -cCONNS -dDURATION http://127.0.0.1:G/db/0/strings/k
# CPU = utime+stime of the process over the wrk run (from /proc/PID/stat)
# divided by the requests wrk completed (cpu_ticks in bench-lib.sh; the
# same measure as every row of bench-peers.sh). Prints a markdown table.
#
# Usage: scripts/bench-cpu.sh   (env: DURATION=8s THREADS=2 CONNS=50)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

DURATION=${DURATION:-8s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
HZ=$(getconf CLK_TCK)

scripts/deps.sh redis wrk
start_redis

# measure NAME: runs wrk against the running gateway and appends a row.
rows=()
measure() {
  local name=$1 g0 r0 g1 r1 out reqs rps p99 batch
  g0=$(cpu_ticks "$GATEWAY_PID"); r0=$(cpu_ticks "$REDIS_PID")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k")
  g1=$(cpu_ticks "$GATEWAY_PID"); r1=$(cpu_ticks "$REDIS_PID")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  batch=$(curl -fsS "http://127.0.0.1:$GATEWAY_PORT/metrics" | awk '
    /^gateway_autopipeline_batch_commands_sum\{db="0"\}/ {s=$2}
    /^gateway_autopipeline_batch_commands_count\{db="0"\}/ {c=$2}
    END { if (c > 0) printf "%.1f", s/c; else print "n/a" }')
  rows+=("$name|$rps|$p99|$(awk -v d=$((g1-g0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')|$(awk -v d=$((r1-r0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')|$batch")
}

# ABBA order by default: the second gateway of a run measured 6–10 %
# slower whatever it ran (an A/A run, docs/benchmarks.md), so each mode
# runs once early and once late and the ratio is of their means.
ORDER=${ORDER:-pooled auto_pipeline auto_pipeline pooled}
for mode in $ORDER; do
  if [ "$mode" = pooled ]; then start_gateway GATEWAY_AUTO_PIPELINE=false; else start_gateway GATEWAY_AUTO_PIPELINE=true; fi
  curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"value":"xxx"}' "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k" >/dev/null
  measure "gateway, $mode"
  stop_gateway
done

echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency GET /db/0/strings/k; $(nproc) cores, $(date -u +%F)"
echo
echo "| gateway | requests/s | p99 | gateway CPU µs/req | Redis CPU µs/req | mean batch |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
printf '%s\n' "${rows[@]}" | awk -F'|' '
  { n[$1]++; s[$1] += $2 }
  END {
    p = "gateway, pooled"; a = "gateway, auto_pipeline"
    if (n[p] && n[a]) printf "\nmean req/s: pooled %.0f, auto_pipeline %.0f, ratio %.2f\n", s[p]/n[p], s[a]/n[a], (s[a]/n[a])/(s[p]/n[p])
  }'
