#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node and no network, into .gpu/
# (git-ignored, about 30 MiB): this machine's Node binary, the suite bundled by scripts/gpu-bundle.sh
# (one ES module for the CLI and one for each module the kernel pools' worker threads load, tfjs's wasm
# binaries, Dawn for linux-x64 from npm `webgpu`), and the Vulkan/EGL loader packages (Debian amd64) in
# case the GPU machine lacks them.
# Run it on an x86-64 Linux machine after `npm ci`:   bash scripts/gpu-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
pack=.gpu
rm -rf "$pack/app" "$pack/app.tar.xz" "$pack/debs"
mkdir -p "$pack/debs"

[ "$(uname -m)" = x86_64 ] || { echo "gpu-pack: build on x86-64 (this is $(uname -m))" >&2; exit 2; }

# 1. The suite bundled (the CLI, the kernel pools' worker modules, wasm binaries, Dawn).
bash scripts/gpu-bundle.sh "$pack/app"
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
