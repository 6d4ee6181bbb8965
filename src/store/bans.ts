// Bans by viewer id or address (CIDR), per channel or global (user_id NULL). Matching addresses
// against CIDRs happens in the caller (src/lib/ip.ts); the list per channel is small.
import type { Db } from './open';
import { stmt } from './statements';

export type BanKind = 'viewer' | 'ip';

export interface Ban {
  id: number;
  /** null = every channel. */
  userId: number | null;
  userName: string | null;
  kind: BanKind;
  value: string;
  reason: string | null;
  until: number | null;
  createdAt: number;
  /** 'sync': owned by the site (`streamctl sync` replaces them); 'admin': added by an operator. */
  origin: BanOrigin;
}

export type BanOrigin = 'admin' | 'sync';

const COLUMNS = `b.id, b.user_id AS userId, u.name AS userName, b.kind, b.value, b.reason, b.until, b.created_at AS createdAt, b.origin`;

/** Adds a ban; returns it. */
export function insertBan(
  db: Db,
  b: { userId: number | null; kind: BanKind; value: string; reason: string | null; until: number | null; now: number; origin?: BanOrigin },
): Ban {
  const info = stmt(db, 'INSERT INTO bans (user_id, kind, value, reason, until, created_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    b.userId,
    b.kind,
    b.value,
    b.reason,
    b.until,
    b.now,
    b.origin ?? 'admin',
  );
  return findBan(db, Number(info.lastInsertRowid))!;
}

/** The ban with this id, if any. */
export function findBan(db: Db, id: number): Ban | undefined {
  return stmt(db, `SELECT ${COLUMNS} FROM bans b LEFT JOIN users u ON u.id = b.user_id WHERE b.id = ?`).get(id) as Ban | undefined;
}

/** Removes a ban; false when there was none. */
export function deleteBan(db: Db, id: number): boolean {
  return stmt(db, 'DELETE FROM bans WHERE id = ?').run(id).changes > 0;
}

/** Bans, optionally only those of one channel (global ones included when `withGlobal`). */
export function listBans(db: Db, filter: { userId?: number; withGlobal: boolean; now: number; includeExpired: boolean }): Ban[] {
  return stmt(
    db,
    `SELECT ${COLUMNS} FROM bans b LEFT JOIN users u ON u.id = b.user_id
        WHERE (@userId IS NULL OR b.user_id = @userId OR (@withGlobal AND b.user_id IS NULL))
          AND (@includeExpired OR b.until IS NULL OR b.until > @now)
        ORDER BY b.id`,
  ).all({
    userId: filter.userId ?? null,
    withGlobal: filter.withGlobal ? 1 : 0,
    now: filter.now,
    includeExpired: filter.includeExpired ? 1 : 0,
  }) as Ban[];
}

/** Bans in force at `now` that apply to a channel (its own and the global ones). */
export function activeBansFor(db: Db, userId: number, now: number): Ban[] {
  return listBans(db, { userId, withGlobal: true, now, includeExpired: false });
}

/** Every ban a sync owns, expired ones included (the site's list is the whole truth for them). */
export function listSyncBans(db: Db): Ban[] {
  return stmt(
    db,
    `SELECT ${COLUMNS} FROM bans b LEFT JOIN users u ON u.id = b.user_id WHERE b.origin = 'sync' ORDER BY b.id`,
  ).all() as Ban[];
}

/** Changes a ban's end and note. */
export function updateBan(db: Db, id: number, b: { until: number | null; reason: string | null }): void {
  stmt(db, 'UPDATE bans SET until = ?, reason = ? WHERE id = ?').run(b.until, b.reason, id);
}
