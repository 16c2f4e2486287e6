#!/usr/bin/env bash
# HTTP throughput and cost of the gateway next to its peers, in one run, so
# the ratios come from the same machine at the same moment. Targets:
#
#   gateway              GET /db/0/strings/k and /db/7/strings/k, pooled (auto_pipeline=false)
#   gateway, auto_pipeline  the same with GATEWAY_AUTO_PIPELINE=true
#   gateway command      POST /db/0/command {"command":["GET","k"]}
#   gateway pipeline     POST /db/0/pipeline, 10 × ["GET","k"]
#   bare                 bench/cmd/bare: net/http writing a fixed 15-byte body, no Redis
#   naive                bench/cmd/naive: net/http + go-redis + json.NewEncoder
#   floor                bench/cmd/floor: net/http + GET over one shared pipelined Redis
#                        connection, no features (what any net/http gateway can reach here)
#   webdis               GET /GET/k and GET /7/GET/k (webdis, C + libevent, apt package)
#   redis-benchmark      GET and SET against Redis itself, no HTTP
#
# Starts its own redis-server, two gateways (pooled and auto_pipeline),
# bare, naive, floor and webdis on free loopback ports and stops them on exit.
# Every row records wrk's req/s, p50, p99, non-2xx answers and socket
# errors, and the CPU (utime+stime from /proc/PID/stat) the server process
# and redis-server spent over the run divided by the requests completed.
# Gateway rows record the run's mean auto-pipeline batch (sum ÷ count of
# gateway_autopipeline_batch_commands from /metrics, before and after).
# Then a concurrency sweep (c = 1, CONNS, 256, 1000) and the resident
# memory per idle keep-alive connection (bench/cmd/idleconns).
#
# Prints markdown tables and ratios; appends them, with the commands and
# the machine, as a dated section to $DOC (docs/benchmarks.md; DOC= skips).
#
# Usage: scripts/bench-peers.sh
#   env: DURATION=10s THREADS=2 CONNS=50 SWEEP="1 50 256 1000" ROUNDS=3 REQUESTS=200000 IDLE_CONNS=1000 DOC=docs/benchmarks.md
# ROUNDS runs every target at every concurrency that many times, each
# round in the other order, and reports the median of each column (the
# mean of the middle two for an even count): on a shared 2-core machine
# one run of one target can be 15 % off. The paired ratios at CONNS are
# each round's own ratio of two targets measured seconds apart, as
# median and range: the host's slow spells move both sides of a pair.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-50}
SWEEP=${SWEEP:-1 $CONNS 256 1000}
REQUESTS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
IDLE_CONNS=${IDLE_CONNS:-1000}
DOC=${DOC-docs/benchmarks.md}

LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
NOFILE=$(raise_nofile)
# Each connection costs wrk one descriptor and the server one: leave out
# concurrencies the limit cannot hold (say so) rather than fail midway.
fits() { [ $(($1 + 100)) -le "$NOFILE" ]; }
sweep=""
for c in $SWEEP; do
  if fits "$c"; then sweep="$sweep $c"; else echo "bench-peers: open-files limit $NOFILE: c=$c left out" >&2; fi
