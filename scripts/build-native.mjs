#!/usr/bin/env node
// Builds the optional native kernels (native/src/*.c) into native/build/seqarena.node with the system
// C compiler and Node's own headers. Runs as npm's install script and never fails the install: where
// there is no compiler, no headers, or a compile error, it says so in one line and seqarena uses its
// WebAssembly kernels instead (`seqarena list` says which are active).
//
//   node scripts/build-native.mjs            build (again)
//   SEQARENA_NATIVE=0 npm ci                 skip the build
//   CC=clang node scripts/build-native.mjs   another compiler
//
// Files named *.avx2.c are compiled with -mavx2 -mfma and *.avx512.c with AVX-512 flags; the generic
// files dispatch to them at run time (core.c: seqarena_isa), so one build runs on any x86-64 CPU.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native', 'src');
const build = path.join(root, 'native', 'build');
const target = path.join(build, 'seqarena.node');
const logFile = path.join(build, 'build.log');
const log = [];

const ISA_FLAGS = {
  avx2: ['-mavx2', '-mfma'],
  avx512: ['-mavx512f', '-mavx512vl', '-mavx512bw', '-mavx512dq', '-mfma', '-mavx2'],
};

function say(message) {
  console.log(`seqarena native kernels: ${message}`);
}

function run(cmd, args) {
  log.push(`$ ${cmd} ${args.join(' ')}`);
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (out) log.push(out);
    return true;
  } catch (error) {
    log.push(String(error.stderr ?? error.message));
    return false;
  }
}

function findCompiler() {
  const candidates = process.env.CC ? [process.env.CC] : ['cc', 'gcc', 'clang'];
  for (const cc of candidates) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
      return cc;
    } catch {
      // try the next one
    }
  }
  return null;
}

function findNodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ].filter(Boolean);
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h'))) ?? null;
}

function main() {
  if (process.env.SEQARENA_NATIVE === '0') return say('skipped (SEQARENA_NATIVE=0); using the WebAssembly kernels');
  const cc = findCompiler();
  if (!cc) return say('no C compiler found (set CC); using the WebAssembly kernels');
  const headers = findNodeHeaders();
  if (!headers) return say(`no Node headers found beside ${process.execPath} (set npm_config_nodedir); using the WebAssembly kernels`);
  fs.mkdirSync(build, { recursive: true });
  const files = fs.readdirSync(src).filter((f) => f.endsWith('.c')).sort();
  const objects = [];
  const defines = [];
  const isaOf = (file) => Object.keys(ISA_FLAGS).find((isa) => file.endsWith(`.${isa}.c`)) ?? null;
  // An instruction set whose files do not compile is left out whole; the generic code then never calls it.
  const dropped = new Set();
  for (const isa of Object.keys(ISA_FLAGS)) {
    const probe = path.join(build, `probe-${isa}.o`);
    const probeSrc = path.join(build, 'probe.c');
    fs.writeFileSync(probeSrc, 'int seqarena_probe(void) { return 0; }\n');
    if (!run(cc, ['-c', ...ISA_FLAGS[isa], probeSrc, '-o', probe])) dropped.add(isa);
    else defines.push(`-DSEQARENA_HAVE_${isa.toUpperCase()}`);
  }
  const common = ['-O3', '-fPIC', '-std=gnu11', '-pthread', '-fno-math-errno', `-I${headers}`, `-I${src}`, ...defines];
  for (const file of files) {
    const isa = isaOf(file);
    if (isa && dropped.has(isa)) continue;
    const object = path.join(build, file.replace(/\.c$/, '.o'));
    if (!run(cc, ['-c', ...common, ...(isa ? ISA_FLAGS[isa] : []), path.join(src, file), '-o', object])) {
      return say(`compiling native/src/${file} failed (see native/build/build.log); using the WebAssembly kernels`);
    }
    objects.push(object);
  }
  const tmp = `${target}.tmp-${process.pid}`;
  if (!run(cc, ['-shared', '-pthread', ...objects, '-o', tmp, '-lm'])) {
    return say('linking failed (see native/build/build.log); using the WebAssembly kernels');
  }
  fs.renameSync(tmp, target);
  const isas = Object.keys(ISA_FLAGS).filter((isa) => !dropped.has(isa));
  say(`built native/build/seqarena.node with ${cc} (${isas.length ? isas.join(', ') + ' + ' : ''}generic)`);
}

try {
  main();
} catch (error) {
  say(`build skipped: ${error.message}; using the WebAssembly kernels`);
} finally {
  try {
    fs.mkdirSync(build, { recursive: true });
    fs.writeFileSync(logFile, log.join('\n') + '\n');
  } catch {
    // the log is a convenience
  }
}
