#!/usr/bin/env bash
# Benchmark (not a test): what does the tool guard add to every message?
#
#   bench/guard.sh                      (re-runs itself under scripts/with-keyring.sh)
#   BENCH_CALLS=10000                   tools/call per run (default 10,000)
#   BENCH_PROFILE=debug                 use target/debug/keybroker (default: release,
#                                       built with `cargo build --release --bin keybroker --bin keybroker-relay`)
#   KEYBROKER_BIN=/path/to/keybroker    use that binary (no build; its keybroker-relay beside it)
#
# Imports two entries of a trivial stdio server (bench/guard-peer.py server) with a
# token each, leaves one guarded (the default) and unguards the other, then drives each
# from its rewritten entry: one tools/list, then BENCH_CALLS tools/call one at a time.
# Prints p50/p99 round trip unguarded and guarded, the difference (the guard's added
# latency per request + response), and the guarded launcher's own RSS (the relay, not
# the server) near the end of the run. Figures only: timing never fails it.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
if [ -z "${KEYBROKER_TEST_SECRET_SERVICE:-}" ]; then
  exec scripts/with-keyring.sh "$0" "$@"
fi
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 not found"

CALLS="${BENCH_CALLS:-10000}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
if [ -n "${KEYBROKER_BIN:-}" ]; then
  KB="$KEYBROKER_BIN"
elif [ "${BENCH_PROFILE:-release}" = debug ]; then
  KB="$TARGET_DIR/debug/keybroker"
else
  echo "bench: cargo build --release --bin keybroker --bin keybroker-relay" >&2
  cargo build --release --bin keybroker --bin keybroker-relay >&2
  KB="$TARGET_DIR/release/keybroker"
fi
[ -x "$KB" ] || die "no keybroker binary at $KB"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kb-bench-guard.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export KEYBROKER_HOME="$WORK/home"
CONFIG="$WORK/claude_desktop_config.json"
PEER="$REPO_ROOT/bench/guard-peer.py"
tok() { printf 'ghp_%s' "$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 36)"; }
python3 - "$CONFIG" "$PEER" "$(tok)" "$(tok)" <<'PY'
import json, sys
cfg, peer, a, b = sys.argv[1:]
entry = lambda t: {"command": sys.executable, "args": [peer, "server"], "env": {"BENCH_API_TOKEN": t}}
json.dump({"mcpServers": {"guarded": entry(a), "plain": entry(b)}}, open(cfg, "w"), indent=2)
PY
"$KB" import claude-desktop --config "$CONFIG" --yes >"$WORK/import.out" 2>&1 \
  || { sed 's/^/  | /' "$WORK/import.out" >&2; die "import failed"; }
"$KB" tools claude-desktop/plain --unguarded >/dev/null

entry() {
  python3 - "$CONFIG" "$1" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["mcpServers"][sys.argv[2]]
print("\0".join([e["command"]] + e.get("args", [])), end="")
PY
}
mapfile -d '' -t plain < <(entry plain)
mapfile -d '' -t guarded < <(entry guarded)
echo "bench: $CALLS tools/call on each, unguarded and guarded alternating ($KB)" >&2
python3 "$PEER" drive "$CALLS" "${plain[@]}" :: "${guarded[@]}" >"$WORK/times.txt" || die "driving failed"

python3 - "$WORK/times.txt" "$CALLS" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
rss, hwm, anon, filebacked = (int(x) for x in [l for l in lines if l.startswith("rss_kib")][0].split()[1:])
plain = sorted(int(l.split()[1]) for l in lines if l.startswith("a "))
guarded = sorted(int(l.split()[1]) for l in lines if l.startswith("b "))
def pct(t, q):
    return t[min(len(t) - 1, int(len(t) * q))]
print(f"tool guard, {sys.argv[2]} tools/call each, one at a time (round trip, microseconds)")
print(f"  {'':10} {'p50':>8} {'p99':>8}")
for name, t in (("unguarded", plain), ("guarded", guarded)):
    print(f"  {name:10} {pct(t, .5):8} {pct(t, .99):8}")
print(f"  {'added':10} {pct(guarded, .5) - pct(plain, .5):8} {pct(guarded, .99) - pct(plain, .99):8}"
      f"   (ratio p50 {pct(guarded, .5) / max(1, pct(plain, .5)):.2f}x)")
print(f"guarded launcher (the relay) RSS: {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f} MiB): "
      f"{anon / 1024:.1f} MiB its own memory (anonymous), {filebacked / 1024:.1f} MiB mapped files "
      f"(its code and libc, shared with other processes)")
print("targets: <= 50 us p50 added, <= 4 MiB")
PY
