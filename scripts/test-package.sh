#!/usr/bin/env bash
# Test the packages `make package` built, as a user gets them:
#
#   scripts/test-package.sh     (make test-package; needs root or sudo, the packages, the
#                                debug build and tests/peers: make test-package does it all)
#
#   1. lintian on the .deb: no errors (the warnings it prints are explained in README.md);
#      `rpm -qpl` lists the .rpm's files, /usr/bin/keybroker among them;
#   2. dpkg -i the .deb; the CLI, completions and man pages are where the package says;
#   3. in a private unlocked keyring (scripts/with-keyring.sh): /usr/bin/keybroker imports
#      a config with a canary token, the rewritten entry starts /usr/bin/keybroker, the
#      official SDK client starts the server from the file and the server gets the token
#      (SHA-256 compared), the token is in no file but the original config's backup-free
#      state, `doctor --json` is content, and a guarded server's launcher becomes the
#      installed /usr/libexec/keybroker/keybroker-relay once the server runs;
#   4. the installed app under Xvfb with a tray (trayer): it logs "tray ready", names
#      /usr/bin/keybroker as its launcher, and is still running 5 s later;
#   5. dpkg -r: /usr/bin/keybroker is gone, the user's data under KEYBROKER_HOME is kept,
#      and the debug build's `servers --json` reports the entry as launcher drift.
# Exit 0 when every step passed; the package is removed again in any case.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
# KB_PACKAGES: another list (first line the .deb, second the .rpm), e.g. of a debug bundle.
PKGS="${KB_PACKAGES:-$REPO_ROOT/target/package/packages.txt}"
DEBUG_KB="$REPO_ROOT/target/debug/keybroker"
PEERS="$REPO_ROOT/tests/peers"
TOKEN="ghp_KBCANARYpackg000000000000000000000001"

log() { printf 'test-package: %s\n' "$*" >&2; }
die() { printf 'test-package: FAILED: %s\n' "$*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); log "ok: $*"; }

[ -f "$PKGS" ] || die "no packages: run make package first"
deb=$(sed -n 1p "$PKGS")
rpm=$(sed -n 2p "$PKGS")
[ -f "$deb" ] && [ -f "$rpm" ] || die "the packages listed in $PKGS are missing"
[ -x "$DEBUG_KB" ] || die "no debug build at $DEBUG_KB: run make build"
[ -d "$PEERS/node_modules/@modelcontextprotocol/sdk" ] || die "tests/peers is not installed: run make peers"
for tool in lintian rpm dpkg xvfb-run trayer node; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: run scripts/install-deps.sh --package"
done
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo -n)
  sudo -n true 2>/dev/null || die "installing the package needs root or passwordless sudo"
fi
pkg=$(dpkg-deb -f "$deb" Package)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kb-test-package.XXXXXX")"
APP_PID=""
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    "${SUDO[@]}" dpkg -r "$pkg" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

# 1. lintian and rpm ---------------------------------------------------------------------
log "lintian $(basename "$deb")"
lintian --no-tag-display-limit --fail-on error "$deb" | tee "$WORK/lintian.txt" >&2 \
  || die "lintian reports errors (above)"
ok "lintian: no errors, $(grep -c '^W: ' "$WORK/lintian.txt" || true) warning(s) (explained in README.md)"
rpm -qpl "$rpm" >"$WORK/rpm-files.txt" 2>/dev/null || die "rpm -qpl $rpm failed"
for f in /usr/bin/keybroker /usr/bin/keybroker-app /usr/share/man/man1/keybroker.1.gz \
         /usr/share/bash-completion/completions/keybroker; do
  grep -qx "$f" "$WORK/rpm-files.txt" || die "the .rpm does not hold $f"
done
ok "rpm -qpl lists /usr/bin/keybroker, the app, man pages and completions ($(wc -l <"$WORK/rpm-files.txt") files)"

# 2. install ------------------------------------------------------------------------------
log "dpkg -i $(basename "$deb")"
"${SUDO[@]}" dpkg -i "$deb" >&2 || die "dpkg -i failed"
for f in /usr/bin/keybroker /usr/libexec/keybroker/keybroker-relay /usr/bin/keybroker-app \
         /usr/share/man/man1/keybroker.1.gz /usr/share/man/man1/keybroker-doctor.1.gz /usr/share/bash-completion/completions/keybroker \
         /usr/share/zsh/vendor-completions/_keybroker /usr/share/fish/vendor_completions.d/keybroker.fish \
         "/usr/share/applications/$(dpkg -L "$pkg" | grep -o '[^/]*\.desktop$' | head -1)"; do
  [ -f "$f" ] || die "$f is not installed"
done
[ "$(/usr/bin/keybroker --version)" = "keybroker $(dpkg-deb -f "$deb" Version)" ] \
  || die "/usr/bin/keybroker --version does not match the package version"
ok "installed: /usr/bin/keybroker ($(/usr/bin/keybroker --version)), the app, desktop entry, man pages, completions"

# 3. the installed CLI end to end ----------------------------------------------------------
export KB_HOME="$WORK/kbhome" KB_CFG="$WORK/Claude/claude_desktop_config.json"
mkdir -p "$WORK/Claude"
cat >"$KB_CFG" <<JSON
{"mcpServers": {"echo": {"command": "node", "args": ["$PEERS/secret-echo-server.mjs"],
  "env": {"GITHUB_TOKEN": "$TOKEN"}},
  "relayed": {"command": "cat", "env": {"GITHUB_TOKEN": "$TOKEN"}}}}
