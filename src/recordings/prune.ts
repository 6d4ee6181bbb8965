// `recordings prune`: which recordings go (retention per channel over the global default, then
// the total-size cap, pinned ones never) and removing them in batches with progress.
import type { Db } from '../store/open';
import {
  iterateRecordingsOldestFirst,
  recordingsBeingDeleted,
  recordingsPastRetention,
  recordingTotals,
  type PruneRow,
} from '../store/recordings';
import { removeRecordingsInBatches, type RemoveResult } from './remove';

/** Why a recording was chosen. */
export type PruneReason = 'interrupted' | 'retention' | 'size';

export interface PruneCandidate extends PruneRow {
  reason: PruneReason;
}

export interface PrunePlan {
  candidates: PruneCandidate[];
  /** Bytes still above the cap after every unpinned recording is counted out (pinned ones exceed it). */
  capShortfall: number;
}

/** Chooses what a prune removes, oldest first; changes nothing. */
export function planPrune(db: Db, now: number, defaultRetentionMs: number | null, maxTotalBytes: number | null): PrunePlan {
  const candidates: PruneCandidate[] = recordingsBeingDeleted(db).map((r) => ({ ...r, reason: 'interrupted' }));
  const byAge = recordingsPastRetention(db, now, defaultRetentionMs);
  const chosen = new Set(byAge.map((r) => r.id));
  for (const r of byAge) candidates.push({ ...r, reason: 'retention' });
  let capShortfall = 0;
  if (maxTotalBytes !== null) {
    let total = recordingTotals(db).bytes - byAge.reduce((sum, r) => sum + r.bytes, 0);
    if (total > maxTotalBytes) {
      for (const r of iterateRecordingsOldestFirst(db)) {
        if (total <= maxTotalBytes) break;
        if (r.pinned || chosen.has(r.id)) continue;
        candidates.push({ id: r.id, userId: r.userId, path: r.path, bytes: r.bytes, startedAt: r.startedAt, reason: 'size' });
        total -= r.bytes;
      }
      capShortfall = Math.max(0, total - maxTotalBytes);
    }
  }
  return { candidates, capShortfall };
}

export interface PruneItem {
  id: string;
  path: string;
  bytes: number;
  reason: PruneReason;
  result: RemoveResult;
  error?: string;
}

/** Removes the planned recordings, a batch at a time; `onProgress` is called after each batch. */
export function executePrune(
  db: Db,
  root: string,
  candidates: readonly PruneCandidate[],
  now: number,
  onProgress: (done: number, total: number) => void = () => {},
): PruneItem[] {
  // Outcomes come back in the order of the candidates.
  return removeRecordingsInBatches(db, root, candidates, now, onProgress).map((o, i) => {
    const c = candidates[i]!;
    return { id: c.id, path: c.path, bytes: c.bytes, reason: c.reason, result: o.result, ...(o.error ? { error: o.error } : {}) };
  });
}
