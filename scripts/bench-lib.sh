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
# NAME=value arguments.
start_gateway() {
  [ -x "$BENCH_DIR/gateway" ] || (cd "$(dirname "${BASH_SOURCE[0]}")/.." && CGO_ENABLED=0 go build -trimpath -o "$BENCH_DIR/gateway" ./cmd/gateway)
  GATEWAY_PORT=$(free_port)
  env GATEWAY_ADDR="127.0.0.1:$GATEWAY_PORT" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    GATEWAY_LOG_LEVEL=warn "$@" "$BENCH_DIR/gateway" >"$BENCH_DIR/gateway.log" 2>&1 &
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
