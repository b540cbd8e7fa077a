# Wijkbrug — one Makefile for the whole workspace.
#
#   make run      all four services + NATS + PostgreSQL + dev CA + demo data, in one process
#   make faults   the fault harness (docs/reliability.md)
#   make test     everything CI checks (formatting, vet, proto lint/staleness/breaking,
#                 unit + integration + end-to-end tests with the race detector, short fuzzing,
#                 a smoke run of the benchmark, under a minute)
#   make bench    the benchmark against the raw-pgx baseline (docs/performance.md)
#
# Tool versions are pinned here and nowhere else; tools install into ./bin.

BUF_VERSION                ?= v1.47.2
PROTOC_GEN_GO_VERSION      ?= v1.36.12
PROTOC_GEN_GO_GRPC_VERSION ?= v1.6.2
GRPCURL_VERSION            ?= v1.9.3
GRPC_GATEWAY_VERSION       ?= v2.33.0
GNOSTIC_VERSION            ?= v0.7.1

BIN      := $(CURDIR)/bin
MODULES   = $(shell go list -m -f '{{.Dir}}')
# Every package of every module, as patterns go accepts at the workspace's root (./... is not
# one: the root is not a module).
PACKAGES  = $(patsubst $(CURDIR)/%,./%/...,$(MODULES))
FUZZTIME ?= 2s
# -ldflags=-w: test binaries without DWARF, which only a debugger reads (stack traces and race
# reports keep their files and lines): a test binary of case-direction's service links in
# 4.1-4.6 s instead of 5.2-7.4 s, and make test links about seventy.
GO_TEST_FLAGS ?= -race -timeout 15m -ldflags=-w
# The race runtime sleeps atexit_sleep_ms (1000 by default) before a race-built program exits,
# for reports of races at its very end: a second for each of about seventy test binaries, and
# for every test-binary child a test starts. 50 ms is what other large Go projects use
# (docs/decisions.md, "make test's time").
GORACE ?= atexit_sleep_ms=50

export PATH := $(BIN):$(PATH)

.PHONY: all help run build faults tools proto proto-deps check check-migrations check-proto api-baseline fmt-check vet test test-go fuzz fuzz-long bench bench-smoke clean

all: build

## help: list the targets with what they do
help:
	@echo "Wijkbrug make targets (variables: EPHEMERAL=1 for run, FUZZTIME=2s, GO_TEST_FLAGS, GORACE):"
	@awk '/^## [a-z-]+: /{ sub(/^## /, ""); i = index($$0, ": "); printf "  %-18s%s\n", substr($$0, 1, i - 1), substr($$0, i + 2); next } \
		/^## /{ sub(/^## /, ""); printf "  %-18s%s\n", "", $$0 }' $(MAKEFILE_LIST)

## run: start the all-in-one development suite (data kept in ./.wijkbrug; EPHEMERAL=1 for a throw-away run)
# Built, then run (not `go run`, which ends with status 1 when Ctrl-C stops it, so make
# reported an error for a clean stop).
run:
	@mkdir -p $(BIN)
	cd cmd/wijkbrug && go build -o $(BIN)/wijkbrug .
	$(BIN)/wijkbrug dev $(if $(EPHEMERAL),-ephemeral)

## build: build every binary into ./bin (services static, CGO off, as the Dockerfile builds them)
build:
	@mkdir -p $(BIN)
	cd cmd/wijkbrug && go build -o $(BIN)/wijkbrug .
	cd services/intake && CGO_ENABLED=0 go build -o $(BIN)/intake ./cmd/intake
	cd services/case-direction && CGO_ENABLED=0 go build -o $(BIN)/case-direction ./cmd/case-direction
	cd services/provider-monitoring && CGO_ENABLED=0 go build -o $(BIN)/provider-monitoring ./cmd/provider-monitoring
	cd services/referral && CGO_ENABLED=0 go build -o $(BIN)/referral ./cmd/referral
	cd pkg && go build -o $(BIN)/nats-server github.com/nats-io/nats-server/v2

## faults: the fault harness — kills NATS, PostgreSQL and each service (and, on a 3-node
## JetStream cluster and a PostgreSQL primary with a synchronous standby, a NATS node and the
## primary) under load, then checks that nothing acknowledged was lost or applied twice
faults: build
	$(BIN)/wijkbrug faults -bin $(BIN)

PROTO_TOOLS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapi

## tools: install the pinned code generators and grpcurl into ./bin
tools: $(PROTO_TOOLS) $(BIN)/grpcurl

