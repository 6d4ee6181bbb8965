// Brute-force guard for ingest: a source (IPv4 address or IPv6 /64, src/ingest/guard-source.ts) with
// too many refused pushes inside the window is refused before any key lookup. Allowlisted ranges
// are never counted or blocked. The caller reads the count, looks the key up and records the
// outcome in one IMMEDIATE transaction, so concurrent attempts cannot all read the same count.
import type { Db } from './open';
import { stmt } from './statements';

/** Refused pushes from this source since `since`. */
export function countPushFailures(db: Db, source: string, since: number): number {
  return (stmt(db, 'SELECT count(*) AS n FROM push_failures WHERE source = ? AND at > ?').get(source, since) as { n: number }).n;
}

/** Records a refused push and drops attempts older than the window (keeps the table small). */
export function recordPushFailure(db: Db, f: { source: string; ip: string; at: number; windowStart: number }): void {
  stmt(db, 'INSERT INTO push_failures (source, ip, at) VALUES (?, ?, ?)').run(f.source, f.ip, f.at);
  stmt(db, 'DELETE FROM push_failures WHERE at <= ?').run(f.windowStart);
}

/** A source with refused pushes inside the window, for `streamctl guard list`. */
export interface GuardSource {
  source: string;
  failures: number;
  firstAt: number;
  lastAt: number;
  /** The address of the newest refused push from this source. */
  lastIp: string;
}

/** Sources with refused pushes since `since`, most failures first. */
export function listPushFailureSources(db: Db, since: number): GuardSource[] {
  return stmt(
    db,
    `SELECT source, count(*) AS failures, min(at) AS firstAt, max(at) AS lastAt,
              (SELECT ip FROM push_failures p WHERE p.source = f.source ORDER BY at DESC LIMIT 1) AS lastIp
         FROM push_failures f WHERE at > ? GROUP BY source ORDER BY failures DESC, lastAt DESC`,
  ).all(since) as GuardSource[];
}

/** Forgets the refused pushes of one source, or of every source when `source` is null; returns how many. */
export function clearPushFailures(db: Db, source: string | null): number {
  if (source === null) return stmt(db, 'DELETE FROM push_failures').run().changes;
  return stmt(db, 'DELETE FROM push_failures WHERE source = ?').run(source).changes;
}

/** An allowlist entry: a canonical address or CIDR range the guard never blocks. */
export interface GuardAllow {
  cidr: string;
  note: string | null;
  createdAt: number;
}

/** The allowlist, in text order. */
export function listGuardAllow(db: Db): GuardAllow[] {
  return stmt(db, 'SELECT cidr, note, created_at AS createdAt FROM push_guard_allow ORDER BY cidr').all() as GuardAllow[];
}

/** Adds (or re-notes) an allowlist entry. */
export function addGuardAllow(db: Db, a: { cidr: string; note: string | null; now: number }): void {
  stmt(
    db,
    'INSERT INTO push_guard_allow (cidr, note, created_at) VALUES (?, ?, ?) ON CONFLICT(cidr) DO UPDATE SET note = excluded.note',
  ).run(a.cidr, a.note, a.now);
}

/** Removes an allowlist entry; false when there was none. */
export function removeGuardAllow(db: Db, cidr: string): boolean {
  return stmt(db, 'DELETE FROM push_guard_allow WHERE cidr = ?').run(cidr).changes > 0;
}
