/** Number and table formatting for the terminal stats view. */

export function fmtUs(us: number): string {
  if (!Number.isFinite(us) || us <= 0) return '-';
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a < 10_000) return String(Math.round(n));
  if (a < 10_000_000) return `${(n / 1000).toFixed(1)}k`;
  if (a < 10_000_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return `${(n / 1_000_000_000).toFixed(1)}G`;
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v.toFixed(1)}${units[u]}`;
}

export function fmtRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  return `${fmtCount(perSecond)}/s`;
}

export function fmtPct(part: number, whole: number): string {
  if (whole <= 0) return '-';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

export function fmtHexPage(page: number): string {
  return '0x' + (page * 4096).toString(16).padStart(8, '0');
}

/**
 * A plain text table: first column left-aligned, the rest right-aligned
 * (numbers), columns two spaces apart.
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