# buf: the same pinned release from its npm package (a prebuilt binary, seconds) when npm is
# there; otherwise built from source with Go (about two minutes on a cold 2-core machine).
$(BIN)/buf:
	@mkdir -p $(BIN)
	@if command -v npm >/dev/null 2>&1 && \
	   npm install --silent --no-audit --no-fund --prefix $(BIN)/.buf-npm @bufbuild/buf@$(BUF_VERSION:v%=%) >/dev/null 2>&1 && \
	   [ "$$($(BIN)/.buf-npm/node_modules/.bin/buf --version 2>/dev/null)" = "$(BUF_VERSION:v%=%)" ]; then \
	  ln -sf .buf-npm/node_modules/.bin/buf $(BIN)/buf; echo "buf $(BUF_VERSION) installed from npm"; \
	else \
	  GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION); \
	fi
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
# OpenAPI 3 from the google.api.http annotations (gnostic's generator).
$(BIN)/protoc-gen-openapi:
	GOBIN=$(BIN) go install github.com/google/gnostic/cmd/protoc-gen-openapi@$(GNOSTIC_VERSION)
$(BIN)/grpcurl:
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

## proto: regenerate the Go code, the REST gateway and the OpenAPI documents from proto/
proto: $(PROTO_TOOLS)
	rm -rf pkg/gen
	buf generate
	cd pkg && WIJKBRUG_UPDATE_DOCS=1 go test -count=1 -run TestOpenAPIDocumentsAreCurrent ./apidoc

## proto-deps: rewrite third_party/proto (google.api, buf.validate) from their pinned Go modules
proto-deps:
	rm -rf third_party/proto
	cd scripts/protodeps && GOWORK=off go run . ../../third_party/proto

## check-proto: buf lint, generated code up to date, no breaking change against the API baseline
check-proto: $(PROTO_TOOLS)
	buf lint
	@tmp=$$(mktemp -d) && buf generate -o $$tmp && \
	  if ! diff -r $$tmp/pkg/gen pkg/gen >/dev/null; then \
	    echo "generated code in pkg/gen is stale: run 'make proto' and commit"; diff -r $$tmp/pkg/gen pkg/gen | head -20; rm -rf $$tmp; exit 1; \
	  fi; rm -rf $$tmp
	buf breaking proto --against $(API_BASELINE)

# The committed image of the API as last released to users (issue 10). Comparing with it, not
# with a branch, keeps buf breaking meaningful in a fresh clone, where main is HEAD itself.
API_BASELINE := proto/baseline.binpb

## api-baseline: record the current API as the baseline that buf breaking compares with (only
## after an agreed, documented break, or to take in compatible additions)
api-baseline: $(BIN)/buf
	buf build proto -o $(API_BASELINE)

## fmt-check: gofmt on every tracked Go file
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vet: go vet in every module of the workspace
vet:
	go vet $(PACKAGES)

## check-migrations: no migration number used twice in a folder (parallel branches did that)
check-migrations:
	@scripts/check-migrations.sh

## check: formatting, vet, migration numbers and proto checks
check: fmt-check vet check-migrations check-proto

## test: what CI runs (check, build, then test-go, fuzz and the bench smoke)
test: check build test-go fuzz bench-smoke

## bench: start the suite and measure it against the raw-pgx baseline in the same run; writes
## bench-results.md. BENCH_FLAGS="-duration 10s -scale 10000,100000,1000000" for more.
BENCH_FLAGS ?=
bench:
	go run ./cmd/wijkbrug/bench $(BENCH_FLAGS)

## bench-smoke: every measurement of the benchmark, briefly (about a minute): it must run
## without errors; the figures are not judged
bench-smoke:
	go run ./cmd/wijkbrug/bench -smoke -out ''

## test-go: go test -race over every module's packages, including deploy/validate (renders and
## checks deploy/), in one run: its two test slots stay busy across modules
test-go:
	GORACE="$(GORACE)" WIJKBRUG_FAULTS_BIN=$(BIN) WIJKBRUG_BIN=$(BIN) go test $(GO_TEST_FLAGS) $(PACKAGES)

## fuzz: run every fuzz target briefly (FUZZTIME=2s) from its seeds alone; fuzz-long runs them
## for 2 minutes each, from and into the corpus kept in $GOCACHE/fuzz
fuzz:
	@scripts/fuzz.sh $(FUZZTIME) --fresh-corpus

fuzz-long:
	@scripts/fuzz.sh 2m

## clean: remove ./bin
clean:
	rm -rf $(BIN)
