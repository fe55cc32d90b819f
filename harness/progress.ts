/**
 * Progress of a suite on the terminal: an in-place line with the run, step, loss and throughput on a
 * TTY, one line per finished run otherwise (CI logs).
 */
import type { RunnerEvent } from './runner.ts';

import { formatNumber, formatPercent, formatSpread } from './format.ts';

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (event: RunnerEvent) => void {
  const tty = Boolean(stream.isTTY);
  let live = false;
  const clear = () => {
    if (live) stream.write('\r\x1b[2K');
    live = false;
  };
  return (event) => {
    const name = (e: { run: { arch: { name: string }; task: { name: string }; spec: { preset: string | null } } }) => `${e.run.arch.name}${e.run.spec.preset ? `/${e.run.spec.preset}` : ''} on ${e.run.task.name}`;
    switch (event.type) {
      case 'start':
        if (!tty) stream.write(`[${event.index + 1}/${event.total}] ${name(event)} …\n`);
        break;
      case 'skip':
        clear();
        stream.write(`[${event.index + 1}/${event.total}] ${name(event)}: skipped (${event.reason})\n`);
        break;
      case 'step':
        if (tty) {
          clear();
          stream.write(`  ${name(event)}  step ${event.step}/${event.total}  loss ${formatNumber(event.loss)}  ${formatNumber(event.tokensPerS)} tokens/s`);
          live = true;
        }
        break;
      case 'eval':
        if (tty) {
          clear();
          stream.write(`  ${name(event)}  step ${event.step}: valid accuracy ${formatPercent(event.accuracy)}\n`);
        }
        break;
      case 'end': {
        clear();
        const acc = event.rows.find((r) => r.phase === 'eval' && (r.metric === 'accuracy' || r.metric === 'exact_match') && r.slice === null);
        const tps = event.rows.find((r) => r.metric === 'tokens_per_s');
        const parts = [
          event.status === 'ok' ? 'ok' : `${event.status.toUpperCase()}: ${event.error}`,
          acc ? `${acc.metric.replace('_', ' ')} ${formatSpread(acc.value ?? NaN, null, acc.n, acc.unit)}` : null,
          tps ? `train ${formatSpread(tps.value ?? NaN, tps.stddev, tps.n, tps.unit)}` : null,
          `${event.seconds.toFixed(1)} s`,
        ].filter(Boolean);
        stream.write(`[${event.index + 1}/${event.total}] ${name(event)}: ${parts.join(', ')}\n`);
        break;
      }
    }
  };
}
