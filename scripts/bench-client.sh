#!/usr/bin/env bash
# Go client benchmarks of this project's client next to go-redis and
# rueidis (bench/client_test.go, a separate module so the main module does
# not depend on them), against one private redis-server. Writes the raw
# output to $OUT and, when benchstat can be run, a table with one column
# per client.
#
# Usage: scripts/bench-client.sh   (env: COUNT=5 BENCH=. BENCHTIME=1s OUT=<temp file>)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"

COUNT=${COUNT:-5}
BENCH=${BENCH:-.}
BENCHTIME=${BENCHTIME:-1s}
OUT=${OUT:-$(mktemp -t bench-client.XXXXXX.txt)}

scripts/deps.sh redis
(cd bench && go test -run '^$' -bench "$BENCH" -benchmem -benchtime "$BENCHTIME" -count "$COUNT" .) | tee "$OUT"
echo "bench-client: raw output in $OUT" >&2

if command -v benchstat >/dev/null; then
  benchstat=(benchstat)
else
  benchstat=(go run golang.org/x/perf/cmd/benchstat@latest)
fi
# One column per client; rows are the other name keys (size, par, cmds, fields).
"${benchstat[@]}" -col /client "$OUT" || echo "bench-client: benchstat unavailable; raw output above" >&2
