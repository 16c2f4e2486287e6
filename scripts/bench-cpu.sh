#!/usr/bin/env bash
# CPU per request of the gateway and of Redis for two gateway variants
# (by default the pooled path against adaptive auto-pipelining), and the
# auto-pipeline batches, in one run over one redis-server:
#   wrk -tTHREADS -cC -dDURATION --latency http://127.0.0.1:G/db/0/strings/k
# for each C in SWEEP (-t1 at C = 1). CPU = utime+stime of the process over
# the wrk run (from /proc/PID/stat) divided by the requests wrk completed
# (cpu_ticks in bench-lib.sh; the same measure as every row of
# bench-peers.sh). "mean batch" is commands per auto-pipelined write,
# "shared" the fraction of the run's requests whose command took the
# shared connections (batched commands ÷ requests). Prints a markdown
# table per C and the ratio of the means, B / A.
#
# Usage: scripts/bench-cpu.sh
#   env: DURATION=8s THREADS=2 SWEEP=50 (or CONNS=50)
#        A_NAME=pooled        A_ENV="GATEWAY_AUTO_PIPELINE=false"  A_BIN=<built from the tree>
#        B_NAME=auto_pipeline B_ENV="GATEWAY_AUTO_PIPELINE=true"   B_BIN=<built from the tree>
#        ORDER="A B B A"   (ABBA: each variant once early and once late)
#        REPEAT=1          (the ORDER, this many times per C)
# A_ENV/B_ENV are space-separated NAME=value settings for that variant's
# gateway; A_BIN/B_BIN run another gateway binary (say, one built from
# main) so that two builds compare within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

DURATION=${DURATION:-8s}
THREADS=${THREADS:-2}
SWEEP=${SWEEP:-${CONNS:-50}}
A_NAME=${A_NAME:-pooled}
B_NAME=${B_NAME:-auto_pipeline}
A_ENV=${A_ENV-GATEWAY_AUTO_PIPELINE=false}
B_ENV=${B_ENV-GATEWAY_AUTO_PIPELINE=true}
A_BIN=${A_BIN:-}
B_BIN=${B_BIN:-}
# ABBA order by default: the second gateway of a run measured 6–10 %
# slower whatever it ran (an A/A run, docs/benchmarks.md), so each variant
# runs once early and once late and the ratio is of their means.
ORDER=${ORDER:-A B B A}
REPEAT=${REPEAT:-1}
HZ=$(getconf CLK_TCK)

scripts/deps.sh redis wrk
raise_nofile >/dev/null
start_redis
CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/gateway" ./cmd/gateway

# run_variant V: starts variant V's gateway (sets GATEWAY_PORT, GATEWAY_PID).
run_variant() {
  local bin env
  if [ "$1" = A ]; then bin=${A_BIN:-$BENCH_DIR/gateway} env=$A_ENV; else bin=${B_BIN:-$BENCH_DIR/gateway} env=$B_ENV; fi
  GATEWAY_PORT=$(free_port)
  # shellcheck disable=SC2086 # env is a list of NAME=value words
  env GATEWAY_ADDR="127.0.0.1:$GATEWAY_PORT" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    GATEWAY_LOG_LEVEL=warn $env "$bin" >"$BENCH_DIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  wait_for curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz"
}

# measure NAME C: runs wrk against the running gateway and appends a row.
rows=()
measure() {
  local name=$1 conns=$2 threads=$THREADS g0 r0 g1 r1 b0 b1 out reqs rps p99
  [ "$conns" -lt "$threads" ] && threads=$conns
  settle
  b0=$(batch_totals "http://127.0.0.1:$GATEWAY_PORT/metrics")
  g0=$(cpu_ticks "$GATEWAY_PID"); r0=$(cpu_ticks "$REDIS_PID")
  out=$(wrk -t"$threads" -c"$conns" -d"$DURATION" --latency "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k")
  g1=$(cpu_ticks "$GATEWAY_PID"); r1=$(cpu_ticks "$REDIS_PID")
  b1=$(batch_totals "http://127.0.0.1:$GATEWAY_PORT/metrics")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "bench-cpu: $name c=$conns: errors during the run" >&2
    echo "$out" >&2
  fi
  reqs=$(awk '/ requests in / {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  rows+=("$name|$conns|$rps|$p99|$(awk -v d=$((g1 - g0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')|$(awk -v d=$((r1 - r0)) -v n="$reqs" -v hz="$HZ" 'BEGIN{printf "%.1f", d/hz/n*1e6}')|$(awk -v a="$b0" -v b="$b1" -v n="$reqs" 'BEGIN {
    split(a, x, " "); split(b, y, " "); c = y[2] - x[2]; s = y[1] - x[1]
    if (c > 0) printf "%.1f|%.2f", s / c, s / n; else printf "—|0.00" }')")
}

echo "bench-cpu: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for c in $SWEEP; do
  for _ in $(seq "$REPEAT"); do
    for v in $ORDER; do
      run_variant "$v"
      curl -fsS -X PUT -H 'Content-Type: application/json' -d '{"value":"xxx"}' "http://127.0.0.1:$GATEWAY_PORT/db/0/strings/k" >/dev/null
      if [ "$v" = A ]; then measure "$A_NAME" "$c"; else measure "$B_NAME" "$c"; fi
      stop_gateway
    done
  done
done

echo "wrk -t$THREADS -cC -d$DURATION --latency GET /db/0/strings/k (-t1 at c=1); $(nproc) cores, $(date -u '+%F %H:%M') UTC, load average after the run $(cut -d' ' -f1-3 /proc/loadavg)"
echo "A = $A_NAME: ${A_BIN:-this tree} $A_ENV; B = $B_NAME: ${B_BIN:-this tree} $B_ENV"
echo
echo "| gateway | c | requests/s | p99 | gateway CPU µs/req | Redis CPU µs/req | mean batch | shared |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
echo
echo "| c | $A_NAME req/s | $B_NAME req/s | B / A req/s | gateway µs/req A → B | Redis µs/req A → B |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}" | awk -F'|' -v a="$A_NAME" -v b="$B_NAME" '
  !($2 in seen) { seen[$2] = 1; order[++k] = $2 }
  { n[$1, $2]++; s[$1, $2] += $3; g[$1, $2] += $5; r[$1, $2] += $6 }
  END {
    for (i = 1; i <= k; i++) {
      c = order[i]
      if (!n[a, c] || !n[b, c]) continue
      printf "| %s | %.0f | %.0f | %.2f | %.1f → %.1f | %.1f → %.1f |\n", c,
        s[a, c] / n[a, c], s[b, c] / n[b, c], (s[b, c] / n[b, c]) / (s[a, c] / n[a, c]),
        g[a, c] / n[a, c], g[b, c] / n[b, c], r[a, c] / n[a, c], r[b, c] / n[b, c]
    }
  }'
