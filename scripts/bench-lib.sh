# Shared by bench-http.sh and bench-sse.sh (sourced, not run): builds the
# gateway, starts a private redis-server and the gateway on free loopback
# ports, and stops both on exit. Never uses port 6379.
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"

BENCH_DIR=$(mktemp -d)
REDIS_PID=""
GATEWAY_PID=""

bench_cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  rm -rf "$BENCH_DIR"
}
trap bench_cleanup EXIT

# free_port prints a TCP port nothing listens on (asks the kernel for one).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# wait_for runs "$@" until it succeeds, for at most 10 s.
wait_for() {
  for _ in $(seq 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: timed out waiting for: $*" >&2
  return 1
}

# start_redis sets REDIS_PORT and REDIS_PID.
start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$BENCH_DIR" --daemonize yes --pidfile "$BENCH_DIR/redis.pid" \
    --logfile "$BENCH_DIR/redis.log" >/dev/null
  wait_for redis-cli -p "$REDIS_PORT" ping
  REDIS_PID=$(cat "$BENCH_DIR/redis.pid")
}

# start_gateway builds the gateway (once) and starts it against the private Redis;
# it sets GATEWAY_PORT and GATEWAY_PID. Extra environment may be passed as
# NAME=value arguments. The gateway runs in its default configuration, as
# users run it: log level info, so one access-log line per request, written
# to a file ($BENCH_DIR/gateway.log). GATEWAY_BIN runs another binary
# instead of building this tree's (scripts/bench-ab.sh).
start_gateway() {
  local bin=${GATEWAY_BIN:-$BENCH_DIR/gateway}
  [ -x "$bin" ] || (cd "$(dirname "${BASH_SOURCE[0]}")/.." && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/gateway)
  GATEWAY_PORT=$(free_port)
  env GATEWAY_ADDR="127.0.0.1:$GATEWAY_PORT" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    "$@" "$bin" >>"$BENCH_DIR/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  wait_for curl -fsS "http://127.0.0.1:$GATEWAY_PORT/readyz"
}

# stop_gateway stops the gateway started by start_gateway.
stop_gateway() {
  if [ -n "$GATEWAY_PID" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
  fi
}

# rows collects "name|req/s|p50|p99" for print_rows.
rows=()

# run_wrk NAME ARGS...: one wrk run (wrk -t$THREADS -c$CONNS -d$DURATION
# --latency ARGS); appends "name|req/s|p50|p99" to rows, and fails the
# script on non-2xx answers or socket errors.
run_wrk() {
  local name=$1 out rps p50 p99
  shift
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@")
  echo "$out" >&2
  if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then
    echo "bench: $name: errors during the run" >&2
    exit 1
  fi
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  rows+=("$name|$rps|$p50|$p99")
}

# print_rows prints rows as a markdown table.
print_rows() {
  local r name rps p50 p99
  echo "| target | requests/s | p50 | p99 |"
  echo "| --- | ---: | ---: | ---: |"
  for r in "${rows[@]}"; do
    IFS='|' read -r name rps p50 p99 <<<"$r"
    echo "| $name | $rps | $p50 | $p99 |"
  done
}

# raise_nofile raises the open-files limit to 65536, or to the hard limit
# when that is refused, so wrk at -c1000 and the servers it loads do not
# run out of file descriptors; prints the limit in effect.
raise_nofile() {
  local hard
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && hard=65536
  [ "$hard" -gt 65536 ] && hard=65536
  ulimit -n 65536 2>/dev/null || ulimit -n "$hard" 2>/dev/null || true
  ulimit -n
}

# cpu_ticks PID: CPU time of the process in clock ticks: utime+stime of all
# its threads plus cutime+cstime of children it has reaped (fields 14–17 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() {
  local s
  s=$(cat "/proc/$1/stat") || return 1
  s=${s##*) }
  awk '{print $12 + $13 + $14 + $15}' <<<"$s"
}

# batch_totals URL: "sum count" of gateway_autopipeline_batch_commands over
# every database, from the gateway's /metrics at URL ("0 0" when absent).
batch_totals() {
  curl -fsS "$1" 2>/dev/null | awk '
    /^gateway_autopipeline_batch_commands_sum/ {s += $NF}
    /^gateway_autopipeline_batch_commands_count/ {c += $NF}
    END { printf "%d %d\n", s, c }'
}

# settle waits, up to SETTLE_MAX seconds (default 5; 0: no wait), until the
# machine's CPUs were at least 90 % idle over a quarter of a second: the
# server measured before may still be closing a thousand connections or
# collecting garbage, and on two shared cores that would land in the next
# target's numbers (docs/benchmarks.md, "A settled machine between
# targets").
settle() {
  local max=${SETTLE_MAX:-5} t=0 a b
  [ "$max" -gt 0 ] || return 0
  while [ "$t" -lt $((max * 4)) ]; do
    a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6; exit}' /proc/stat)
    sleep 0.25
    b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6; exit}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
      busy = y[1] - x[1]; idle = y[2] - x[2]; exit !(busy + idle > 0 && busy / (busy + idle) <= 0.10) }' && return 0
    t=$((t + 1))
  done
  echo "bench: the machine did not settle within ${max}s; measuring anyway" >&2
}