done
SWEEP=${sweep# }
if ! fits "$IDLE_CONNS"; then
  IDLE_CONNS=$((NOFILE - 100))
  echo "bench-peers: open-files limit $NOFILE: IDLE_CONNS lowered to $IDLE_CONNS" >&2
fi

BARE_PID="" NAIVE_PID="" FLOOR_PID="" WEBDIS_PID="" GW_PID="" GWA_PID=""
peers_cleanup() {
  local pid
  for pid in "$BARE_PID" "$NAIVE_PID" "$FLOOR_PID" "$WEBDIS_PID" "$GW_PID" "$GWA_PID"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  GATEWAY_PID=""
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

scripts/deps.sh redis wrk webdis
(cd bench && CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/bare" ./cmd/bare &&
  CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/naive" ./cmd/naive &&
  CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/floor" ./cmd/floor &&
  CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/idleconns" ./cmd/idleconns)
start_redis
redis-cli -p "$REDIS_PORT" -n 0 set k xxx >/dev/null
redis-cli -p "$REDIS_PORT" -n 7 set k xxx >/dev/null

start_gateway GATEWAY_AUTO_PIPELINE=false
GW_PID=$GATEWAY_PID
gw="http://127.0.0.1:$GATEWAY_PORT"
start_gateway GATEWAY_AUTO_PIPELINE=true
GWA_PID=$GATEWAY_PID
gwa="http://127.0.0.1:$GATEWAY_PORT"
GATEWAY_PID="" # both are stopped by peers_cleanup

BARE_PORT=$(free_port)
"$BENCH_DIR/bare" -addr "127.0.0.1:$BARE_PORT" 2>"$BENCH_DIR/bare.log" &
BARE_PID=$!
NAIVE_PORT=$(free_port)
"$BENCH_DIR/naive" -addr "127.0.0.1:$NAIVE_PORT" -redis "127.0.0.1:$REDIS_PORT" 2>"$BENCH_DIR/naive.log" &
NAIVE_PID=$!
FLOOR_PORT=$(free_port)
"$BENCH_DIR/floor" -addr "127.0.0.1:$FLOOR_PORT" -redis "127.0.0.1:$REDIS_PORT" 2>"$BENCH_DIR/floor.log" &
FLOOR_PID=$!

# webdis: its own config, 2 HTTP threads (one per core here, as Debian's
# shipped config has), pool_size left at its default, no daemon, errors-only
# log. It is one process with threads, so /proc/PID/stat covers all of it.
WEBDIS_PORT=$(free_port)
cat >"$BENCH_DIR/webdis.json" <<EOF
{
  "redis_host": "127.0.0.1",
  "redis_port": $REDIS_PORT,
  "redis_auth": null,
  "http_host": "127.0.0.1",
  "http_port": $WEBDIS_PORT,
  "threads": 2,
  "daemonize": false,
  "database": 0,
  "verbosity": 0,
  "logfile": "$BENCH_DIR/webdis.log"
}
EOF
bare="http://127.0.0.1:$BARE_PORT"
naive="http://127.0.0.1:$NAIVE_PORT"
floor="http://127.0.0.1:$FLOOR_PORT"
wd="http://127.0.0.1:$WEBDIS_PORT"
wait_for curl -fsS "$bare/db/0/strings/k"
wait_for curl -fsS "$naive/db/0/strings/k"
wait_for curl -fsS "$floor/db/0/strings/k"
# webdis's Redis connections: the clients Redis has after webdis served a
# request, less those it had before webdis started.
clients() { redis-cli -p "$REDIS_PORT" info clients | awk -F: '/^connected_clients/ {print $2 + 0}'; }
clients0=$(clients)
webdis "$BENCH_DIR/webdis.json" >"$BENCH_DIR/webdis.out" 2>&1 &
WEBDIS_PID=$!
wait_for curl -fsS "$wd/GET/k"
sleep 0.5
webdis_conns=$(($(clients) - clients0))

# Every target must answer what the table says it answers before it is
# measured (bodies as curl sees them; naive's encoder adds a newline).
check() {
  local got
  got=$(curl -fsS "${@:2}")
  if [ "$got" != "$1" ]; then
    echo "bench-peers: ${*:2} answered $got, want $1" >&2
    exit 1
  fi
}
pipe_body='{"commands":[["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"],["GET","k"]]}'
pipe_want='{"results":[{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"},{"result":"xxx"}]}'
for base in "$gw" "$gwa"; do
  check '{"value":"xxx"}' "$base/db/0/strings/k"
  check '{"value":"xxx"}' "$base/db/7/strings/k"
  check '{"result":"xxx"}' -H 'Content-Type: application/json' -d '{"command":["GET","k"]}' "$base/db/0/command"
  check "$pipe_want" -H 'Content-Type: application/json' -d "$pipe_body" "$base/db/0/pipeline"
done
check '{"value":"xxx"}' "$bare/db/0/strings/k"
check '{"value":"xxx"}' "$naive/db/0/strings/k"
check '{"value":"xxx"}' "$floor/db/0/strings/k"
check '{"GET":"xxx"}' "$wd/GET/k"
check '{"GET":"xxx"}' "$wd/7/GET/k"

# run_rb TEST: redis-benchmark for one test (get or set; 3-byte values on
# the literal key key:__rand_int__), with Redis CPU per request.
run_rb() {
  local test=$1 hz r0 r1 out rps p50 p99 red
  hz=$(getconf CLK_TCK)
  redis-cli -p "$REDIS_PORT" set 'key:__rand_int__' xxx >/dev/null
  r0=$(cpu_ticks "$REDIS_PID")
  out=$(redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$REQUESTS" -t "$test" --csv)
  r1=$(cpu_ticks "$REDIS_PID")
  echo "$out" >&2
  IFS=, read -r _ rps _ _ p50 _ p99 _ < <(tail -1 <<<"$out")
  red=$(awk -v d=$((r1 - r0)) -v n="$REQUESTS" -v hz="$hz" 'BEGIN { printf "%.2f", d / hz / n * 1e6 }')
  measured+=("redis-benchmark ${test^^}|$CONNS|$(printf '%.0f' "${rps//\"/}")|${p50//\"/}ms|${p99//\"/}ms|—|—|—|$red|—")
}

# The main table at c=CONNS: one measure_wrk call per line of main_targets
# (NAME, PID variable, metrics URL or -, then wrk's arguments), and the
# sweep at other concurrencies over sweep_targets (GET on both gateways,
# bare, floor and webdis, and the command and pipeline endpoints on both
# gateways). Each round runs the list in the other direction than the last,
# so that no target always runs early or late in a round.
# The default gateway's GET runs next to the peers it is compared with
# (bare, webdis and floor; db 7 next to webdis's /7/), so that the paired
# ratios pair runs seconds apart.
main_targets=(
  "gateway, auto_pipeline, GET /db/0/strings/k|GWA_PID|$gwa/metrics|$gwa/db/0/strings/k"
  "bare (net/http, fixed body)|BARE_PID|-|$bare/db/0/strings/k"
  "webdis GET /GET/k|WEBDIS_PID|-|$wd/GET/k"
  "floor (net/http + one pipelined Redis connection, no features)|FLOOR_PID|-|$floor/db/0/strings/k"
  "gateway, auto_pipeline, GET /db/7/strings/k|GWA_PID|$gwa/metrics|$gwa/db/7/strings/k"
  "webdis GET /7/GET/k|WEBDIS_PID|-|$wd/7/GET/k"
  "gateway GET /db/0/strings/k|GW_PID|$gw/metrics|$gw/db/0/strings/k"
  "gateway GET /db/7/strings/k|GW_PID|$gw/metrics|$gw/db/7/strings/k"
  "gateway POST /db/0/command GET|GW_PID|$gw/metrics|-s scripts/wrk-command-get.lua $gw/db/0/command"
  "gateway, auto_pipeline, POST /db/0/command GET|GWA_PID|$gwa/metrics|-s scripts/wrk-command-get.lua $gwa/db/0/command"
  "gateway POST /db/0/pipeline 10×GET|GW_PID|$gw/metrics|-s scripts/wrk-pipeline10.lua $gw/db/0/pipeline"
  "gateway, auto_pipeline, POST /db/0/pipeline 10×GET|GWA_PID|$gwa/metrics|-s scripts/wrk-pipeline10.lua $gwa/db/0/pipeline"
  "naive (net/http + go-redis + encoding/json)|NAIVE_PID|-|$naive/db/0/strings/k"
)
sweep_targets=()
for t in "${main_targets[@]}"; do
  case $t in
  *"/db/7/"* | naive* | "webdis GET /7/"*) ;;
  *) sweep_targets+=("$t") ;;
  esac
done
round=0
# run_targets C TARGET...: one measure_wrk per target at C connections, in
# the order given or (every other round) reversed.
run_targets() {
  local c=$1 i name pidvar metrics args
  shift
  local ts=("$@")
  round=$((round + 1))
  for ((i = 0; i < ${#ts[@]}; i++)); do
    local t=${ts[i]}
    [ $((round % 2)) = 0 ] && t=${ts[${#ts[@]} - 1 - i]}
    IFS='|' read -r name pidvar metrics args <<<"$t"
    # shellcheck disable=SC2086 # args is wrk's word list
    measure_wrk "$name" "${!pidvar}" "$metrics" "$c" $args
  done
}

# Resident memory per idle keep-alive connection, measured first, while the
# servers are fresh (after the load their heaps have room to spare and the
# connections would fit in memory already counted): idleconns opens
# IDLE_CONNS connections, one GET on each, and reads VmRSS before and after.
idle=()
idle_row() {
  local out
  out=$("$BENCH_DIR/idleconns" -pid "$2" -url "$3" -n "$IDLE_CONNS") || out="failed"
  echo "== idle $1: $out" >&2
  idle+=("| $1 | $(awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["rss_before_kib"] " | " v["rss_after_kib"] " | " v["per_conn_kib"] }' <<<"$out") |")
}
idle_row "gateway, pooled" "$GW_PID" "$gw/db/0/strings/k"
idle_row "gateway, auto_pipeline" "$GWA_PID" "$gwa/db/0/strings/k"
idle_row "bare" "$BARE_PID" "$bare/db/0/strings/k"
idle_row "webdis" "$WEBDIS_PID" "$wd/GET/k"

for _ in $(seq "$ROUNDS"); do
  run_targets "$CONNS" "${main_targets[@]}"
done
run_rb get
run_rb set
for c in $SWEEP; do
  [ "$c" = "$CONNS" ] && continue
  for _ in $(seq "$ROUNDS"); do
    run_targets "$c" "${sweep_targets[@]}"
  done
done
# One row per target and concurrency: the median of the rounds (the
# rounds' own rows stay in raw, for the paired ratios).
raw=("${measured[@]}")
mapfile -t measured < <(median_rows "${measured[@]}")

# f NAME C FIELD and ratio LABEL A B for the ratio tables.
f() { measured_field "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# pr A B C FIELD: the paired ratio of A to B over the rounds (paired_ratio).
pr() { paired_ratio "$@" "${raw[@]}"; }
G="gateway GET /db/0/strings/k"
G7="gateway GET /db/7/strings/k"
A="gateway, auto_pipeline, GET /db/0/strings/k"
A7="gateway, auto_pipeline, GET /db/7/strings/k"
B="bare (net/http, fixed body)"
F="floor (net/http + one pipelined Redis connection, no features)"
W="webdis GET /GET/k"
W7="webdis GET /7/GET/k"
GC="gateway POST /db/0/command GET"
AC="gateway, auto_pipeline, POST /db/0/command GET"
GP="gateway POST /db/0/pipeline 10×GET"
AP="gateway, auto_pipeline, POST /db/0/pipeline 10×GET"

report() {
  local c
  echo "Command: \`DURATION=$DURATION THREADS=$THREADS CONNS=$CONNS SWEEP=\"$SWEEP\" ROUNDS=$ROUNDS REQUESTS=$REQUESTS IDLE_CONNS=$IDLE_CONNS make bench-peers\` (= scripts/bench-peers.sh: wrk -t$THREADS -cC -d$DURATION --latency, -t1 at c=1; redis-benchmark -c $CONNS -n $REQUESTS -t get / -t set --csv)"
  echo
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+changes'), $(nproc) cores, load average before the run $LOAD0, $(go version | awk '{print $3}'), redis $(redis-server --version | awk '{print $3}' | sed 's/^v=//'), webdis $(dpkg-query -W -f '${Version}' webdis 2>/dev/null || echo '?') (2 threads, pool_size at its default: $webdis_conns Redis connections opened), wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), open files $NOFILE."
  echo
  echo "Replies: gateway GET \`{\"value\":\"xxx\"}\` (15 B); bare the same fixed 15 B; naive the same plus a newline; floor the same 15 B; webdis \`{\"GET\":\"xxx\"}\` (13 B); gateway /command \`{\"result\":\"xxx\"}\`; gateway /pipeline \`{\"results\":[{\"result\":\"xxx\"} ×10]}\` (10 GETs per request: its req/s are HTTP requests, its CPU per request covers 10 commands). CPU columns: µs of utime+stime per completed request, server process (all threads) and redis-server."
  echo
  echo "#### c = $CONNS"
  echo
  print_measured | awk -v c="$CONNS" -F' \\| ' 'NR <= 2 || $2 == c'
  echo
  echo "#### Ratios at c = $CONNS"
  echo
  echo "| ratio | pooled | auto_pipeline |"
  echo "| --- | ---: | ---: |"
  c=$CONNS
  echo "| gateway / bare, req/s | $(ratio "$(f "$G" $c 3)" "$(f "$B" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$B" $c 3)") |"
  echo "| gateway / floor, req/s | $(ratio "$(f "$G" $c 3)" "$(f "$F" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$F" $c 3)") |"
  echo "| gateway / webdis, req/s | $(ratio "$(f "$G" $c 3)" "$(f "$W" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$W" $c 3)") |"
  echo "| gateway db 7 / db 0, req/s | $(ratio "$(f "$G7" $c 3)" "$(f "$G" $c 3)") | $(ratio "$(f "$A7" $c 3)" "$(f "$A" $c 3)") |"
  echo "| gateway db 7 / webdis /7/, req/s | $(ratio "$(f "$G7" $c 3)" "$(f "$W7" $c 3)") | $(ratio "$(f "$A7" $c 3)" "$(f "$W7" $c 3)") |"
  echo "| gateway / bare, server CPU per request | $(ratio "$(f "$G" $c 8)" "$(f "$B" $c 8)") | $(ratio "$(f "$A" $c 8)" "$(f "$B" $c 8)") |"
  echo "| gateway / floor, server CPU per request | $(ratio "$(f "$G" $c 8)" "$(f "$F" $c 8)") | $(ratio "$(f "$A" $c 8)" "$(f "$F" $c 8)") |"
  echo "| gateway / webdis, server CPU per request | $(ratio "$(f "$G" $c 8)" "$(f "$W" $c 8)") | $(ratio "$(f "$A" $c 8)" "$(f "$W" $c 8)") |"
  echo "| Redis CPU per GET, µs (webdis: $(f "$W" $c 9)) | $(f "$G" $c 9) | $(f "$A" $c 9) |"
  echo
  echo "#### Paired ratios at c = $CONNS (each round's own ratio: median, least–most)"
  echo
  echo "| ratio | pooled | auto_pipeline |"
  echo "| --- | ---: | ---: |"
  echo "| gateway / bare, req/s | $(pr "$G" "$B" $c 3) | $(pr "$A" "$B" $c 3) |"
  echo "| gateway / floor, req/s | $(pr "$G" "$F" $c 3) | $(pr "$A" "$F" $c 3) |"
  echo "| gateway / webdis, req/s | $(pr "$G" "$W" $c 3) | $(pr "$A" "$W" $c 3) |"
  echo "| gateway db 7 / db 0, req/s | $(pr "$G7" "$G" $c 3) | $(pr "$A7" "$A" $c 3) |"
  echo "| gateway db 7 / webdis /7/, req/s | $(pr "$G7" "$W7" $c 3) | $(pr "$A7" "$W7" $c 3) |"
  echo "| gateway / bare, server CPU per request | $(pr "$G" "$B" $c 8) | $(pr "$A" "$B" $c 8) |"
  echo "| gateway / floor, server CPU per request | $(pr "$G" "$F" $c 8) | $(pr "$A" "$F" $c 8) |"
  echo
  echo "floor / bare in the same rounds: req/s $(pr "$F" "$B" $c 3), server CPU per request $(pr "$F" "$B" $c 8)."
  echo
  echo "#### Concurrency sweep"
  echo
  print_measured | awk -v c="$CONNS" -F' \\| ' 'NR <= 2 || $2 != c' | grep -v 'redis-benchmark' || true
  echo
  echo "| c | gateway / bare | auto_pipeline / bare | gateway / webdis | auto_pipeline / webdis | auto_pipeline / pooled: GET | /command | /pipeline | auto_pipeline / pooled, server CPU per GET | auto_pipeline / floor | auto_pipeline / bare, server CPU per GET | auto_pipeline / floor, server CPU per GET |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for c in $SWEEP; do
    echo "| $c | $(ratio "$(f "$G" $c 3)" "$(f "$B" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$B" $c 3)") | $(ratio "$(f "$G" $c 3)" "$(f "$W" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$W" $c 3)") | $(ratio "$(f "$A" $c 3)" "$(f "$G" $c 3)") | $(ratio "$(f "$AC" $c 3)" "$(f "$GC" $c 3)") | $(ratio "$(f "$AP" $c 3)" "$(f "$GP" $c 3)") | $(ratio "$(f "$A" $c 8)" "$(f "$G" $c 8)") | $(ratio "$(f "$A" $c 3)" "$(f "$F" $c 3)") | $(ratio "$(f "$A" $c 8)" "$(f "$B" $c 8)") | $(ratio "$(f "$A" $c 8)" "$(f "$F" $c 8)") |"
  done
  echo
  echo "#### Memory per idle keep-alive connection ($IDLE_CONNS connections, one GET each, VmRSS 2 s later; fresh servers, before the load)"
  echo
  echo "| server | RSS before KiB | RSS after KiB | KiB per connection |"
  echo "| --- | ---: | ---: | ---: |"
  printf '%s\n' "${idle[@]}"
}


out=$(report)
echo
echo "$out"
if [ -n "$DOC" ]; then
  {
    echo
    echo "### Run $(date -u "+%Y-%m-%d %H:%M UTC") (make bench-peers)"
    echo
    echo "$out"
  } >>"$DOC"
  echo >&2
  echo "bench-peers: appended the tables to $DOC" >&2
fi
