#!/usr/bin/env bash
# scripts/openapi.sh openapi|check — regenerate openapi/ from the swag
# annotations, or check that the committed files match them.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
cd "$(dirname "$0")/.."
mode=${1:-openapi}
gen() { # $1: output dir
  go tool swag init -g routes.go -d ./api --outputTypes json,yaml --quiet -o "$1" >/dev/null
  go run ./openapi/cmd/convert -in "$1/swagger.json" -out "$1/openapi.json" -api api
}
case "$mode" in
  openapi) gen openapi; echo "openapi: regenerated openapi/" ;;
  check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    gen "$tmp"
    for f in swagger.json swagger.yaml openapi.json; do
      if ! diff -u "openapi/$f" "$tmp/$f" >"$tmp/diff" 2>&1; then
        echo "openapi: openapi/$f is out of date with the annotations; run 'make openapi'"; head -40 "$tmp/diff"; exit 1
      fi
    done
    echo "openapi: spec matches the annotations" ;;
  *) echo "usage: $0 openapi|check" >&2; exit 2 ;;
esac
