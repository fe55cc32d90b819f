#!/usr/bin/env bash
# Unpacks the archive scripts/gpu-check.sh wrote on the GPU machine into results/gpu/ (or DEST):
#   bash scripts/gpu-unpack.sh OUT_DIR/gpu-check.tar.gz [DEST]
# It holds results/: summary.txt, parts.txt (each part's exit status and seconds), check.log and each
# part's log, backends.json, gpu-memory.csv (nvidia-smi each second: timestamp, memory.used MiB,
# utilization %), peer.csv (PyTorch's rows: the format is in scripts/peer-pytorch.py's docstring),
# gpu-sized/ARCH/ (seqarena run's results directory), micro-BACKEND/ and SUITE-BACKEND/ (results directories).
set -euo pipefail
archive=${1:?usage: gpu-unpack.sh ARCHIVE [DEST]  (ARCHIVE: the gpu-check.tar.gz scripts/gpu-check.sh wrote)}
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${2:-$root/results/gpu}
[ -f "$archive" ] || { echo "gpu-unpack: no such file $archive: give the gpu-check.tar.gz that scripts/gpu-check.sh wrote" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xzf "$archive"
[ -d "$tmp/results" ] || { echo "gpu-unpack: $archive has no results/ folder: not an archive of scripts/gpu-check.sh" >&2; exit 2; }
mkdir -p "$dest"
cp -a "$tmp/results/." "$dest/"
echo "gpu-unpack: $(find "$tmp/results" -type f | wc -l) files into $dest"
cat "$dest/summary.txt" 2>/dev/null || true
