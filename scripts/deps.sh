#!/usr/bin/env bash
# Installs what the tests need, only when missing. Usage: scripts/deps.sh [redis] [node] [chromium] [compose] [swag] [wrk] [webdis]
# wrk and webdis are benchmark tools (make bench-http, bench-peers): make test never asks for them.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
updated=""
apt_install() {
  if [ -z "$updated" ]; then
    apt-get update -qq >/dev/null
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  echo "deps: installed $*"
}
for want in "$@"; do
  case "$want" in
    redis) command -v redis-server >/dev/null || apt_install redis-server ;;
    node) command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm ;;
    chromium) command -v chromium >/dev/null || apt_install chromium ;;
    wrk) command -v wrk >/dev/null || apt_install wrk ;;
    webdis) command -v webdis >/dev/null || apt_install webdis ;;
    compose) docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || apt_install docker-compose ;;
    swag)
      if ! command -v swag >/dev/null; then
        v=$(go list -m -f '{{.Version}}' github.com/swaggo/swag)
        go install "github.com/swaggo/swag/cmd/swag@$v"
        echo "deps: installed swag $v"
      fi ;;
    *) echo "deps: unknown dependency $want" >&2; exit 2 ;;
  esac
done
