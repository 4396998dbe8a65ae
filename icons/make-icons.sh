#!/usr/bin/env bash
# Regenerate Keybroker's icons with ImageMagick (`convert`) and python3 (for the .icns
# container). The PNGs are committed; run this only to change the artwork.
set -euo pipefail
cd "$(dirname "$0")"
# App icon: a key on a calm blue rounded square, drawn at 1024 px and scaled down.
convert -size 1024x1024 xc:none \
  -fill '#2f5d8a' -draw 'roundrectangle 64,64 960,960 180,180' \
  -fill none -stroke white -strokewidth 70 -draw 'circle 380,512 380,352' \
  -stroke white -strokewidth 70 -draw 'line 540,512 820,512' \
  -draw 'line 740,512 740,620' -draw 'line 820,512 820,600' \
  -depth 8 PNG32:icon.png
for s in 32 128 256 512; do convert icon.png -resize ${s}x${s} -depth 8 PNG32:${s}x${s}.png; done
cp 256x256.png 128x128@2x.png; rm 256x256.png
convert icon.png -define icon:auto-resize=256,128,64,48,32,16 icon.ico
python3 - <<'PY'
import struct, subprocess
def png(size):
    return subprocess.run(['convert', 'icon.png', '-resize', f'{size}x{size}', 'png:-'],
                          check=True, capture_output=True).stdout
chunks = b''
for kind, size in ((b'ic07', 128), (b'ic08', 256), (b'ic09', 512), (b'ic10', 1024)):
    data = png(size)
    chunks += kind + struct.pack('>I', len(data) + 8) + data
open('icon.icns', 'wb').write(b'icns' + struct.pack('>I', len(chunks) + 8) + chunks)
PY
# Tray icons (64 px, shown at 16-32): a key; "attention" adds an amber dot.
convert -size 64x64 xc:none -fill none -stroke '#2f5d8a' -strokewidth 6 \
  -draw 'circle 22,32 22,19' -draw 'line 35,32 58,32' -draw 'line 50,32 50,42' \
  -draw 'line 58,32 58,40' -depth 8 PNG32:tray-ok.png
convert tray-ok.png -fill '#e08a00' -stroke white -strokewidth 3 -draw 'circle 50,14 50,2' \
  -depth 8 PNG32:tray-attention.png
