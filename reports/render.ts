/**
 * Rendering specs without a browser: Vega-Lite compiles to Vega, vega's headless View draws SVG, and
 * resvg rasterises that SVG to PNG (twice the SVG's size, for sharp images in READMEs).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ChartSpec, RenderedChart } from './types.ts';
import { fitToWidth, PNG_WIDTH } from './layout.ts';
import { textWidth } from './text-width.ts';

export { textWidth };

(vega as unknown as { textMetrics: { width: typeof textWidth } }).textMetrics.width = textWidth;

/** A vega logger that keeps warnings and errors instead of printing them. */
export function collectingLogger(messages: string[]): vega.LoggerInterface {
  const keep = (...args: unknown[]) => messages.push(args.map(String).join(' '));
  const logger: vega.LoggerInterface = {
    level: (() => logger) as vega.LoggerInterface['level'],
    error: (...args: readonly unknown[]) => (keep(...args), logger),
    warn: (...args: readonly unknown[]) => (keep(...args), logger),
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** Compile a Vega-Lite spec to Vega, returning the compiler's warnings beside it. */
export function compileSpec(spec: TopLevelSpec): { vega: vega.Spec; warnings: string[] } {
  const warnings: string[] = [];
  const compiled = compile(spec, { logger: collectingLogger(warnings) });
  return { vega: compiled.spec, warnings };
}

/** Draw a spec to SVG; vega's run-time warnings go to `messages` when given (else to the console). */
export async function renderSvg(spec: TopLevelSpec, messages?: string[]): Promise<string> {
  const logger = messages ? collectingLogger(messages) : undefined;
  const view = new vega.View(vega.parse(compileSpec(spec).vega), { renderer: 'none', logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG → PNG. resvg is a native module, loaded on first use so that commands which draw nothing never load it. */
export async function renderPng(svg: string, zoom = 2): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: zoom },
    font: { loadSystemFonts: true, defaultFontFamily: 'Liberation Sans', sansSerifFamily: 'Liberation Sans' },
  });
  return resvg.render().asPng();
}

export async function renderChart(chart: ChartSpec): Promise<RenderedChart> {
  const svg = await renderSvg(fitToWidth(chart.spec, PNG_WIDTH));
  return { name: chart.name, svg, png: await renderPng(svg) };
}
