/** Parses QEMU-style sizes: "512M", "2G", "1024K", "4096" (bytes), "1.5G". */

export class SizeError extends Error {
  constructor(what: string, value: string) {
    super(`${what}: cannot parse size ${JSON.stringify(value)}; use a number with an optional K, M, G or T suffix, e.g. 512M`);
    this.name = 'SizeError';
  }
}

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(what: string, value: string, defaultUnit = 'M'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTB]?)(?:i?B)?\s*$/i.exec(value);
  if (!m) throw new SizeError(what, value);
  const unit = m[2]!.toUpperCase() || defaultUnit;
  const bytes = Math.round(Number(m[1]) * UNITS[unit]!);
  if (!Number.isFinite(bytes) || bytes <= 0) throw new SizeError(what, value);
  return bytes;
}
