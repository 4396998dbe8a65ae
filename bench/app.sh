#!/usr/bin/env bash
# The tray app's footprint next to a minimal Tauri 2 app built the same way (release
# profile, same Tauri version and features): cold start to tray, idle memory after one
# minute, binary size. Prints figures; never fails on timing. `make bench-app` runs it in
# a private keyring session under Xvfb.
#
# Cold start to tray: from spawning the binary to the line the app prints right after its
# tray icon is created (`tray ready`: keybroker-app's log file, minimal-tauri's stdout);
# page cache warm (first launch after the build), median of RUNS launches.
# Idle RSS: after IDLE_SECS (default 60) seconds with the window open and nothing
# happening, VmRSS of the app process, and of the app plus its WebKit child processes.
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
tree_rss_kb() { # pid -> "own total" in kB
  local pid=$1 own total=0 p
  own=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")
  for p in $pid $(pgrep -P "$pid" || true); do
    total=$(( total + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
    for c in $(pgrep -P "$p" || true); do
      total=$(( total + $(awk '/^VmRSS/{print $2}' "/proc/$c/status" 2>/dev/null || echo 0) ))
    done
  done
  echo "$own $total"
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# launch NAME -> prints start-to-tray ms; leaves $PID running
launch() {
  local name=$1 t0 out home
  home=$(mktemp -d)
  t0=$(now_ms)
  if [ "$name" = app ]; then
    KEYBROKER_HOME="$home" KEYBROKER_CLAUDE_CONFIG="$home/none.json" "$APP" >/dev/null 2>&1 &
    PID=$!
    until grep -qs "tray ready" "$home"/logs/keybroker-app*.log; do sleep 0.01; done
  else
    out="$home/out"
    "$MIN" >"$out" 2>&1 &
    PID=$!
    until grep -qs "tray ready" "$out"; do sleep 0.01; done
  fi
  echo $(( $(now_ms) - t0 ))
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; sleep 1; }

for name in app minimal; do
  times=()
  for _ in $(seq "$RUNS"); do times+=("$(launch "$name")"); stop; done
  start_ms=$(printf '%s\n' "${times[@]}" | median)
  launch "$name" >/dev/null
  sleep "$IDLE_SECS"
  read -r own total < <(tree_rss_kb "$PID")
  stop
  bin=$([ "$name" = app ] && echo "$APP" || echo "$MIN")
  size=$(stat -c %s "$bin")
  stripped=$(strip -o /tmp/kb-stripped "$bin" && stat -c %s /tmp/kb-stripped)
  printf '%-8s start-to-tray %5d ms (median of %d)  idle RSS %4d MiB (with WebKit children %4d MiB)  binary %5.1f MiB (stripped %5.1f MiB)\n' \
    "$name" "$start_ms" "$RUNS" $(( own / 1024 )) $(( total / 1024 )) \
    "$(echo "$size / 1048576" | bc -l)" "$(echo "$stripped / 1048576" | bc -l)"
done
