#!/usr/bin/env bash
# The GPU check: on a Linux x86-64 machine with an NVIDIA GPU, no Node and no network, run the quick
# suite and the micro suite on the GPU backend found there (webgpu on Dawn/Vulkan; tensorflow if
# tfjs-node-gpu were installed), and write results with the machine named in env.json.
#
#   here:  npm ci && bash scripts/gpu-pack.sh          # builds .gpu/ (~30 MiB): node, bundle, Dawn, loaders
#   there: bash scripts/gpu-check.sh [OUT_DIR]          # default OUT_DIR: results/gpu
#
# Environment: SEQARENA_GPU_BACKEND (default webgpu), SEQARENA_GPU_SUITE (default quick),
# SEQARENA_GPU_BUDGET_S (wall-clock seconds for the suites together, default 420),
# SEQARENA_GPU_EXTRA (extra shell run in parallel with the GPU suites, e.g. CPU-scale paper shards).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/results/gpu}")
pack=$root/.gpu
work=${TMPDIR:-/tmp}/seqarena-gpu
backend=${SEQARENA_GPU_BACKEND:-webgpu}
suite=${SEQARENA_GPU_SUITE:-quick}
budget=${SEQARENA_GPU_BUDGET_S:-420}
[ -f "$pack/app.tar.xz" ] || { echo "gpu-check: no $pack/app.tar.xz; run scripts/gpu-pack.sh first" >&2; exit 2; }

rm -rf "$work" "$out/$suite-$backend" "$out/micro-$backend" && mkdir -p "$work" "$out"
xz -dc "$pack/node.xz" > "$work/node" && chmod +x "$work/node"
tar -C "$work" -xJf "$pack/app.tar.xz"
node=$work/node
app=$work/app/seqarena.mjs
echo "node $("$node" --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"

# Dawn reaches NVIDIA GPUs through Vulkan: bring the loader where the machine has none.
if command -v nvidia-smi >/dev/null && ! ldconfig -p | grep -q "libvulkan.so.1"; then
  for f in "$pack"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
export SEQARENA_GIT_SHA=$(sed -n 's/.*"git_sha": "\([^"]*\)".*/\1/p' "$work/app/pack.json")

cd "$work"
"$node" "$app" list --json > "$out/backends.json" 2>"$out/list.log" || true
# Sample GPU memory while the suites run (the peak goes in gpu-memory.csv beside the results).
(nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -l 1 > "$out/gpu-memory.csv" 2>/dev/null &) 
[ -n "${SEQARENA_GPU_EXTRA:-}" ] && (bash -c "$SEQARENA_GPU_EXTRA" > "$out/extra.log" 2>&1 &)

timeout "$budget" "$node" "$app" bench --suite "$suite" --backend "$backend" --out "$out/$suite-$backend" --no-report --time-limit 120 > "$out/bench.log" 2>&1 &
bench=$!
timeout "$budget" "$node" "$app" micro --backend "$backend" --lengths 128,256,512,1024,2048,4096 --time-budget-ms 200 --max-sample-ms 4000 --out "$out/micro-$backend" > "$out/micro.log" 2>&1 &
micro=$!
wait $bench; echo "bench exit $?"; wait $micro; echo "micro exit $?"
pkill -f "nvidia-smi --query-gpu" 2>/dev/null || true
tail -n 25 "$out/bench.log" "$out/micro.log"
