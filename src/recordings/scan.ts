// `recordings scan`: files under the root that the catalogue does not know, and catalogue rows
// whose file is gone. Read-only.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../store/open';
import { iterateRecordingPaths } from '../store/recordings';

/** Files written to within this window are probably being recorded right now (no row yet). */
const IN_PROGRESS_MS = 120_000;

export interface ScanReport {
  filesWithoutRow: { path: string; bytes: number; modifiedAt: number }[];
  /** Files without a row that are still being written (recent modification). */
  filesInProgress: { path: string; bytes: number; modifiedAt: number }[];
  rowsWithoutFile: { id: string; path: string }[];
  filesSeen: number;
  rowsSeen: number;
}

/** Every regular file under dir (symbolic links are not followed). */
function* walk(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** Compares the files under root with the catalogue. */
export function scanRecordings(db: Db, root: string, now: number): ScanReport {
  const files = new Map<string, { bytes: number; modifiedAt: number }>();
  for (const p of walk(root)) {
    const st = lstatSync(p);
    files.set(p, { bytes: st.size, modifiedAt: Math.round(st.mtimeMs) });
  }
  // MistServer's header cache beside a file it played (<file>.dtsh) belongs to that file, not to
  // the catalogue: reported only when its file is gone.
  for (const p of files.keys()) if (p.endsWith('.dtsh') && files.has(p.slice(0, -'.dtsh'.length))) files.delete(p);
  const report: ScanReport = { filesWithoutRow: [], filesInProgress: [], rowsWithoutFile: [], filesSeen: files.size, rowsSeen: 0 };
  for (const row of iterateRecordingPaths(db)) {
    report.rowsSeen++;
    if (files.has(row.path)) files.delete(row.path);
    else report.rowsWithoutFile.push(row);
  }
  for (const [path, f] of files) {
    (now - f.modifiedAt < IN_PROGRESS_MS ? report.filesInProgress : report.filesWithoutRow).push({ path, ...f });
  }
  return report;
}
