// The recordings catalogue. A row is written when MistServer finishes a file (RECORDING_END) and
// removed together with the file (delete, prune). `deleting_at` marks rows whose file is being
// removed, so an interrupted prune is finished by the next run and such rows are never served.
import type { Db } from './open';
import { stmt } from './statements';
import { enqueueWebhookEvent, recordingWebhookData } from './webhooks';

export type RecordingStatus = 'ok' | 'failed';

export interface Recording {
  id: string;
  userId: number;
  userName: string;
  broadcastId: number | null;
  path: string;
  format: string;
  bytes: number;
  durationMs: number;
  startedAt: number;
  endedAt: number;
  status: RecordingStatus;
  exitCode: string;
  exitReason: string;
  pinned: boolean;
  deletingAt: number | null;
  createdAt: number;
}

interface RecordingRow {
  id: string;
  user_id: number;
  user_name: string;
  broadcast_id: number | null;
  path: string;
  format: string;
  bytes: number;
  duration_ms: number;
  started_at: number;
  ended_at: number;
  status: RecordingStatus;
  exit_code: string;
  exit_reason: string;
  pinned: number;
  deleting_at: number | null;
  created_at: number;
}

const SELECT = `SELECT r.id, r.user_id, u.name AS user_name, r.broadcast_id, r.path, r.format, r.bytes, r.duration_ms,
  r.started_at, r.ended_at, r.status, r.exit_code, r.exit_reason, r.pinned, r.deleting_at, r.created_at
  FROM recordings r JOIN users u ON u.id = r.user_id`;

function toRecording(r: RecordingRow): Recording {
  return {
    id: r.id,
    userId: r.user_id,
    userName: r.user_name,
    broadcastId: r.broadcast_id,
    path: r.path,
    format: r.format,
    bytes: r.bytes,
    durationMs: r.duration_ms,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    exitCode: r.exit_code,
    exitReason: r.exit_reason,
    pinned: r.pinned === 1,
    deletingAt: r.deleting_at,
    createdAt: r.created_at,
  };
}

export type NewRecording = Omit<Recording, 'userName' | 'pinned' | 'deletingAt'>;

/** Catalogues a finished file; a repeat for the same path changes nothing. Returns the row's id and whether it is new. */
export function insertRecording(db: Db, rec: NewRecording): { id: string; inserted: boolean } {
  const info = stmt(
    db,
    `INSERT INTO recordings (id, user_id, broadcast_id, path, format, bytes, duration_ms, started_at, ended_at, status, exit_code, exit_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO NOTHING`,
  ).run(
    rec.id,
    rec.userId,
    rec.broadcastId,
    rec.path,
    rec.format,
    rec.bytes,
    rec.durationMs,
    rec.startedAt,
    rec.endedAt,
    rec.status,
    rec.exitCode,
    rec.exitReason,
    rec.createdAt,
  );
  if (info.changes === 1) return { id: rec.id, inserted: true };
  const existing = stmt(db, 'SELECT id FROM recordings WHERE path = ?').get(rec.path) as { id: string } | undefined;
  if (!existing) throw new Error('recording insert was ignored but no row has its path');
  return { id: existing.id, inserted: false };
}

/** The recording with this id, if any (including rows being deleted). */
export function findRecording(db: Db, id: string): Recording | undefined {
  const r = stmt(db, `${SELECT} WHERE r.id = ?`).get(id) as RecordingRow | undefined;
  return r && toRecording(r);
}

/** Path of a recording that may be served (catalogued, not being deleted). */
export function findServableRecording(db: Db, id: string): { path: string } | undefined {
  return stmt(db, 'SELECT path FROM recordings WHERE id = ? AND deleting_at IS NULL').get(id) as { path: string } | undefined;
}

/** The channel's newest good recordings (for replay while offline), newest first. */
export function latestGoodRecordings(db: Db, userId: number, limit: number): { id: string; path: string }[] {
  return stmt(
    db,
    `SELECT id, path FROM recordings
        WHERE user_id = ? AND status = 'ok' AND deleting_at IS NULL AND bytes > 0
        ORDER BY started_at DESC, id DESC LIMIT ?`,
  ).all(userId, limit) as { id: string; path: string }[];
}

export interface ListQuery {
  userId?: number;
  limit: number | null;
  /** Keyset pagination: only rows older than this recording (in list order). */
  before?: { startedAt: number; id: string };
}

/** Recordings newest first, as an iterator so a million rows stream instead of loading at once. */
export function iterateRecordings(db: Db, q: ListQuery): IterableIterator<Recording> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.userId !== undefined) {
    where.push('r.user_id = ?');
    args.push(q.userId);
  }
  if (q.before) {
    where.push('(r.started_at, r.id) < (?, ?)');
    args.push(q.before.startedAt, q.before.id);
  }
  let sql = `${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at DESC, r.id DESC`;
  if (q.limit !== null) {
    sql += ' LIMIT ?';
    args.push(q.limit);
  }
  const rows = db.prepare(sql).iterate(...args) as IterableIterator<RecordingRow>;
  return (function* () {
    for (const r of rows) yield toRecording(r);
  })();
}

/** Pins (kept by prune) or unpins a recording; false when there is no such recording. */
export function setRecordingPinned(db: Db, id: string, pinned: boolean): boolean {
  return stmt(db, 'UPDATE recordings SET pinned = ? WHERE id = ?').run(pinned ? 1 : 0, id).changes === 1;
}

/** Marks rows as being deleted (before their files are unlinked). */
export function markRecordingsDeleting(db: Db, ids: readonly string[], now: number): void {
  const statement = stmt(db, 'UPDATE recordings SET deleting_at = ? WHERE id = ? AND deleting_at IS NULL');
  db.transaction(() => {
    for (const id of ids) statement.run(now, id);
  })();
}

