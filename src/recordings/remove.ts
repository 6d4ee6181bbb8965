// Removing a recording's file and its catalogue row together. The row is marked first, so a
// process killed between the unlink and the row delete leaves a marked row that the next prune
// finishes; a file that cannot be removed keeps its row.
import { unlinkSync } from 'node:fs';
import { isUnderRoot, recordingFileProblem } from './recording-path';
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
  // Never through a link: a linked folder inside the root would make this unlink a file outside it.
  const problem = recordingFileProblem(root, path, { allowMissing: true, allowNonRegular: true });
  if (problem !== null) return { result: 'outside-root', error: `${problem}; left alone` };
  let result: RemoveResult;
  try {
    unlinkSync(path);
    result = 'deleted';
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') return { result: 'failed', error: e.code ?? e.message };
    result = 'already-gone';
  }
  // MistServer writes its header cache beside a file it has played as VoD (<file>.dtsh, seen on
  // the real server after vod+<id>); without its recording it is litter. Same folder, already
  // checked for links above; an unlink of a link removes the link only. Best effort.
  try {
    unlinkSync(`${path}.dtsh`);
  } catch {
    // none, or not ours to worry about: the recording itself is gone
  }
  return { result };
}

/**
 * Removes a batch: marks the rows (in one transaction), unlinks each file, then deletes the rows
 * whose file is gone and unmarks the others (in one transaction each).
 */
export function removeRecordings(db: Db, root: string, targets: readonly RemoveTarget[], now: number): RemoveOutcome[] {
  const inside = targets.filter((t) => isUnderRoot(root, t.path));
  markRecordingsDeleting(db, inside.map((t) => t.id), now);
  const outcomes = targets.map((t) => ({ id: t.id, ...unlinkRecording(root, t.path) }));
  deleteRecordingRows(db, outcomes.filter((o) => o.result === 'deleted' || o.result === 'already-gone').map((o) => o.id), now);
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
