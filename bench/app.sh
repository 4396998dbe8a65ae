#!/usr/bin/env bash
# The tray app's footprint next to a minimal Tauri 2 app built the same way (release
# profile, same Tauri version and features): cold start to tray, idle memory after one
# minute, binary size. Prints figures; never fails on timing. `make bench-app` runs it in
# a private keyring session under Xvfb.
#
# Cold start to tray: from spawning the binary to the line the app prints right after its
# tray icon is created (`tray ready`: keybroker-app's log file, minimal-tauri's stdout);
# page cache warm (first launch after the build), median of RUNS launches.
# Idle memory: after IDLE_SECS (default 60) seconds with the window open and nothing
# happening, VmRSS of the app process; and RSS and PSS summed over the app and its
# WebKit processes (RSS counts shared libraries once per process, PSS splits them).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
IDLE_SECS="${IDLE_SECS:-60}"
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release -p keybroker-app -p keybroker >&2
cargo build --release --manifest-path bench/minimal-tauri/Cargo.toml --target-dir target >&2
APP=target/release/keybroker-app
MIN=target/release/minimal-tauri

now_ms() { date +%s%3N; }
descendants() { # pid -> the pid and all its descendants, once each
  local p
  echo "$1"
  for p in $(pgrep -P "$1" || true); do descendants "$p"; done
}
tree_mem_kb() { # pid -> "own-RSS tree-RSS tree-PSS" in kB (PSS shares common pages fairly)
  local pid=$1 own rss=0 pss=0 p
  own=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
  for p in $(descendants "$pid" | sort -u); do
    rss=$(( rss + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
    pss=$(( pss + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0) ))
  done
  echo "$own $rss $pss"
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# launch NAME -> sets START_MS (spawn to "tray ready") and PID (still running)
wait_for() { # file -> waits (max 60 s) for "tray ready" in it
  local i
  for i in $(seq 6000); do grep -qs "tray ready" $1 && return 0; sleep 0.01; done
  echo "bench: no 'tray ready' in $1 after 60 s" >&2; return 1
}
launch() {
  local name=$1 t0 home
  home=$(mktemp -d)
  t0=$(now_ms)
  if [ "$name" = app ]; then
    KEYBROKER_HOME="$home" KEYBROKER_CONFIG_CLAUDE_DESKTOP="$home/none.json" "$APP" >/dev/null 2>&1 &
    PID=$!
    wait_for "$home/logs/keybroker-app*.log"
  else
    "$MIN" >"$home/out" 2>&1 &
    PID=$!
    wait_for "$home/out"
  fi
  START_MS=$(( $(now_ms) - t0 ))
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; sleep 1; }

for name in app minimal; do
  times=()
  for _ in $(seq "$RUNS"); do launch "$name"; times+=("$START_MS"); stop; done
  start_ms=$(printf '%s\n' "${times[@]}" | median)
  launch "$name"
  sleep "$IDLE_SECS"
  read -r own rss pss < <(tree_mem_kb "$PID")
  stop
  bin=$([ "$name" = app ] && echo "$APP" || echo "$MIN")
  size=$(stat -c %s "$bin")
  stripped=$(strip -o /tmp/kb-stripped "$bin" && stat -c %s /tmp/kb-stripped)
  printf '%-8s start-to-tray %5d ms (median of %d)  idle RSS %4d MiB (with WebKit processes: RSS %4d MiB, PSS %4d MiB)  binary %5.1f MiB (stripped %5.1f MiB)\n' \
    "$name" "$start_ms" "$RUNS" $(( own / 1024 )) $(( rss / 1024 )) $(( pss / 1024 )) \
    "$(echo "$size / 1048576" | bc -l)" "$(echo "$stripped / 1048576" | bc -l)"
done
