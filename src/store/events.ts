// The event log: one row per decision worth auditing (pushes accepted or refused, ...).
// Never holds a secret: callers pass reasons and labels, not keys, tokens or passwords.
import type { Db } from './open';
import { stmt } from './statements';
import { writeWithRetry } from './write-retry';

/** Every kind of event written (push: PUSH_REWRITE decisions; view: refused viewers; broadcast:
 * live/offline; recording: RECORDING_END; trigger: a trigger run that failed, outcome error,
 * counted by `streamctl metrics`; admin: an operator's change through the CLI, outcome the
 * command, with its actor; webhook: a delivery given up (failed) or an endpoint disabled by its
 * 410). `events --kind` accepts only these. */
export const EVENT_KINDS = ['push', 'view', 'broadcast', 'recording', 'trigger', 'admin', 'webhook'] as const;

export interface EventInput {
  at: number;
  kind: string;
  outcome: string;
  reason: string;
  userId?: number | null;
  ip?: string | null;
  detail?: string | null;
}

export interface EventRow {
  id: number;
  at: number;
  kind: string;
  outcome: string;
  reason: string;
  userId: number | null;
  userName: string | null;
  ip: string | null;
  detail: string | null;
  /** Who made an admin change (the operating-system user); null for trigger events. */
  actor: string | null;
}

/** Appends an event. */
export function recordEvent(db: Db, e: EventInput): void {
  stmt(db, 'INSERT INTO events (at, kind, outcome, reason, user_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    e.at,
    e.kind,
    e.outcome,
    e.reason,
    e.userId ?? null,
    e.ip ?? null,
    e.detail ?? null,
  );
}

/** An admin change: the command (`key rotate`), what it did in words, whom it concerns, who ran it. */
export interface AdminEventInput {
  at: number;
  action: string;
  reason: string;
  actor: string;
  userId?: number | null;
  detail?: string | null;
}

/** Appends an admin event (kind admin, outcome the command). Trigger programs never write one. */
export function recordAdminEvent(db: Db, e: AdminEventInput): void {
  stmt(db, "INSERT INTO events (at, kind, outcome, reason, user_id, detail, actor) VALUES (?, 'admin', ?, ?, ?, ?, ?)").run(
    e.at,
    e.action,
    e.reason,
    e.userId ?? null,
    e.detail ?? null,
    e.actor,
  );
}

/** Newest events first, optionally of one kind and/or one user. */
export function listEvents(db: Db, filter: { kind?: string; userId?: number; limit: number }): EventRow[] {
  return stmt(
    db,
    `SELECT e.id, e.at, e.kind, e.outcome, e.reason, e.user_id AS userId, u.name AS userName, e.ip, e.detail, e.actor
         FROM events e LEFT JOIN users u ON u.id = e.user_id
        WHERE (@kind IS NULL OR e.kind = @kind) AND (@userId IS NULL OR e.user_id = @userId)
        ORDER BY e.at DESC, e.id DESC LIMIT @limit`,
  ).all({ kind: filter.kind ?? null, userId: filter.userId ?? null, limit: filter.limit }) as EventRow[];
}

/** Events deleted per transaction: a long log is pruned without holding the write lock for long. */
const PRUNE_BATCH = 5000;

/** Deletes events older than `before`, in batches; returns how many (or would, with dryRun). */
export function pruneEvents(db: Db, before: number, dryRun: boolean): number {
  if (dryRun) return (stmt(db, 'SELECT count(*) AS n FROM events WHERE at < ?').get(before) as { n: number }).n;
  const batch = stmt(db, 'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? LIMIT ?)');
  let total = 0;
  for (;;) {
    const n = writeWithRetry(db, () => batch.run(before, PRUNE_BATCH).changes);
    total += n;
    if (n < PRUNE_BATCH) return total;
  }
}
