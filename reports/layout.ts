/**
 * Fitting a chart to the width it is shown at. Vega-Lite's `width: "container"` does not reach into
 * facets, so every spec carries hints (`usermeta.fit`) and `fitToWidth` sets panel widths, the number of
 * facet columns and the legend's columns from the width available. The page runs this same function in
 * the browser on each chart's container (html.ts inlines its source), and the PNGs use it at PNG_WIDTH.
 * It must stay self-contained (no imports, no helpers outside its body) for that.
 */

export interface FitHints {
  /** facet: wrapped panels (`columns` at most); hconcat: side-by-side panels; single: one view. */
  kind: 'facet' | 'hconcat' | 'single';
  /** Most panels a row (facet) or the number of panels (hconcat). */
  columns: number;
  /** Pixels taken by what is not a plot: the first y axis, padding. */
  reserve: number;
  /** Pixels between two panels (spacing, plus a y axis each when the scales are independent). */
  gap: number;
  /** Narrowest panel worth drawing: below it, fewer columns. */
  minPanel: number;
  /** Widest legend entry in pixels, to choose the legend's columns (absent: no legend to fit). */
  legendEntry?: number;
  /** Legends side by side below the plot (colour, dash, shape), sharing the width. */
  legends?: number;
}

/** Width the PNG and SVG files are drawn at (the page's content width at 1,400 px). */
export const PNG_WIDTH = 1180;

// The spec is plain JSON here: typed loosely so the same source runs untyped in the browser.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fitToWidth(spec: any, width: number): any {
  const fit = spec && spec.usermeta && spec.usermeta.fit;
  if (!fit) return spec;
  const out = JSON.parse(JSON.stringify(spec));
  const room = Math.max(160, width - fit.reserve);
  if (fit.kind === 'facet') {
    const columns = Math.max(1, Math.min(fit.columns, Math.floor((room + fit.gap) / (fit.minPanel + fit.gap))));
    out.columns = columns;
    out.spec.width = Math.max(120, Math.floor((room - (columns - 1) * fit.gap) / columns));
  } else if (fit.kind === 'hconcat') {
    const columns = Math.max(1, Math.min(fit.columns, Math.floor((room + fit.gap) / (fit.minPanel + fit.gap))));
    const panelWidth = Math.max(120, Math.floor((room - (columns - 1) * fit.gap) / columns));
    if (columns < fit.columns) {
      out.vconcat = out.hconcat;
      delete out.hconcat;
    }
    for (const panel of out.vconcat || out.hconcat) panel.spec.width = columns < fit.columns ? Math.max(120, room) : panelWidth;
  } else {
    out.width = room;
  }
  if (fit.legendEntry) {
    out.config = out.config || {};
    out.config.legend = Object.assign({}, out.config.legend, { columns: Math.max(1, Math.floor((width - 24) / (fit.legends || 1) / (fit.legendEntry + 24) - 0.5)) });
  }
  return out;
}
