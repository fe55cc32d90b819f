#!/usr/bin/env bash
# Bundles the suite for a machine without Node's package tree (scripts/gpu-pack.sh packs it for the GPU
# check) into DIR: seqarena.mjs (the CLI, harness/main.ts, as one ES module), one ES module per module
# the kernel pools' worker threads load (each `kernelModule('NAME', …)` in architectures/: the workers
# and their tasks modules), tfjs's wasm binaries, and Dawn for linux-x64 (npm `webgpu`).
#   bash scripts/gpu-bundle.sh DIR          then: node DIR/seqarena.mjs …
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: gpu-bundle.sh DIR}
rm -rf "$dir"
mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"

# The worker modules: named where they are loaded, so a new pool's module cannot be left out of the bundle.
entries=(seqarena=harness/main.ts)
while IFS=: read -r caller name; do
  file=$(dirname "$caller")/$name.ts
  [ -f "$file" ] || { echo "gpu-bundle: $caller loads kernel module '$name', but there is no $file" >&2; exit 2; }
  entries+=("$name=$file")
done < <(grep -rHoP --include='*.ts' "kernelModule\('\K[^']+" architectures | sort -u)

# CommonJS dependencies (tfjs-backend-wasm) need require/__dirname; SEQARENA_ENTRY makes the runner
# re-execute this bundle for each run's child process (a worker inherits the value its parent set).
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path';
const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);
process.env.SEQARENA_ENTRY ??= __filename;"
npx esbuild "${entries[@]}" --bundle --platform=node --format=esm --target=node20 --minify \
  --outdir="$dir" --out-extension:.js=.mjs --banner:js="$banner" \
  --external:webgpu --external:@resvg/resvg-js --external:playwright-core \
  --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node --log-level=warning
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$dir/"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$dir/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$dir/node_modules/webgpu/dist/linux-x64/"
echo "gpu-bundle: $dir: ${entries[*]%%=*}"
