/**
 * The report as Markdown, for a README or a pull-request comment: the same tables as the page (units,
 * n and spread in every figure) and the charts as PNG images linked to their SVGs.
 */
import type { PageInput } from './html.ts';
import { describeFailure } from './data.ts';
import type { Table } from './summary.ts';

const escapeCell = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The table's lines alone (header, rule, rows), numeric columns right-aligned, cells escaped. */
export function markdownTableLines(t: Pick<Table, 'columns' | 'rows'>): string[] {
  const numeric = t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => /^[−+-]?[\d.,]+( |$)|^—$/.test(r[i])));
  const header = `| ${t.columns.map(escapeCell).join(' | ')} |`;
  const rule = `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`;
  const body = t.rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`);
  return [header, rule, ...body];
}

export function tableMarkdown(t: Table, level = '##'): string {
  return [`${level} ${t.title}`, '', t.note, '', ...markdownTableLines(t)].join('\n');
}

/** The page's content, and where the chart files are relative to the Markdown file (default "charts"). */
export interface MarkdownInput extends PageInput {
  chartsDir?: string;
}

export function renderMarkdown(input: MarkdownInput): string {
  const dir = input.chartsDir ?? 'charts';
  const parts = [`# ${input.title}`, '', input.subtitle];
  if (input.alerts.length > 0) parts.push('', ...input.alerts.map((a) => `> **Warning:** ${a}`));
  for (const t of input.tablesBefore) parts.push('', tableMarkdown(t));
  if (input.charts.length > 0) {
    parts.push('', '## Charts');
    for (const c of input.charts) {
      parts.push('', `### ${c.title}`, '', c.description, '', `[![${c.title}](${dir}/${c.name}.png)](${dir}/${c.name}.svg)`);
      if (c.missing.length > 0) parts.push('', `Missing from this chart: ${c.missing.map(describeFailure).join('; ')}.`);
    }
  }
  for (const t of input.tablesAfter) parts.push('', tableMarkdown(t));
  return parts.join('\n') + '\n';
}
