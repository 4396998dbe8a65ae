#!/usr/bin/env bash
# Benchmark (not a test): `keybroker bridge` vs a direct Streamable HTTP client vs
# `mcp-remote`, against the same local MCP server (tests/remote-peers/bench-remote.mjs).
#
#   bench/remote.sh      (re-runs itself under scripts/with-keyring.sh if needed)
#   BENCH_PROFILE=debug  use target/debug/keybroker (default: release build)
#   BENCH_CALLS=500 BENCH_CONCURRENCY=8
# Prints figures only; timing never fails it.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
if [ -z "${KEYBROKER_TEST_SECRET_SERVICE:-}" ]; then
  exec scripts/with-keyring.sh "$0" "$@"
fi
if [ "${BENCH_PROFILE:-release}" = debug ]; then
  KB="$REPO_ROOT/target/debug/keybroker"
else
  cargo build --release --bin keybroker --bin keybroker-relay >&2
  KB="$REPO_ROOT/target/release/keybroker"
fi
home="$(mktemp -d "${TMPDIR:-/tmp}/kb-bench-home.XXXXXX")"
trap 'rm -rf "$home"' EXIT
cd tests/remote-peers
node bench-remote.mjs "$KB" "$home"
