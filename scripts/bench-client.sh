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
# The test binary runs COUNT times with -count 1 rather than once with
# -count COUNT, so the three clients' samples interleave in time and a burst
# of load from elsewhere on the machine spreads over all of them instead of
# landing on one client's five samples. Each run starts its own redis-server.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd bench && go test -c -o "$bin/bench.test" .)
: >"$OUT"
for i in $(seq "$COUNT"); do
  echo "bench-client: run $i of $COUNT" >&2
  (cd bench && "$bin/bench.test" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.benchtime "$BENCHTIME" -test.count 1) | tee -a "$OUT"
done
echo "bench-client: raw output in $OUT" >&2

if command -v benchstat >/dev/null; then
  benchstat=(benchstat)
else
  benchstat=(go run golang.org/x/perf/cmd/benchstat@latest)
fi
# One column per client; rows are the other name keys (size, par, cmds, fields).
"${benchstat[@]}" -col /client "$OUT" || echo "bench-client: benchstat unavailable; raw output above" >&2