# measured collects one "|"-separated row per measure_wrk run for
# print_measured: name|c|req/s|p50|p99|non-2xx|socket errors|server
# µs/req|Redis µs/req|mean batch.
measured=()

# measure_wrk NAME SERVER_PID METRICS_URL CONNS WRK_ARGS...: one run of
#   wrk -t$THREADS -c$CONNS -d$DURATION --latency WRK_ARGS
# (-t1 when CONNS is 1) that records, besides wrk's numbers, the CPU that
# SERVER_PID and REDIS_PID spent during the run divided by the requests wrk
# completed, and (METRICS_URL not "-") the mean auto-pipeline batch of the
# run from the gateway's /metrics. It settles first (settle). Non-2xx
# answers and socket errors are counted, not fatal: the table shows them.
measure_wrk() {
  local name=$1 pid=$2 metrics=$3 conns=$4 threads=$THREADS
  shift 4
  [ "$conns" -lt "$threads" ] && threads=$conns
  local hz s0 r0 s1 r1 b0 b1 out reqs rps p50 p99 non2xx sockerr srv red batch
  hz=$(getconf CLK_TCK)
  settle
  b0="0 0"; [ "$metrics" != - ] && b0=$(batch_totals "$metrics")
  s0=$(cpu_ticks "$pid"); r0=$(cpu_ticks "$REDIS_PID")
  out=$(wrk -t"$threads" -c"$conns" -d"$DURATION" --latency "$@")
  s1=$(cpu_ticks "$pid"); r1=$(cpu_ticks "$REDIS_PID")
  b1="0 0"; [ "$metrics" != - ] && b1=$(batch_totals "$metrics")
  echo "== $name, c=$conns" >&2
  echo "$out" >&2
  reqs=$(awk '/ requests in / {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
  sockerr=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' <<<"$out")
  srv=$(awk -v d=$((s1 - s0)) -v n="${reqs:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.1f", d / hz / n * 1e6; else print "n/a" }')
  red=$(awk -v d=$((r1 - r0)) -v n="${reqs:-0}" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.2f", d / hz / n * 1e6; else print "n/a" }')
  batch=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); c = y[2] - x[2];
    if (c > 0) printf "%.1f", (y[1] - x[1]) / c; else print "—" }')
  measured+=("$name|$conns|${rps:-0}|${p50:-n/a}|${p99:-n/a}|${non2xx:-0}|${sockerr:-0}|$srv|$red|$batch")
}

# print_measured [FILTER]: the rows of measure_wrk whose name starts with
# FILTER (all without one) as a markdown table.
print_measured() {
  local r
  echo "| target | c | req/s | p50 | p99 | non-2xx | socket errors | server CPU µs/req | Redis CPU µs/req | mean batch |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
  for r in "${measured[@]}"; do
    [[ $r == "${1:-}"* ]] || continue
    echo "| ${r//|/ | } |"
  done
}

