// Removing a recording's file and its catalogue row together. The row is marked first, so a
// process killed between the unlink and the row delete leaves a marked row that the next prune
// finishes; a file that cannot be removed keeps its row.
import { unlinkSync } from 'node:fs';
import { isUnderRoot, recordingFileProblem, type RealpathCache } from './recording-path';
import type { Db } from '../store/open';
import { markRecordingsDeleting, settleRecordingRemovals } from '../store/recordings';

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
function unlinkRecording(root: string, path: string, realpaths: RealpathCache): { result: RemoveResult; error?: string } {
  // Never through a link: a linked folder inside the root would make this unlink a file outside it.
  // (A path not under the root at all is "not under recordings-root; left alone".)
  const problem = recordingFileProblem(root, path, { allowMissing: true, allowNonRegular: true }, realpaths);
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

/** Recordings per batch: each batch's transaction holds the write lock for a few ms. */
export const REMOVE_BATCH = 500;

/**
 * Removes recordings a batch at a time: the first batch's rows are marked (one transaction), then
 * per batch its files are unlinked and one transaction deletes the rows whose file is gone,
 * unmarks the others and marks the next batch. `onBatch` is called after each batch.
 */
export function removeRecordingsInBatches(
  db: Db,
  root: string,
  targets: readonly RemoveTarget[],
  now: number,
  onBatch: (done: number, total: number) => void = () => {},
): RemoveOutcome[] {
  const batch = (i: number) => targets.slice(i, i + REMOVE_BATCH);
  const toMark = (ts: readonly RemoveTarget[]) => ts.filter((t) => isUnderRoot(root, t.path)).map((t) => t.id);
  const outcomes: RemoveOutcome[] = [];
  if (targets.length > 0) markRecordingsDeleting(db, toMark(batch(0)), now);
  for (let i = 0; i < targets.length; i += REMOVE_BATCH) {
    // The root's and the folders' real locations once per batch, not once per file.
    const realpaths: RealpathCache = new Map();
    const gone: string[] = [];
    const kept: string[] = [];
    for (const t of batch(i)) {
      const o: RemoveOutcome = { id: t.id, ...unlinkRecording(root, t.path, realpaths) };
      if (o.result === 'deleted' || o.result === 'already-gone') gone.push(o.id);
      else if (o.result === 'failed') kept.push(o.id);
      outcomes.push(o);
    }
    settleRecordingRemovals(db, { gone, kept }, toMark(batch(i + REMOVE_BATCH)), now);
    onBatch(Math.min(i + REMOVE_BATCH, targets.length), targets.length);
  }
  return outcomes;
}

/** Removes a few recordings (`recordings delete`): the batched removal with one batch. */
export function removeRecordings(db: Db, root: string, targets: readonly RemoveTarget[], now: number): RemoveOutcome[] {
  return removeRecordingsInBatches(db, root, targets, now);
}
