#!/usr/bin/env bash
# Benchmark (not a test): how much spawn time does `keybroker run` add to an MCP server?
#
#   bench/launcher.sh                 (re-runs itself under scripts/with-keyring.sh if needed)
#   BENCH_PROFILE=debug bench/launcher.sh   use target/debug/keybroker (default: release,
#                                           built with `cargo build --release --bin keybroker --bin keybroker-relay`)
#   KEYBROKER_BIN=/path/to/keybroker  use that binary (no build; its keybroker-relay beside it)
#   BENCH_RUNS=200 BENCH_WARMUP=20    hyperfine settings
#
# Imports a one-server config (/bin/true with a GitHub-format token) into a temporary
# KEYBROKER_HOME, then times with hyperfine -N:
#   direct        /bin/true
#   sh            sh -c /bin/true                      (shell baseline for the next one)
#   secret-tool   sh -c 'secret-tool lookup ... && /bin/true'
#   keybroker     the rewritten `keybroker run claude-desktop/bench --binding <id> -- /bin/true`
# and prints mean +- stddev and ratios. Prints figures only: timing never fails it.
# Exits non-zero only when it cannot measure (no binary, import or launch broken).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

if [ -z "${KEYBROKER_TEST_SECRET_SERVICE:-}" ]; then
  exec scripts/with-keyring.sh "$0" "$@"
fi

die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }
for tool in hyperfine node secret-tool; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run scripts/install-deps.sh --bench"
done

RUNS="${BENCH_RUNS:-200}"
WARMUP="${BENCH_WARMUP:-20}"
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
KB="$(cd "$(dirname "$KB")" && pwd)/$(basename "$KB")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kb-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export KEYBROKER_HOME="$WORK/home"
mkdir -p "$KEYBROKER_HOME" "$WORK/config"
CONFIG="$WORK/config/claude_desktop_config.json"

# A GitHub-format token: ghp_ + 36 alphanumerics (random, never printed).
TOKEN="ghp_$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 36)"
[ "${#TOKEN}" -eq 40 ] || die "could not make a token"
BENCH_TOKEN="$TOKEN" node -e '
  const fs = require("fs");
  const cfg = { mcpServers: { bench: { command: "/bin/true", env: { BENCH_API_TOKEN: process.env.BENCH_TOKEN } } } };
  fs.writeFileSync(process.argv[1], JSON.stringify(cfg, null, 2) + "\n");
' "$CONFIG"

echo "bench: keybroker import claude-desktop --config <tmp> --yes" >&2
"$KB" import claude-desktop --config "$CONFIG" --yes >"$WORK/import.out" 2>&1 \
  || { sed 's/^/  | /' "$WORK/import.out" >&2; die "import failed"; }
grep -q "$TOKEN" "$CONFIG" && die "the rewritten config still contains the token"

# The rewritten entry: one shell-words-quoted command line for hyperfine, and its env.
read -r -d '' ENTRY_JS <<'JS' || true
const fs = require("fs");
const e = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).mcpServers.bench;
if (process.argv[2] === "cmdline") {
  const q = (s) => (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'");
  process.stdout.write([e.command, ...(e.args || [])].map(q).join(" "));
} else {
  for (const [k, v] of Object.entries(e.env || {})) process.stdout.write(`${k}=${v}\0`);
}
JS
KB_CMDLINE="$(node -e "$ENTRY_JS" "$CONFIG" cmdline)"
while IFS= read -r -d '' kv; do
  export "${kv?}"
done < <(node -e "$ENTRY_JS" "$CONFIG" env)
echo "bench: rewritten command: $KB_CMDLINE" >&2

printf '%s' "$TOKEN" | secret-tool store --label "keybroker bench" service bench username x
[ "$(secret-tool lookup service bench username x)" = "$TOKEN" ] || die "secret-tool round trip failed"

# One launch outside hyperfine, so a broken launcher shows its message.
bash -c "exec $KB_CMDLINE" </dev/null >"$WORK/launch.out" 2>&1 \
  || { sed 's/^/  | /' "$WORK/launch.out" >&2; die "the rewritten command failed"; }

OUT_DIR="$TARGET_DIR/bench"
mkdir -p "$OUT_DIR"
JSON="$OUT_DIR/launcher.json"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --style basic --export-json "$JSON" \
  -n direct '/bin/true' \
  -n sh 'sh -c /bin/true' \
  -n secret-tool "sh -c 'secret-tool lookup service bench username x >/dev/null && /bin/true'" \
  -n keybroker "$KB_CMDLINE" >&2

node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
  const by = Object.fromEntries(r.map((x) => [x.command, x]));
  const ms = (s) => (s * 1000).toFixed(3);
  const ratio = (a, b) => (b ? (a / b).toFixed(2) + "x" : "-");
  console.log("");
  console.log("launcher spawn overhead (hyperfine -N, " + r[0].times.length + " runs each)");
  console.log("command       mean ms    +- stddev   vs direct   vs secret-tool");
  for (const x of r) {
    console.log(
      x.command.padEnd(12) + " " + ms(x.mean).padStart(8) + "   +- " + ms(x.stddev ?? 0).padStart(7) +
      "   " + ratio(x.mean, by.direct.mean).padStart(9) + "   " + ratio(x.mean, by["secret-tool"].mean).padStart(12));
  }
  const kb = by.keybroker.mean, d = by.direct.mean, st = by["secret-tool"].mean, sh = by.sh.mean;
  console.log("");
  console.log("keybroker run adds " + ms(kb - d) + " ms to a direct spawn; " +
              "secret-tool lookup adds " + ms(st - sh) + " ms over its sh baseline.");
  console.log("raw: " + process.argv[1]);
' "$JSON"
exit 0
