#!/usr/bin/env bash
# The GPU check: on a Linux x86-64 machine with an NVIDIA GPU, no Node and no network, measure seqarena
# and its peer (PyTorch eager fp32, scripts/peer-pytorch.py, with the PyTorch that machine has) on the
# same GPU in one run, and pack everything into ONE archive beside a short plain-text summary.
#
#   here:  npm ci && bash scripts/gpu-pack.sh           # builds .gpu/ (~30 MiB): node, bundle, Dawn, loaders
#   there: bash scripts/gpu-check.sh [OUT_DIR]           # default OUT_DIR: results/gpu-out
#   here:  bash scripts/gpu-unpack.sh OUT_DIR/gpu-check.tar.gz   # into results/gpu/
#
# Parts, in this order, each under its share of the budget (timeout), each writing its rows as it goes;
# a part that fails or runs out of time leaves what it finished and the next part still runs (a peer run
# that wrote no row gets one with the reason in its error column; a seqarena run out of time writes its
# row with status timeout):
#   1. peer        scripts/peer-pytorch.py --device cuda for transformer, lstm, mamba at the GPU-sized config (5% each)
#   2. gpu-sized   seqarena run for the same three at the same config, induction heads, vocabulary 32 (15% each)
#   3. micro       seqarena micro at long lengths, to 16,384 where --max-memory-mb allows (20%)
#   4. quick       the quick suite (what is left)
# The GPU-sized config is d_model 512, 4 layers, 8 heads, L 2,048, batch 16.
#
# Environment: SEQARENA_GPU_BACKEND (default webgpu), SEQARENA_GPU_SUITE (default quick),
# SEQARENA_GPU_BUDGET_S (wall-clock seconds for all parts together, default 450: the check must end
# inside 8 minutes), SEQARENA_GPU_TINY=1 (tiny sizes and steps: to test the check end to end on a machine
# without a GPU, e.g. Dawn's software adapter), SEQARENA_GPU_PEER_DEVICE (cuda, or cpu where there is no
# GPU; default cuda when nvidia-smi exists, else cpu), SEQARENA_GPU_PYTHON (default python3),
# SEQARENA_GPU_CMD (run seqarena as this command instead of the packed bundle, e.g. "node bin/seqarena.js").
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/results/gpu-out}")
pack=$root/.gpu
work=${TMPDIR:-/tmp}/seqarena-gpu
res=$work/results
backend=${SEQARENA_GPU_BACKEND:-webgpu}
suite=${SEQARENA_GPU_SUITE:-quick}
budget=${SEQARENA_GPU_BUDGET_S:-450}
python=${SEQARENA_GPU_PYTHON:-python3}
if command -v nvidia-smi >/dev/null; then peer_device=${SEQARENA_GPU_PEER_DEVICE:-cuda}; else peer_device=${SEQARENA_GPU_PEER_DEVICE:-cpu}; fi
if [ "${SEQARENA_GPU_TINY:-0}" = 1 ]; then
  d=32 layers=2 heads=2 L=64 B=4 steps=4 decode=4 lengths=64,128 micro_budget_ms=20
else
  d=512 layers=4 heads=8 L=2048 B=16 steps=12 decode=32 lengths=256,1024,2048,4096,8192,16384 micro_budget_ms=200
fi
start=$(date +%s)
left() { echo $((budget - ($(date +%s) - start))); }
# share FRACTION_PERCENT: seconds for a part, at most what is left.
share() { local s=$((budget * $1 / 100)) l; l=$(left); [ "$l" -lt "$s" ] && s=$l; [ "$s" -lt 1 ] && s=1; echo "$s"; }

rm -rf "$work" "$out" && mkdir -p "$work" "$res" "$out"
if [ -n "${SEQARENA_GPU_CMD:-}" ]; then
  read -r -a app <<< "$SEQARENA_GPU_CMD"
  sha=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
else
  [ -f "$pack/app.tar.xz" ] || { echo "gpu-check: no $pack/app.tar.xz; run scripts/gpu-pack.sh first (or set SEQARENA_GPU_CMD)" >&2; exit 2; }
  xz -dc "$pack/node.xz" > "$work/node" && chmod +x "$work/node"
  tar -C "$work" -xJf "$pack/app.tar.xz"
  app=("$work/node" "$work/app/seqarena.mjs")
  sha=$(sed -n 's/.*"git_sha": "\([^"]*\)".*/\1/p' "$work/app/pack.json")
fi
export SEQARENA_GIT_SHA=$sha
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')
echo "gpu-check: seqarena $sha, backend $backend, budget ${budget}s, GPU: $gpu" | tee "$res/check.log"

# Dawn reaches NVIDIA GPUs through Vulkan: bring the loader where the machine has none.
if command -v nvidia-smi >/dev/null && ! ldconfig -p | grep -q "libvulkan.so.1"; then
  for f in "$pack"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl

# Sample GPU memory once a second while the parts run; stopped by its PID at the end.
sampler=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader,nounits -l 1 > "$res/gpu-memory.csv" 2>/dev/null &
  sampler=$!
fi

