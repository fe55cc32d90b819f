/**
 * `seqarena score --hyp FILE --ref FILE [--ref FILE …] [--json]`: BLEU and chrF of detokenised
 * hypotheses against one or more reference files, one sentence a line, computed as sacreBLEU computes
 * its defaults (tasks/translation-metrics.ts):
 *
 *   BLEU = 27.30 60.0/33.3/20.0/12.5 (BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)
 *   chrF2 = 45.12
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { bleu, chrf, CHRF_BETA, CHRF_CHAR_ORDER, formatBleu, formatChrf } from '../../tasks/translation-metrics.ts';
import { UsageError } from '../errors.ts';

/** The lines of a text file; a final newline does not start another sentence. */
function readLines(flag: string, path: string): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code ?? 'not valid UTF-8';
    throw new UsageError(`cannot read ${flag} file '${path}': ${reason}; give a UTF-8 text file with one sentence a line`);
  }
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('score')
    .description('BLEU and chrF of hypotheses against references, one sentence a line (sacreBLEU defaults: 13a, exp smoothing; chrF2)')
    .requiredOption('--hyp <file>', 'detokenised hypotheses, one sentence a line')
    .option('--ref <file>', 'references, one sentence a line; repeat for more references per sentence', collect, [])
    .option('--json', 'print one JSON object')
    .action((o: { hyp: string; ref: string[]; json?: boolean }) => {
      if (o.ref.length === 0) throw new UsageError('score needs at least one --ref FILE (one reference sentence a line)');
      const hyps = readLines('--hyp', o.hyp);
      const refs = o.ref.map((path) => {
        const lines = readLines('--ref', path);
        if (lines.length !== hyps.length) {
          throw new UsageError(`--ref file '${path}' has ${lines.length} lines but --hyp file '${o.hyp}' has ${hyps.length}; give one line per sentence in every file`);
        }
        return lines;
      });
      hyps.forEach((_, i) => {
        if (refs.every((stream) => stream[i] === '')) {
          throw new UsageError(`line ${i + 1} is empty in every --ref file (${o.ref.join(', ')}); each sentence needs a non-empty reference`);
        }
      });

      const b = bleu(hyps, refs);
      const c = chrf(hyps, refs);
      if (o.json) {
        const result = {
          sentences: hyps.length,
          references: refs.length,
          bleu: { score: b.score, precisions: b.precisions, bp: b.bp, ratio: b.refLen > 0 ? b.sysLen / b.refLen : 0, sys_len: b.sysLen, ref_len: b.refLen, counts: b.counts, totals: b.totals, tokenize: '13a', smooth: 'exp' },
          chrf: { score: c.score, char_order: CHRF_CHAR_ORDER, beta: CHRF_BETA },
        };
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        process.stdout.write(`${formatBleu(b)}\n${formatChrf(c)}\n`);
      }
    });
}
