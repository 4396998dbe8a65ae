#!/usr/bin/env bash
# Run a command against a real, private, unlocked Secret Service.
#
#   scripts/with-keyring.sh CMD [ARGS...]
#
# Starts a fresh D-Bus session bus (dbus-run-session) with gnome-keyring-daemon's Secret
# Service unlocked with a throwaway password, in throwaway XDG_DATA_HOME / XDG_RUNTIME_DIR
# / XDG_CONFIG_HOME / XDG_CACHE_HOME directories, waits (bounded) until
# org.freedesktop.secrets is on the bus, runs CMD there and exits with CMD's exit code.
# The temporary directories (and the keyring files in them) are removed at exit.
# Inside CMD: DBUS_SESSION_BUS_ADDRESS points at the private bus and
# KEYBROKER_TEST_SECRET_SERVICE=1 says a real unlocked keyring is available.
# Exit code 125: the keyring could not be started (CMD did not run).
set -euo pipefail

WAIT_SECS="${KEYRING_WAIT_SECS:-10}"

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-keyring: '$tool' not found; run scripts/install-deps.sh (packages dbus, dbus-x11, gnome-keyring)" >&2
    exit 125
  fi
done

KB_KEYRING_TMP="$(mktemp -d "${TMPDIR:-/tmp}/kb-keyring.XXXXXX")"
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  # The daemon is stopped inside the session; a straggler must not keep files open.
  rm -rf "$KB_KEYRING_TMP" 2>/dev/null || { sleep 0.5; rm -rf "$KB_KEYRING_TMP" || true; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$KB_KEYRING_TMP"/{data,config,cache,runtime}
chmod 700 "$KB_KEYRING_TMP" "$KB_KEYRING_TMP"/*
export XDG_DATA_HOME="$KB_KEYRING_TMP/data"       # keyrings/ lives here
export XDG_CONFIG_HOME="$KB_KEYRING_TMP/config"
export XDG_CACHE_HOME="$KB_KEYRING_TMP/cache"
export XDG_RUNTIME_DIR="$KB_KEYRING_TMP/runtime"   # gnome-keyring control socket
export KB_KEYRING_TMP KB_KEYRING_WAIT_SECS="$WAIT_SECS"
# Never talk to a user's real session bus / keyring / display from here.
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK DISPLAY WAYLAND_DISPLAY

set +e
# shellcheck disable=SC2016  # expanded by the inner bash
dbus-run-session -- bash -c '
  set -u
  log="$KB_KEYRING_TMP/gnome-keyring.log"
  # Unlock (and on first use create) the login keyring with a throwaway password.
  printf pw | gnome-keyring-daemon --foreground --unlock --components=secrets >"$log" 2>&1 &
  daemon=$!
  stop_daemon() { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; }
  has_owner() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
      | grep -q "boolean true"
  }
  tries=$(( KB_KEYRING_WAIT_SECS * 10 ))
  until has_owner; do
    why=""
    kill -0 "$daemon" 2>/dev/null || why="gnome-keyring-daemon exited before registering it"
    [ "$tries" -le 0 ] && why="not within ${KB_KEYRING_WAIT_SECS}s (KEYRING_WAIT_SECS)"
    if [ -n "$why" ]; then
      echo "with-keyring: ERROR: the Secret Service (org.freedesktop.secrets) did not appear on the private session bus: $why." >&2
      echo "with-keyring: gnome-keyring-daemon output:" >&2
      sed "s/^/  | /" "$log" >&2
      stop_daemon
      exit 125
    fi
    tries=$(( tries - 1 ))
    sleep 0.1
  done
  export KEYBROKER_TEST_SECRET_SERVICE=1
  "$@"
  rc=$?
  if ! kill -0 "$daemon" 2>/dev/null; then
    # A run that fails with "keychain unavailable" because the daemon itself died says so.
    echo "with-keyring: WARNING: gnome-keyring-daemon exited during the run; its output:" >&2
    sed "s/^/  | /" "$log" >&2
  fi
  stop_daemon
  exit "$rc"
' with-keyring "$@"
rc=$?
set -e
exit "$rc"
