# mcp-reverse-proxy — see README.md. Every target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE ?= node
TEST_FILES = $(shell find test -name '*.test.ts' | sort)
E2E_FILES = $(shell find test/e2e -name '*.test.ts' | sort)
UNIT_FILES = $(filter-out $(E2E_FILES),$(TEST_FILES))
# Real network parts the tests start on loopback (installed with apt-get when missing).
# squid-openssl is Debian's squid built with OpenSSL (ssl_bump); it replaces `squid`.
# krb5-*: a test Kerberos realm; libkrb5-dev: headers the optional `kerberos` module builds against.
SYSTEM_PACKAGES ?= squid-openssl nginx-light redis-server openssl krb5-kdc krb5-admin-server krb5-user libkrb5-dev

.PHONY: help install build test test-unit test-e2e system-deps native-deps demo bench typecheck conformance clean

help:
	@echo "make demo   - install, build, run gateway + client + server-everything, show a real MCP call"
	@echo "make test   - install what the tests need (npm ci, squid/nginx via apt-get), build, run all tests"
	@echo "make conformance - the official MCP conformance suite against the tunneled endpoint (part of make test)"
	@echo "make bench  - benchmarks (not part of make test)"

# npm ci only when node_modules is missing or older than the lockfile.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	npx tsc -p tsconfig.json
	@chmod +x dist/cli/main.js

# src, tests, bench and scripts (the build itself only compiles src/).
typecheck: install
	npx tsc -p tsconfig.test.json

system-deps:
	@bash .ci/system-deps.sh $(SYSTEM_PACKAGES)

# The optional native `kerberos` module, built once libkrb5-dev is there (never fatal).
native-deps: install system-deps
	@bash .ci/native-deps.sh

# system-deps first: on a fresh machine npm ci then finds libkrb5-dev and builds `kerberos`.
# Conformance runs before the unit/e2e tests so that the test runner's summary stays the last output.
test: system-deps build typecheck native-deps conformance
	$(NODE) --import tsx --test --test-concurrency=2 --test-timeout=180000 $(TEST_FILES)

test-unit: build
	$(NODE) --import tsx --test --test-timeout=60000 $(UNIT_FILES)

test-e2e: system-deps build native-deps
	$(NODE) --import tsx --test --test-concurrency=1 --test-timeout=180000 $(E2E_FILES)

demo: build
	$(NODE) --import tsx scripts/demo.ts

# Node 22 for the conformance suite only (it needs fs.globSync); its own lockfile keeps its
# `node` bin off the project's PATH (npm scripts, npx) and its linux-x64 pin out of npm ci.
NODE22_DIR = scripts/conformance/node22
$(NODE22_DIR)/node_modules/.installed: $(NODE22_DIR)/package-lock.json
	npm ci --prefix $(NODE22_DIR) --no-audit --no-fund
	@touch $@

conformance: build $(NODE22_DIR)/node_modules/.installed
	$(NODE) --import tsx scripts/conformance.ts

bench: build system-deps
	$(NODE) --import tsx bench/run.ts

clean:
	rm -rf dist
