# redis-gateway: see README.md. Every target works on a fresh machine.
SHELL   := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 20s
SOAK    ?= 60s
PKGS    := ./...

.PHONY: compose-check run build test deps lint vet fmt-check unit openapi openapi-check bench bench-http bench-sse bench-peers bench-client fuzz soak clean

run: ## serve on 127.0.0.1:8080 (embedded in-memory Redis without REDIS_URL)
	go run ./cmd/gateway

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/gateway ./cmd/gateway

deps: ## install test dependencies that are missing (redis-server, Node.js, Chromium, docker-compose, e2e npm packages)
	scripts/deps.sh redis node chromium compose
	@cd e2e && if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; else echo "deps: e2e npm packages up to date"; fi

test: deps lint unit openapi-check compose-check ## everything CI checks

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet $(PKGS)
	cd bench && go vet ./...   # separate module (go-redis, rueidis): ./... above does not enter it

unit:
	go test -race -count=1 -timeout 8m $(PKGS)
	@echo "the HTTP suite again with auto-pipelined clients:"
	GATEWAY_TEST_AUTO_PIPELINE=1 go test -race -count=1 -timeout 4m ./api/

# The OpenAPI spec is generated from the swag annotations in api/ (Swagger 2),
# then converted to OpenAPI 3 (openapi/openapi.json, embedded and served).
openapi:
	scripts/openapi.sh openapi

compose-check: ## validate docker-compose.yml when a compose tool is installed
	@if docker compose version >/dev/null 2>&1; then docker compose -f docker-compose.yml config -q && echo "compose: docker-compose.yml is valid"; \
	elif command -v docker-compose >/dev/null; then docker-compose -f docker-compose.yml config -q && echo "compose: docker-compose.yml is valid"; \
	else echo "compose: no docker compose here; skipped"; fi

openapi-check: ## fail when openapi/ differs from the annotations
	scripts/openapi.sh check

bench:
	go test -run='^$$' -bench=. -benchmem ./resp/ ./pool/ ./callbacks/ ./client/ ./api/

bench-http: ## gateway HTTP throughput next to redis-benchmark (starts its own redis-server and gateway)
	scripts/bench-http.sh

bench-peers: ## gateway (defaults, auto_pipeline) next to bare net/http, naive net/http+go-redis, floor (net/http + one pipelined Redis connection), webdis and redis-benchmark: req/s, p99, server and Redis CPU per request, c = 1..1000, idle-connection memory; appends to docs/benchmarks.md
	scripts/bench-peers.sh

bench-client: ## this project's Go client next to go-redis and rueidis (module bench/), then benchstat
	scripts/bench-client.sh

bench-sse: ## SSE fan-out latency, loss and memory (starts its own redis-server and gateway)
	scripts/bench-sse.sh

fuzz:
	@for t in $$(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | awk '{print $$2}' | sed 's/(.*//'); do \
	  pkg=$$(grep -rlE "^func $$t\(" --include='*_test.go' . | head -1 | xargs dirname); \
	  echo "fuzz $$t in $$pkg for $(FUZZTIME)"; \
	  go test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

soak: ## mixed load on an in-process gateway over a local redis-server restarted every 15 s, for SOAK (60s)
	go run ./cmd/soak -duration $(SOAK)

clean:
	rm -rf bin