/** Clears the deleting mark of rows whose file could not be removed. */
export function unmarkRecordingsDeleting(db: Db, ids: readonly string[]): void {
  const statement = stmt(db, 'UPDATE recordings SET deleting_at = NULL WHERE id = ?');
  db.transaction(() => {
    for (const id of ids) statement.run(id);
  })();
}

/**
 * After a batch of unlinks, in one transaction: deletes the rows whose file is gone (with their
 * webhook events, deleteRecordingRows), unmarks those whose file stayed, and marks the next batch
 * (before any of its files is touched). One commit per batch instead of three: each commit
 * rewrites the same index pages of the table into the WAL.
 */
export function settleRecordingRemovals(
  db: Db,
  done: { gone: readonly string[]; kept: readonly string[] },
  markNext: readonly string[],
  now: number,
): void {
  const unmark = stmt(db, 'UPDATE recordings SET deleting_at = NULL WHERE id = ?');
  const mark = stmt(db, 'UPDATE recordings SET deleting_at = ? WHERE id = ? AND deleting_at IS NULL');
  db.transaction(() => {
    deleteRecordingRows(db, done.gone, now);
    for (const id of done.kept) unmark.run(id);
    for (const id of markNext) mark.run(now, id);
  })();
}

/**
 * Removes catalogue rows (their files are gone); each removal's recording.deleted webhook event
 * commits with it. `now`: when the deliveries are due.
 */
export function deleteRecordingRows(db: Db, ids: readonly string[], now: number): void {
  const statement = stmt(
    db,
    'DELETE FROM recordings WHERE id = ? RETURNING user_id, broadcast_id, format, bytes, duration_ms, started_at, ended_at, status',
  );
  const owner = stmt(db, 'SELECT name FROM users WHERE id = ?');
  db.transaction(() => {
    for (const id of ids) {
      const r = statement.get(id) as
        | {
            user_id: number;
            broadcast_id: number | null;
            format: string;
            bytes: number;
            duration_ms: number;
            started_at: number;
            ended_at: number;
            status: string;
          }
        | undefined;
      if (!r) continue;
      const user = owner.get(r.user_id) as { name: string } | undefined;
      enqueueWebhookEvent(db, {
        type: 'recording.deleted',
        at: now,
        channel: user?.name ?? null,
        userId: r.user_id,
        now,
        data: recordingWebhookData({
          id,
          broadcastId: r.broadcast_id,
          format: r.format,
          bytes: r.bytes,
          durationMs: r.duration_ms,
          startedAt: r.started_at,
          endedAt: r.ended_at,
          status: r.status,
        }),
      });
    }
  })();
}

/** A recording as prune sees it. */
export interface PruneRow {
  id: string;
  userId: number;
  path: string;
  bytes: number;
  startedAt: number;
}

const PRUNE_COLUMNS = 'r.id, r.user_id AS userId, r.path, r.bytes, r.started_at AS startedAt';

/** Rows left marked by an interrupted prune or delete. */
export function recordingsBeingDeleted(db: Db): PruneRow[] {
  return stmt(db, `SELECT ${PRUNE_COLUMNS} FROM recordings r WHERE r.deleting_at IS NOT NULL`).all() as PruneRow[];
}

/**
 * Unpinned recordings older than their channel's retention, or than `defaultRetentionMs` for
 * channels without one (null: those channels keep everything), oldest first.
 */
export function recordingsPastRetention(db: Db, now: number, defaultRetentionMs: number | null): PruneRow[] {
  return stmt(
    db,
    `SELECT ${PRUNE_COLUMNS} FROM recordings r LEFT JOIN channels c ON c.user_id = r.user_id
        WHERE r.pinned = 0 AND r.deleting_at IS NULL AND r.started_at < ? - COALESCE(c.retention_ms, ?)
        ORDER BY r.started_at, r.id`,
  ).all(now, defaultRetentionMs) as PruneRow[];
}

/** Every recording not being deleted, oldest first, with its pin (for the total-size cap). */
export function iterateRecordingsOldestFirst(db: Db): IterableIterator<PruneRow & { pinned: number }> {
  return db
    .prepare(`SELECT ${PRUNE_COLUMNS}, r.pinned FROM recordings r WHERE r.deleting_at IS NULL ORDER BY r.started_at, r.id`)
    .iterate() as IterableIterator<PruneRow & { pinned: number }>;
}

/** Count and total bytes of the recordings not being deleted. */
export function recordingTotals(db: Db): { count: number; bytes: number } {
  const r = stmt(db, 'SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM recordings WHERE deleting_at IS NULL').get() as {
    count: number;
    bytes: number;
  };
  return r;
}

/** Every catalogued path (for `recordings scan`). */
export function iterateRecordingPaths(db: Db): IterableIterator<{ id: string; path: string }> {
  return db.prepare('SELECT id, path FROM recordings ORDER BY path').iterate() as IterableIterator<{ id: string; path: string }>;
}

/** The channel a recording belongs to, for `vod+<id>` streams (rows being deleted excluded). */
export function findRecordingChannel(db: Db, id: string): { userId: number; userName: string; disabled: boolean } | undefined {
  const r = stmt(
    db,
    'SELECT u.id, u.name, u.disabled FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.id = ? AND r.deleting_at IS NULL',
  ).get(id) as { id: number; name: string; disabled: number } | undefined;
  return r && { userId: r.id, userName: r.name, disabled: r.disabled === 1 };
}

/** Every recording of a channel, as removal targets (user remove --delete-recordings). */
export function recordingTargetsOfUser(db: Db, userId: number): { id: string; path: string }[] {
  return stmt(db, 'SELECT id, path FROM recordings WHERE user_id = ?').all(userId) as { id: string; path: string }[];
}
