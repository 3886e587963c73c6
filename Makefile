# Tessera developer entry points. See scripts/*.sh for details.
#
#   make setup                 install build/test prerequisites (idempotent)
#   make run [ARGS="--addr 0.0.0.0:3000"]
#                              release build + `tessera serve --demo`
#   make test                  cargo tests (SQLite + throwaway PostgreSQL) + Playwright e2e
#   make bench [ARGS="--quick"]
#                              Tessera vs node-oidc-provider benchmark (scripts/bench.sh)

SHELL := /bin/bash
ARGS ?=

.PHONY: all setup run test bench

all: test

setup:
	scripts/setup.sh test

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

bench:
	scripts/bench.sh $(ARGS)
