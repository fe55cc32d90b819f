#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node and no network, into .gpu/
# (git-ignored, about 50 MiB): this machine's Node binary, the suite bundled into one ES module with
# esbuild, tfjs's wasm binaries, Dawn for linux-x64 (npm `webgpu`, pruned to that platform), and the
# Vulkan/EGL loader packages (Debian amd64) in case the GPU machine lacks them.
# Run it on an x86-64 Linux machine after `npm ci`:   bash scripts/gpu-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
pack=.gpu
rm -rf "$pack/app" "$pack/app.tar.xz" "$pack/debs"
mkdir -p "$pack/app/node_modules/webgpu/dist/linux-x64" "$pack/debs"

[ "$(uname -m)" = x86_64 ] || { echo "gpu-pack: build on x86-64 (this is $(uname -m))" >&2; exit 2; }

# 1. The suite as one ES module. CommonJS dependencies (tfjs-backend-wasm) need require/__dirname;
#    SEQARENA_ENTRY makes the runner re-execute this bundle for each run's child process.
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path';
const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);
process.env.SEQARENA_ENTRY ??= __filename;"
npx esbuild harness/main.ts --bundle --platform=node --format=esm --target=node20 --minify \
  --outfile="$pack/app/seqarena.mjs" --banner:js="$banner" \
  --external:webgpu --external:@resvg/resvg-js --external:playwright-core \
  --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node --log-level=warning
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$pack/app/"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$pack/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$pack/app/node_modules/webgpu/dist/linux-x64/"
echo "{\"git_sha\": \"$(git rev-parse --short=12 HEAD)\", \"packed\": \"$(date -u +%FT%TZ)\"}" > "$pack/app/pack.json"
tar -C "$pack" -cJf "$pack/app.tar.xz" app
rm -rf "$pack/app"

# 2. Node itself (the GPU machine has none); compressed once per Node version.
if [ "$(cat "$pack/node.version" 2>/dev/null)" != "$(node --version)" ]; then
  xz -T0 -6 -c "$(command -v node)" > "$pack/node.xz"
  node --version > "$pack/node.version"
fi

# 3. Vulkan and EGL loaders (Dawn uses Vulkan on NVIDIA); unpacked there only if missing.
if command -v apt-get >/dev/null; then
  lists=$(mktemp -d)
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  mkdir -p "$lists/partial"
  apt-get $o update -qq >/dev/null
  (cd "$pack/debs" && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 >/dev/null)
fi
du -sh "$pack" "$pack"/*
