/** Text widths as resvg draws them, for vega's layout without a canvas and for the page's layout hints. */

/**
 * Advance widths of Liberation Sans (metric-compatible with Arial and Helvetica), in 1/1000 em, for
 * ASCII 32–126. Without a canvas vega guesses 0.8 em per character, which makes layouts too loose (titles
 * float far above plots) and truncates labels early; vega lets a user-defined width replace the guess.
 */
const ASCII_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
  667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556,
  556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const EM_WIDE = new Set(['…', '—', '‰']);
const EM_NARROW = new Set(['·', '•', '’', '‘']);

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}

/** Width in pixels of one line of text as resvg will draw it with Liberation Sans. */
export function textWidth(item: TextItem, text: unknown): number {
  const size = item.fontSize ?? 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  let em = 0;
  for (const ch of String(text ?? '')) {
    const code = ch.codePointAt(0)!;
    em += (code >= 32 && code <= 126 ? ASCII_WIDTHS[code - 32] : EM_WIDE.has(ch) ? 1000 : EM_NARROW.has(ch) ? 278 : 584) / 1000;
  }
  return em * size * (bold ? 1.08 : 1);
}

