# Redthread — the two commands are `make run` and `make test`.
# Downloads and built tools are cached outside the repo (Go module cache,
# ~/.npm, ~/.cache/redthread), so a second run is fast.

SHELL      := /bin/bash
GO         ?= go
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN        := bin/redthread
CACHE      ?= $(HOME)/.cache/redthread
OL_VENV    ?= $(CACHE)/venv-openlineage
OL_VERSION := 1.54.0
FUZZTIME   ?= 30s
# How long the fuzzer may spend shrinking each new input it finds. Go's default
# of 60s stalls both workers for most of a run on the decoders' 200 KB seeds.
FUZZMINIMIZETIME ?= 2s
BENCHTIME  ?= 1x
export REDTHREAD_OL_PYTHON ?= $(OL_VENV)/bin/python
# The Neo4j the tests use (scripts/neo4j-for-tests.sh): REDTHREAD_NEO4J_URI
# when set; else, where a Docker engine answers, containers the tests start
# with testcontainers-go; else deploy/local/neo4j, on NEO4J_PORT.
NEO4J_EXTERNAL_URI := $(REDTHREAD_NEO4J_URI)
export NEO4J_PORT ?= 7687

.PHONY: run build web test unit deps deps-python deps-mlflow deps-browser neo4j generate check-generated lint fuzz bench bench-go pgo clean

## run: build and start Redthread on its embedded defaults (http://127.0.0.1:5050)
run: build
	./$(BIN) serve

## build: the web bundle, then the binary in bin/
build: web
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/redthread

## web: the offline GraphiQL playground bundle (npm ci, cached in ~/.npm)
web:
	./scripts/build-web.sh

## deps: everything the tests need beyond Go (web bundle, openlineage-python, MLflow, Chromium)
deps: web deps-python deps-mlflow deps-browser

deps-python:
	./scripts/openlineage-python.sh "$(OL_VENV)" "$(OL_VERSION)"

## deps-browser: Debian's Chromium for the playground's browser test (apt, once)
deps-browser:
	./scripts/chromium.sh

## deps-mlflow: MLflow in a cached venv; each test starts its own server from it (deploy/local/mlflow)
deps-mlflow:
	./deploy/local/mlflow/mlflow.sh install

## test: install what the tests need, get Neo4j ready, then lint, check generated code and run every test with -race
test: deps lint check-generated
	neo4j_env=$$(./scripts/neo4j-for-tests.sh) && eval "$$neo4j_env" && \
	  $(GO) test -race -count=1 -timeout 30m ./...
	cd tools/schedtrace && $(GO) test -race -count=1 ./...

## neo4j: start a real Neo4j 5.26 on 127.0.0.1:$(NEO4J_PORT) (deploy/local/neo4j), unless REDTHREAD_NEO4J_URI names one
neo4j:
ifeq ($(NEO4J_EXTERNAL_URI),)
	./deploy/local/neo4j/neo4j.sh start
else
	@echo "neo4j: using REDTHREAD_NEO4J_URI=$(NEO4J_EXTERNAL_URI); not starting one"
endif

## unit: every test, against the Neo4j the environment names (make test chooses one itself)
unit:
	$(GO) test -race -count=1 -timeout 30m ./...

## generate: regenerate gqlgen code from schema.graphqls
generate:
	$(GO) tool gqlgen generate

## check-generated: fail if generated code is stale
check-generated:
	./scripts/check-generated.sh

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd tools/schedtrace && $(GO) vet ./...

## pgo: re-profile the server under the bench workload into cmd/redthread/default.pgo (profile-guided optimisation)
pgo:
	./scripts/pgo-profile.sh

## fuzz: run every fuzz target for FUZZTIME each (seeds also run in `make test`)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg || exit 1; \
	  done; \
	done

## bench: Go benchmarks, then `redthread bench` against a fresh server
bench: build bench-go
	./$(BIN) bench

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

clean:
	rm -rf bin web/dist