JSON
want=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
# shellcheck disable=SC2016  # expanded by the inner bash
scripts/with-keyring.sh bash -c '
  set -euo pipefail
  export KEYBROKER_HOME="$KB_HOME"
  /usr/bin/keybroker import claude-desktop --yes --config "$KB_CFG" >&2
  node -e "const c = JSON.parse(require(\"fs\").readFileSync(process.argv[1]));
    const e = c.mcpServers.echo;
    if (e.command !== \"/usr/bin/keybroker\") { console.error(\"entry starts \" + e.command); process.exit(1) }" "$KB_CFG"
  cd "'"$PEERS"'"
  SPAWN_PASS_ENV="DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME" node spawn-from-config.mjs "$KB_CFG" echo \
    env_sha256 "{\"name\": \"GITHUB_TOKEN\"}" > "$KB_HOME/../spawn.json"
  mkdir -p "$KB_HOME/../home"
  HOME="$KB_HOME/../home" /usr/bin/keybroker doctor --json --config "$KB_CFG" > "$KB_HOME/../doctor.json" || true
  # The guarded `relayed` entry (cat, kept running by an open stdin): its launcher process
  # becomes the installed relay program.
  mapfile -d "" -t cmd < <(node -e "const e = JSON.parse(require(\"fs\").readFileSync(process.argv[1])).mcpServers.relayed;
    const env = Object.entries(e.env || {}).map(([k, v]) => k + \"=\" + v);
    process.stdout.write([...env, e.command, ...e.args].join(\"\\0\"))" "$KB_CFG")
  coproc RELAYED { exec env "${cmd[@]}"; }
  pid=$RELAYED_PID; exe=""
  for _ in $(seq 100); do
    exe=$(readlink "/proc/$pid/exe" || true)
    [ "$exe" = /usr/libexec/keybroker/keybroker-relay ] && break
    sleep 0.1
  done
  exec {RELAYED[1]}>&-
  wait "$pid" || true
  echo "$exe" > "$KB_HOME/../relay-exe.txt"
' || die "import with /usr/bin/keybroker or the SDK client failed"
got=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1])).results.env_sha256)' "$WORK/spawn.json")
[ "$got" = "$want" ] || die "the server got another value (sha256 $got, want $want)"
ok "the entry starts /usr/bin/keybroker and the SDK client's server got the token (sha256 $want)"
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const l = r.checks.find(c => c.id === "launcher");
  if (r.launcher !== "/usr/bin/keybroker" || l.status !== "ok" || r.keychain.state !== "available") {
    console.error(JSON.stringify(r, null, 2)); process.exit(1) }' "$WORK/doctor.json" \
  || die "doctor --json of the installed CLI is not content"
ok "doctor --json: launcher /usr/bin/keybroker ok, keychain available"
[ "$(cat "$WORK/relay-exe.txt")" = /usr/libexec/keybroker/keybroker-relay ] \
  || die "a guarded launch became $(cat "$WORK/relay-exe.txt"), not /usr/libexec/keybroker/keybroker-relay"
ok "a guarded server's launcher became /usr/libexec/keybroker/keybroker-relay"
if grep -rlF "$TOKEN" "$KB_HOME" "$WORK/Claude" >/dev/null 2>&1; then
  die "the token is in a file: $(grep -rlF "$TOKEN" "$KB_HOME" "$WORK/Claude")"
fi
ok "the token is in no file under KEYBROKER_HOME or the config dir"

# 4. the installed app under Xvfb with a tray -------------------------------------------------
# shellcheck disable=SC2016  # expanded by the inner bash
scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -u
  trayer --edge top --align right --widthtype pixel --width 120 --height 32 >/dev/null 2>&1 &
  tray=$!
  KEYBROKER_HOME="$KB_HOME" KEYBROKER_CONFIG_CLAUDE_DESKTOP="$KB_CFG" /usr/bin/keybroker-app --hidden \
    >"$KB_HOME/../app.out" 2>&1 &
  app=$!
  for _ in $(seq 1 60); do
    grep -qs "tray ready" "$KB_HOME"/logs/* && break
    kill -0 "$app" 2>/dev/null || break
    sleep 0.5
  done
  sleep 5
  alive=0; kill -0 "$app" 2>/dev/null && alive=1
  kill "$app" "$tray" 2>/dev/null; wait "$app" 2>/dev/null
  echo "$alive" > "$KB_HOME/../app.alive"
' || true
grep -qs "tray ready" "$KB_HOME"/logs/* \
  || die "the installed app never logged \"tray ready\": $(cat "$WORK/app.out" 2>/dev/null)"
grep -qsF "launcher /usr/bin/keybroker" "$KB_HOME"/logs/* \
  || die "the installed app does not use /usr/bin/keybroker as its launcher: $(grep -h starting "$KB_HOME"/logs/*)"
[ "$(cat "$WORK/app.alive")" = 1 ] || die "the installed app died: $(cat "$WORK/app.out")"
ok "the installed app started with its tray, uses /usr/bin/keybroker, still running 5 s later"

# 5. remove --------------------------------------------------------------------------------
"${SUDO[@]}" dpkg -r "$pkg" >&2 || die "dpkg -r failed"
[ ! -e /usr/bin/keybroker ] && [ ! -e /usr/bin/keybroker-app ] || die "dpkg -r left the binaries"
[ -f "$KB_HOME/config/state.json" ] && [ -f "$KB_HOME/data/audit.jsonl" ] || die "dpkg -r took the user's data"
status=$(KEYBROKER_HOME="$KB_HOME" "$DEBUG_KB" servers --json --config "$KB_CFG" 2>/dev/null \
  | node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () =>
      process.stdout.write(JSON.parse(s).find(x => x.name === "echo").status))')
[ "$status" = launcher-drift ] || die "after dpkg -r the debug build says $status, not launcher-drift"
ok "dpkg -r: binaries gone, KEYBROKER_HOME kept, the entry is launcher drift for the remaining build"

log "all $pass checks passed"