# Pack what exists now (also on an early exit): one archive and the summary, in $out.
finish() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
  sampler=
  {
    echo "seqarena GPU check, $(date -u +%FT%TZ), seqarena $sha, backend $backend, $(( $(date +%s) - start ))s"
    echo "GPU: $gpu"
    cat "$res/parts.txt" 2>/dev/null
    if [ -s "$res/peer.csv" ]; then
      echo "peer (PyTorch eager fp32, $peer_device): arch train_tokens/s step_ms decode_tokens/s peak_bytes"
      awk -F, 'NR > 1 { sub(/\r$/, ""); if ($18 != "") printf "  %s failed: %s\n", $2, $18; else printf "  %s %.0f %.1f %.0f %s\n", $2, $11, $13, $14, $15 }' "$res/peer.csv"
    fi
    "$python" - "$res" <<'PY' || true
import glob, json, os, sys
keep = ('tokens_per_s', 'step_latency_ms', 'decode_tokens_per_s', 'peak_device_bytes', 'peak_tensor_bytes', 'peak_rss_bytes')
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'gpu-sized', '*', 'results.jsonl'))):
    rows = [json.loads(line) for line in open(f) if line.strip()]
    figures = {r['metric']: r['value'] for r in rows if r.get('metric') in keep and r.get('value') is not None}
    run = next((r for r in rows if r.get('metric') == 'run'), rows[0] if rows else {})
    print(f"seqarena {os.path.basename(os.path.dirname(f))} on {run.get('backend')} ({run.get('device')}): status {run.get('status')}, "
          + ', '.join(f'{k} {v:.4g}' for k, v in figures.items()))
PY
    [ -f "$res/gpu-memory.csv" ] && echo "nvidia-smi peak memory.used MiB: $(cut -d, -f2 "$res/gpu-memory.csv" | sort -n | tail -n 1)"
  } > "$res/summary.txt" 2>&1
  cp "$res/summary.txt" "$out/summary.txt"
  tar -C "$work" -czf "$out/gpu-check.tar.gz" results
  echo "gpu-check: wrote $out/gpu-check.tar.gz and $out/summary.txt"
}
trap finish EXIT

# part NAME SECONDS COMMAND...: run a part under its seconds (from `share`) and record its exit status.
part() {
  local name=$1 s=$2; shift 2
  if [ "$(left)" -le 0 ]; then echo "$name: not run (budget spent)" | tee -a "$res/parts.txt"; return 255; fi
  local t0; t0=$(date +%s)
  timeout "$s" "$@" >> "$res/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc$([ $rc = 124 ] && echo ' (ran out of its '"${s}"'s)') in $(( $(date +%s) - t0 ))s" | tee -a "$res/parts.txt"
  return $rc
}

# A peer run that wrote no row (PyTorch missing, killed at its time, crashed) still gets one in peer.csv:
# the arch, the device and the reason in the error column, the figures empty.
peer_failed() {
  local arch=$1 reason=$2
  [ -s "$res/peer.csv" ] || echo "side,arch,device,device_name,torch,d_model,n_layers,seq_len,batch,params,train_tokens_per_s,train_tokens_per_s_std,step_ms,decode_tokens_per_s,peak_bytes,peak_kind,n,error" > "$res/peer.csv"
  echo "pytorch-eager-fp32,$arch,$peer_device,,,$d,$layers,$L,$B,,,,,,,,,$(printf '%s' "$reason" | tr ',"\n' ';  ' | cut -c1-300)" >> "$res/peer.csv"
}

cd "$work"
timeout 60 "${app[@]}" list --json > "$res/backends.json" 2>"$res/list.log" || true

for arch in transformer lstm mamba; do
  rows=$(cat "$res/peer.csv" 2>/dev/null | wc -l)
  s=$(share 5)
  part "peer-$arch" "$s" "$python" "$root/scripts/peer-pytorch.py" --arch "$arch" --device "$peer_device" --d-model $d \
    --layers $layers --heads $heads --seq-len $L --batch $B --steps $steps --decode $decode --csv "$res/peer.csv"
  rc=$?
  if [ "$(cat "$res/peer.csv" 2>/dev/null | wc -l)" = "$rows" ]; then
    case $rc in
      255) peer_failed "$arch" "not run: the check's budget was spent" ;;
      124) peer_failed "$arch" "killed at its ${s}s$(tail -n 1 "$res/peer-$arch.log" 2>/dev/null | sed 's/^./: &/')" ;;
      *) peer_failed "$arch" "exit $rc$(tail -n 1 "$res/peer-$arch.log" 2>/dev/null | sed 's/^./: &/')" ;;
    esac
  fi
done
for arch in transformer lstm mamba; do
  extra=(); [ "$arch" = transformer ] && extra=(--set n_heads=$heads)
  # seqarena's own time limit ends the run first, so a run out of time still writes its row (status timeout)
  s=$(share 15)
  part "gpu-sized-$arch" "$s" "${app[@]}" run --arch "$arch" --preset none --set d_model=$d --set n_layers=$layers "${extra[@]}" \
    --task induction-heads --task-param vocab_size=32 --seq-len $L --batch-size $B --steps $steps \
    --backend "$backend" --time-limit $(( s > 20 ? s - 8 : s )) --out "$res/gpu-sized/$arch"
done
part micro "$(share 20)" "${app[@]}" micro --backend "$backend" --lengths $lengths --width 64 --time-budget-ms $micro_budget_ms \
  --max-sample-ms 4000 --max-memory-mb 16384 --out "$res/micro-$backend"
part "$suite" "$(share 100)" "${app[@]}" bench --suite "$suite" --backend "$backend" --out "$res/$suite-$backend" --no-report \
  --time-limit 120 $([ "${SEQARENA_GPU_TINY:-0}" = 1 ] && echo --steps 2)
