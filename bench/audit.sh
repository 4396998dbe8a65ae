#!/usr/bin/env bash
# Benchmark (not a test): does the audit log scale to tool calls?
#
#   bench/audit.sh                      1,000,000 events (BENCH_EVENTS=N for another size)
#   KEYBROKER_BIN=/path/to/keybroker    use that binary (default: release build)
#   BENCH_RUNS=3                        runs per command (the fastest is kept)
#
# Writes a valid 1,000,000-event log (same line format and hash chain as Keybroker's,
# from tests/support's gen-audit-log) into a temporary KEYBROKER_HOME, then measures wall
# time and peak RSS (/usr/bin/time -v) of
#   keybroker audit --server X   against   grep -c X           (same file)
#   keybroker audit verify       against   openssl dgst -sha256 (same file)
# with the page cache warm, and prints the figures and their ratios. Targets: query at
# most 2x grep -c, verify at most 3x openssl, at most 64 MiB RSS. Prints figures only:
# timing never fails it. Exits non-zero only when it cannot measure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time not found; run scripts/install-deps.sh --bench (package time)"
command -v openssl >/dev/null 2>&1 || die "openssl not found; run scripts/install-deps.sh --bench"

EVENTS="${BENCH_EVENTS:-1000000}"
RUNS="${BENCH_RUNS:-3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
echo "bench: cargo build --release (keybroker, gen-audit-log)" >&2
if [ -z "${KEYBROKER_BIN:-}" ]; then
  cargo build --release -p keybroker --bin keybroker >&2
  KB="$TARGET_DIR/release/keybroker"
else
  KB="$KEYBROKER_BIN"
fi
cargo build --release -p keybroker-test-support --bin gen-audit-log >&2
GEN="$TARGET_DIR/release/gen-audit-log"
[ -x "$KB" ] || die "no keybroker binary at $KB"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kb-bench-audit.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 700 "$WORK"
mkdir -m 700 "$WORK/data"
LOG="$WORK/data/audit.jsonl"
SERVER="claude-desktop/server-7"
"$GEN" "$LOG" "$EVENTS" 50 >&2
SIZE=$(stat -c %s "$LOG")
# No Secret Service here: verify reports the anchor as not checked, which is not timed.
export KEYBROKER_HOME="$WORK" DBUS_SESSION_BUS_ADDRESS="unix:path=$WORK/no-bus"
export KEYBROKER_KEYCHAIN_TIMEOUT=1

# measure NAME CMD...: the fastest of RUNS runs; sets SECS and RSS_KIB.
measure() {
  local name="$1"; shift
  local best="" rss=0 i out
  for ((i = 0; i < RUNS; i++)); do
    out="$WORK/time.$name"
    # Output to a file, not /dev/null: GNU grep stops at the first match when its
    # output is /dev/null, which would time nothing.
    /usr/bin/time -v -o "$out" "$@" >"$WORK/stdout.$name" 2>"$WORK/stderr.$name" || true
    local wall kib
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out")
    kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out")
    # h:mm:ss or m:ss.ss -> seconds
    wall=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$wall"; fi
    [ "$kib" -gt "$rss" ] && rss="$kib"
  done
  SECS="$best"; RSS_KIB="$rss"
}

cat "$LOG" >/dev/null # warm the page cache
measure grep grep -c "$SERVER" "$LOG";                  GREP_S=$SECS GREP_RSS=$RSS_KIB
measure query "$KB" audit --server "$SERVER";           QUERY_S=$SECS QUERY_RSS=$RSS_KIB
measure query_json "$KB" audit --server "$SERVER" --json; QJSON_S=$SECS QJSON_RSS=$RSS_KIB
measure openssl openssl dgst -sha256 "$LOG";            SSL_S=$SECS SSL_RSS=$RSS_KIB
measure verify "$KB" audit verify;                      VERIFY_S=$SECS VERIFY_RSS=$RSS_KIB
"$KB" audit verify | tail -1 | grep -q "Chain intact." || die "the generated log does not verify"
MATCHES=$(grep -c "$SERVER" "$LOG")

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }

printf '\n%s events, %s MB (%s lines match %s); best of %s runs, page cache warm\n\n' \
  "$EVENTS" "$(awk -v b="$SIZE" 'BEGIN { printf "%.0f", b / 1e6 }')" "$MATCHES" "$SERVER" "$RUNS"
printf '| command | wall | peak RSS | ratio |\n|---|---|---|---|\n'
printf '| `grep -c %s` | %s | %s | 1.00x |\n' "$SERVER" "$(ms "$GREP_S")" "$(mib "$GREP_RSS")"
printf '| `keybroker audit --server %s` (table) | %s | %s | %s grep -c |\n' "$SERVER" "$(ms "$QUERY_S")" "$(mib "$QUERY_RSS")" "$(ratio "$QUERY_S" "$GREP_S")"
printf '| `keybroker audit --server %s --json` | %s | %s | %s grep -c |\n' "$SERVER" "$(ms "$QJSON_S")" "$(mib "$QJSON_RSS")" "$(ratio "$QJSON_S" "$GREP_S")"
printf '| `openssl dgst -sha256` | %s | %s | 1.00x |\n' "$(ms "$SSL_S")" "$(mib "$SSL_RSS")"
printf '| `keybroker audit verify` | %s | %s | %s openssl |\n' "$(ms "$VERIFY_S")" "$(mib "$VERIFY_RSS")" "$(ratio "$VERIFY_S" "$SSL_S")"
printf '\ntargets: query <= 2x grep -c, verify <= 3x openssl, RSS <= 64 MiB (figures, not checks)\n'
