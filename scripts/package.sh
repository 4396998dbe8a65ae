#!/usr/bin/env bash
# Build Keybroker's Linux packages: a .deb and an .rpm holding the tray app
# (/usr/bin/keybroker-app, its desktop entry and icons) and the keybroker CLI and
# launcher as /usr/bin/keybroker, with bash, zsh and fish completions and man pages
# generated from the CLI's own clap definition.
#
#   scripts/package.sh        (make package: installs what is missing and builds ui/dist first)
#
# Release profile, binaries stripped (CARGO_PROFILE_RELEASE_STRIP, so the profile in
# Cargo.toml and the benchmarks' release builds stay as they are). Tauri's bundler comes
# from npm (scripts/install-deps.sh --package). No AppImage: its bundler downloads tools
# at build time. Prints the build times and the sizes of the binaries and packages;
# the paths of the packages are written to target/package/packages.txt.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
TAURI="$REPO_ROOT/.tools/tauri-cli/node_modules/.bin/tauri"
OUT="$REPO_ROOT/target/package"
BUNDLE="$REPO_ROOT/target/release/bundle"

log() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: ERROR: %s\n' "$*" >&2; exit 1; }

[ -x "$TAURI" ] || die "no Tauri CLI in .tools/tauri-cli: run scripts/install-deps.sh --package (make package does)"
[ -f ui/dist/index.html ] || die "ui/dist is not built: run make ui (make package does)"

export CARGO_PROFILE_RELEASE_STRIP=symbols
export CARGO_TERM_COLOR=never

t0=$(date +%s)
log "release build of the keybroker CLI and its relay"
cargo build --release --locked -p keybroker --bin keybroker --bin keybroker-relay
t1=$(date +%s)

log "completions and man pages from the CLI's definition"
rm -rf "$OUT"
mkdir -p "$OUT/completions" "$OUT/man1"
cli="$REPO_ROOT/target/release/keybroker"
"$cli" completions bash >"$OUT/completions/keybroker"
"$cli" completions zsh >"$OUT/completions/_keybroker"
"$cli" completions fish >"$OUT/completions/keybroker.fish"
"$cli" man --dir "$OUT/man1"
cp packaging/keybroker-app.1 "$OUT/man1/"
gzip -9n "$OUT"/man1/*.1
gzip -9nc packaging/changelog >"$OUT/changelog.gz"

log "release build of the app and the .deb/.rpm bundles (Tauri $("$TAURI" --version))"
rm -rf "$BUNDLE/deb" "$BUNDLE/rpm"
(cd src-tauri && "$TAURI" build --ci --bundles deb,rpm)
t2=$(date +%s)

deb=$(ls "$BUNDLE"/deb/*.deb)
rpm=$(ls "$BUNDLE"/rpm/*.rpm)
printf '%s\n%s\n' "$deb" "$rpm" >"$OUT/packages.txt"
size() { awk -v b="$(stat -c %s "$1")" -v f="${1#"$REPO_ROOT"/}" 'BEGIN { printf "%6.1f MiB  %s\n", b / 1048576, f }'; }
echo "build time: CLI $((t1 - t0)) s, app + bundles $((t2 - t1)) s, total $((t2 - t0)) s"
echo "sizes (stripped):"
size "$cli"
size "$REPO_ROOT/target/release/keybroker-relay"
size "$REPO_ROOT/target/release/keybroker-app"
size "$deb"
size "$rpm"
