// Plain-text output helpers shared by the commands.
import { printable } from '../lib/names';
import { isoTime } from '../lib/time';

export { isoTime };

/** Unix ms → short UTC time for tables, "-" when absent. */
export function shortTime(ms: number | null | undefined): string {
  const iso = isoTime(ms);
  return iso ? iso.replace('T', ' ').replace('Z', 'Z') : '-';
}

/** Left-aligned columns with a header row; every cell is already a string. Control characters in
 * stored text (names, notes, reasons from older versions or other writers) print as "?". */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A new key with the one-time warning (the only time it is shown). */
export function newKeyMessage(key: string, label: string): string {
  return `stream key "${label}" (shown once, store it now): ${key}\nbroadcaster pushes to: rtmp://<your-host>/live/${key}\n`;
}
