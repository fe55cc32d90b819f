/** `seqarena list`: architectures with presets and parameter counts, tasks with parameters, suites, backends. */
import type { Command } from 'commander';
import type { z } from 'zod';
import { ARCHITECTURES } from '../../architectures/index.ts';
import { PRESET_NAMES, type Architecture } from '../../architectures/types.ts';
import { TASKS } from '../../tasks/index.ts';
import type { Task } from '../../tasks/types.ts';
import { activeKernels } from '../../architectures/kernels/active.ts';
import { availableBackends, engineThreads } from '../engine.ts';
import { SUITES } from '../suites/index.ts';
import type { Suite } from '../suites/types.ts';

/** Reference sizes for listing parameter counts: vocabulary 32, context 256. */
const LIST_IO = { vocabSize: 32, maxLen: 256, padId: 0 };

function fieldsOf(schema: z.ZodObject): { name: string; default: unknown; description: string }[] {
  const defaults = schema.parse({}) as Record<string, unknown>;
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    default: defaults[name],
    description: (field as z.ZodType).description ?? '',
  }));
}

export async function listing() {
  const archs = Object.values(ARCHITECTURES as Record<string, Architecture>).map((a) => ({
    name: a.name,
    family: a.family,
    form: a.form,
    description: a.description,
    presets: Object.fromEntries(
      PRESET_NAMES.map((p) => {
        const config = a.config.parse(a.presets[p]);
        return [p, { params: a.paramCount(config, LIST_IO), ...a.size(config) }];
      }),
    ),
    config: fieldsOf(a.config),
  }));
  const tasks = Object.values(TASKS as Record<string, Task>).map((t) => ({
    name: t.name,
    kind: t.kind,
    description: t.description,
    params: fieldsOf(t.params),
  }));
  const suites = Object.values(SUITES as Record<string, Suite>).map((s) => ({
    name: s.name,
    description: s.description,
    runs: s.runs({ scale: 'cpu' }).length,
  }));
  return { architectures: archs, tasks, suites, backends: await availableBackends(), kernels: activeKernels(), threads: engineThreads(), parameter_counts_at: LIST_IO };
}

const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

export function register(program: Command): void {
  program
    .command('list')
    .description('list architectures (presets, parameter counts), tasks (parameters), suites, backends and the active kernels')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const l = await listing();
      if (o.json) {
        process.stdout.write(JSON.stringify(l, null, 2) + '\n');
        return;
      }
      const out: string[] = [`Architectures (parameters at vocab ${LIST_IO.vocabSize}, context ${LIST_IO.maxLen}):`];
      for (const a of l.architectures) {
        const presets = Object.entries(a.presets).map(([p, v]) => `${p} ${v.params.toLocaleString('en-US')} (d=${v.dModel}, ${v.nLayers} layers)`);
        out.push(`  ${a.name.padEnd(20)} ${a.family.padEnd(12)} ${a.form.padEnd(8)} ${presets.join(' · ')}`, `      ${a.description}`);
      }
      out.push('', 'Tasks:');
      for (const t of l.tasks) {
        out.push(`  ${t.name.padEnd(20)} ${t.kind.padEnd(13)} ${t.description}`);
        out.push(`      params: ${t.params.map((p) => `${p.name}=${show(p.default)}`).join(' ')}`);
      }
      out.push('', 'Suites:');
      for (const s of l.suites) out.push(`  ${s.name.padEnd(20)} ${String(s.runs).padStart(3)} runs  ${s.description}`);
      out.push('', 'Backends:');
      for (const b of l.backends) out.push(`  ${b.name.padEnd(12)} ${b.installed ? 'available' : `${b.reason}; ${b.hint}`}`.trimEnd());
      out.push('', `Kernels on the cpu and wasm backends (${l.threads} threads; --threads N or SEQARENA_THREADS):`);
      const { webgpu, ...host } = l.kernels;
      for (const [name, detail] of Object.entries(host)) out.push(`  ${name.padEnd(12)} ${detail}`);
      out.push('', 'Kernels on the webgpu backend:', `  ${webgpu}`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
