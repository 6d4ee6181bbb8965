// Human byte sizes for flags such as --max-total-size 500G (powers of 1024).

const UNIT_BYTES: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses "500G", "1.5T", "20m", "4096"; null when not a size. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(text.trim().toLowerCase());
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * UNIT_BYTES[m[2]!]!);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Formats bytes as a short human size ("1.4 MiB", "512 B"). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