# measured_field NAME C FIELD: field FIELD (3 = req/s, 5 = p99, 8 = server
# CPU, 9 = Redis CPU) of the measure_wrk row named exactly NAME at CONNS C.
measured_field() {
  local r f
  for r in "${measured[@]}"; do
    IFS='|' read -r -a f <<<"$r"
    if [ "${f[0]}" = "$1" ] && [ "${f[1]}" = "$2" ]; then
      echo "${f[$(($3 - 1))]}"
      return
    fi
  done
}

# awk_median is an awk function for the programs below: median(list) of a
# space-separated list of numbers (the mean of the middle two for an even
# count; "" for none).
awk_median='
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " ")
      if (n == 0) return ""
      for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }'

# paired_ratio A B C FIELD ROW...: over the rounds, the ratio of field
# FIELD (3 = req/s, 8 = server CPU) of target A to that of target B at
# concurrency C, the k-th A row of ROWs with the k-th B row (one round's
# pair), as "median (least–most)" ("n/a" without a pair). Two targets of
# one round run seconds apart, so a slow spell of the host, which lasts
# tens of seconds here, moves both; a ratio of two medians may pair
# numbers from different rounds.
paired_ratio() {
  local a=$1 b=$2 c=$3 field=$4
  shift 4
  printf '%s\n' "$@" | awk -F'|' -v a="$a" -v b="$b" -v c="$c" -v f="$field" "$awk_median"'
    $2 == c && $1 == a { x[++na] = $f }
    $2 == c && $1 == b { y[++nb] = $f }
    END {
      for (i = 1; i <= na && i <= nb; i++) {
        if (x[i] + 0 <= 0 || y[i] + 0 <= 0) continue
        r = x[i] / y[i]; list = list " " r; m++
        if (m == 1 || r < lo) lo = r
        if (m == 1 || r > hi) hi = r
      }
      if (m == 0) { print "n/a"; exit }
      if (m == 1) printf "%.2f\n", r
      else printf "%.2f (%.2f–%.2f)\n", median(list), lo, hi
    }'
}

# median_rows ROW...: the measure_wrk rows collapsed to one per target and
# concurrency (the first two fields), in the order each first appears: the
# median of req/s, p50, p99 and the CPU and batch columns (the mean of the
# middle two for an even count; latencies in wrk's units), non-2xx answers
# summed, socket errors listed. A target measured once keeps its row.
median_rows() {
  printf '%s\n' "$@" | awk -F'|' "$awk_median"'
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return ""
    }
    {
      k = $1 "|" $2
      if (!(k in n)) { order[++keys] = k }
      n[k]++; row[k] = $0
      for (f = 3; f <= 10; f++) {
        v = $f
        if (f == 4 || f == 5) v = ms(v)
        if (f == 6) { sum[k] += v; continue }
        if (f == 7) { if (v != "0" && v != "") err[k] = err[k] (err[k] == "" ? "" : "; ") v; continue }
        if (v == "" || v == "n/a" || v == "—") { dash[k, f] = $f; continue }
        vals[k, f] = vals[k, f] " " v
      }
    }
    END {
      for (i = 1; i <= keys; i++) {
        k = order[i]
        if (n[k] == 1) { print row[k]; continue }
        out = k
        for (f = 3; f <= 10; f++) {
          if (f == 6) { out = out "|" sum[k]; continue }
          if (f == 7) { out = out "|" (err[k] == "" ? "0" : err[k]); continue }
          m = median(vals[k, f])
          if (m == "") { out = out "|" dash[k, f]; continue }
          if (f == 3) m = sprintf("%.0f", m)
          else if (f == 4 || f == 5) m = sprintf("%.2fms", m)
          else if (f == 8 || f == 10) m = sprintf("%.1f", m)
          else m = sprintf("%.2f", m)
          out = out "|" m
        }
        print out
      }
    }'
}
