/**
 * The one number formatter of the suite: the CLI's progress lines, the Markdown exports and the report's
 * tables all print figures through it, so a figure reads the same everywhere.
 *
 *   formatNumber(26496)            "26,496"        (whole numbers from 1,000 up, thousands separated)
 *   formatNumber(0.001953)         "0.00195"       (3 significant digits below 1,000)
 *   formatValue(0.1875, 'fraction') "18.8 %"
 *   formatValue(4194304, 'bytes')  "4 MiB"         (binary prefixes, as the charts' memory axes)
 *   formatSpread(1450, 1012, 20, 'tokens/s')  "1,450 ± 1,012 tokens/s (n=20)"
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 3 significant digits below 1,000; whole and thousands-separated above; an exponent only for the tiny and the huge. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e15 || abs < 1e-4) return value.toExponential(2).replace('e+', 'e');
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(3)).toString();
}

/** Bytes with binary prefixes, 3 significant digits: "4 MiB", "1.5 GiB", "512 B". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${BYTE_UNITS[i]}`;
}

/** A fraction as a percentage with one decimal: 0.1875 → "18.8 %". */
export const formatPercent = (fraction: number): string => (Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : String(fraction));

/** A figure with its unit from the metric catalogue (bytes binary, fractions as %, others "value unit"). */
export function formatValue(value: number, unit: string): string {
  if (unit === 'bytes') return formatBytes(value);
  if (unit === 'fraction') return formatPercent(value);
  const text = formatNumber(value);
  return unit === '' || unit === 'exponent' ? text : `${text} ${unit}`;
}

/** "1,450 ± 1,012 tokens/s (n=20)": value, spread (when known) and sample count, one formatter for both. */
export function formatSpread(value: number, stddev: number | null, n: number | null, unit: string): string {
  const withUnit = (v: number) => formatValue(v, unit);
  if (unit === 'bytes' || unit === 'fraction') {
    const spread = stddev === null ? '' : ` ± ${withUnit(stddev)}`;
    return `${withUnit(value)}${spread}${n === null ? '' : ` (n=${n})`}`;
  }
  const spread = stddev === null ? '' : ` ± ${formatNumber(stddev)}`;
  const tail = unit === '' || unit === 'exponent' ? '' : ` ${unit}`;
  return `${formatNumber(value)}${spread}${tail}${n === null ? '' : ` (n=${n})`}`;
}
