// Removing a recording's file and its catalogue row together. The row is marked first, so a
// process killed between the unlink and the row delete leaves a marked row that the next prune
// finishes; a file that cannot be removed keeps its row.
import { unlinkSync } from 'node:fs';
import { isUnderRoot } from './recording-path';
import type { Db } from '../store/open';
import { deleteRecordingRows, markRecordingsDeleting, unmarkRecordingsDeleting } from '../store/recordings';

/** What happened to one recording. */
export type RemoveResult = 'deleted' | 'already-gone' | 'failed' | 'outside-root';

export interface RemoveTarget {
  id: string;
  path: string;
}

export interface RemoveOutcome {
  id: string;
  result: RemoveResult;
  /** Why a file could not be removed (failed) or was not touched (outside-root). */
  error?: string;
}

/** Unlinks one file; classifies the result without throwing. */
function unlinkRecording(root: string, path: string): { result: RemoveResult; error?: string } {
  if (!isUnderRoot(root, path)) return { result: 'outside-root', error: 'not under recordings-root; left alone' };
  try {
    unlinkSync(path);
    return { result: 'deleted' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { result: 'already-gone' };
    return { result: 'failed', error: e.code ?? e.message };
  }
}

/**
 * Removes a batch: marks the rows (in one transaction), unlinks each file, then deletes the rows
 * whose file is gone and unmarks the others (in one transaction each).
 */
export function removeRecordings(db: Db, root: string, targets: readonly RemoveTarget[], now: number): RemoveOutcome[] {
  const inside = targets.filter((t) => isUnderRoot(root, t.path));
  markRecordingsDeleting(db, inside.map((t) => t.id), now);
  const outcomes = targets.map((t) => ({ id: t.id, ...unlinkRecording(root, t.path) }));
  deleteRecordingRows(db, outcomes.filter((o) => o.result === 'deleted' || o.result === 'already-gone').map((o) => o.id));
  unmarkRecordingsDeleting(db, outcomes.filter((o) => o.result === 'failed').map((o) => o.id));
  return outcomes;
}

/** Recordings per batch: each batch's transactions hold the write lock for a few ms. */
export const REMOVE_BATCH = 500;

/** removeRecordings, REMOVE_BATCH at a time (any number of targets); `onBatch` after each. */
export function removeRecordingsInBatches(
  db: Db,
  root: string,
  targets: readonly RemoveTarget[],
  now: number,
  onBatch: (done: number, total: number) => void = () => {},
): RemoveOutcome[] {
  const outcomes: RemoveOutcome[] = [];
  for (let i = 0; i < targets.length; i += REMOVE_BATCH) {
    outcomes.push(...removeRecordings(db, root, targets.slice(i, i + REMOVE_BATCH), now));
    onBatch(Math.min(i + REMOVE_BATCH, targets.length), targets.length);
  }
  return outcomes;
}
