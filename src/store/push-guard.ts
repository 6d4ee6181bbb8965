// Brute-force guard for ingest: an address with too many refused pushes inside the window is
// refused before any key lookup.
import type { Db } from './open';
import { stmt } from './statements';

/** Refused pushes from this address since `since`. */
export function countPushFailures(db: Db, ip: string, since: number): number {
  return (stmt(db, 'SELECT count(*) AS n FROM push_failures WHERE ip = ? AND at > ?').get(ip, since) as { n: number }).n;
}

/** Records a refused push and drops attempts older than the window (keeps the table small). */
export function recordPushFailure(db: Db, ip: string, now: number, windowStart: number): void {
  stmt(db, 'INSERT INTO push_failures (ip, at) VALUES (?, ?)').run(ip, now);
  stmt(db, 'DELETE FROM push_failures WHERE at <= ?').run(windowStart);
}

/** Forgets an address's failures after it pushed with a valid key. */
export function clearPushFailures(db: Db, ip: string): void {
  stmt(db, 'DELETE FROM push_failures WHERE ip = ?').run(ip);
}
