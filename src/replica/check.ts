// The replication check `doctor` and `streamctl edge check` share: can the origin reach its Redis
// primary, how far behind the relay is, and does Redis hold what SQLite says (compare.ts).
import { oneLine } from '../lib/errors';
import { connectRedis, type RedisClient } from '../lib/resp';
import type { Db } from '../store/open';
import { outboxStats, type OutboxStats } from '../store/replication';
import { getSetting } from '../store/settings';
import { compareWithRedis, type Comparison } from './compare';
import { keys } from './schema';

export interface ReplicationStatus {
  /** The `replication` setting. */
  replication: string;
  outbox: OutboxStats;
  redis: { target: string; reachable: boolean; error: string | null };
  /** sc:meta: synced_at (last resync) and outbox (last row published), as Redis holds them. */
  meta: Record<string, string> | null;
}

/** Connects with the given target; the error names the target, never the password. */
export async function openPrimary(target: string, password: string | undefined, timeoutMs: number): Promise<RedisClient> {
  return connectRedis(target, { timeoutMs, ...(password !== undefined ? { password } : {}) });
}

/**
 * A connection for one large MULTI (a resync): answers may take minutes, but an unreachable
 * primary is still reported within `connectMs` (the client has one timeout for both, so a short
 * probe connects first).
 */
export async function openPrimaryForResync(
  target: string,
  password: string | undefined,
  answerMs: number,
  connectMs = 5000,
): Promise<RedisClient> {
  (await openPrimary(target, password, connectMs)).close();
  return openPrimary(target, password, answerMs);
}

async function readMeta(client: RedisClient): Promise<Record<string, string>> {
  const flat = (await client.call('HGETALL', keys.meta)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** Outbox and Redis state for `edge status` (never throws for an unreachable Redis: it says so). */
export async function replicationStatus(db: Db, target: string, password: string | undefined): Promise<ReplicationStatus> {
  const base = { replication: getSetting(db, 'replication'), outbox: outboxStats(db) };
  let client: RedisClient | undefined;
  try {
    client = await openPrimary(target, password, 1000);
    const meta = await readMeta(client);
    return { ...base, redis: { target, reachable: true, error: null }, meta };
  } catch (err) {
    return { ...base, redis: { target, reachable: false, error: oneLine(err) }, meta: null };
  } finally {
    client?.close();
  }
}

export interface ReplicationCheck {
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
  /** Absent when Redis could not be read. */
  comparison?: Comparison;
  pending: number;
}

/**
 * One finding about replication (for doctor): fail when Redis is unreachable or differs from SQLite
 * with nothing pending to explain it, warn when replication is off or the relay is behind.
 */
export async function checkReplication(db: Db, target: string, password: string | undefined, now: number): Promise<ReplicationCheck> {
  const stats = outboxStats(db);
  if (getSetting(db, 'replication') !== 'redis') {
    return {
      status: 'warn',
      message: 'replication is off: edges get no changes',
      fix: 'streamctl edge resync (turns it on)',
      pending: stats.pending,
    };
  }
  let client: RedisClient | undefined;
  try {
    client = await openPrimary(target, password, 5000);
    const comparison = await compareWithRedis(db, client, now);
    const counts = Object.entries(comparison.sqlite.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const behind =
      stats.pending > 0 ? `; ${stats.pending} change(s) queued, oldest ${Math.max(0, now - (stats.oldestAt ?? now))} ms ago` : '';
    if (comparison.same)
      return {
        status: stats.pending > 0 ? 'warn' : 'ok',
        message: `Redis matches SQLite (${counts})${behind}`,
        ...(stats.pending > 0 ? { fix: 'is `streamctl edge relay` running?' } : {}),
        comparison,
        pending: stats.pending,
      };
    const shown = comparison.differences
      .slice(0, 5)
      .map((d) => `${d.key} ${d.problem}`)
      .join('; ');
    return {
      status: stats.pending > 0 ? 'warn' : 'fail',
      message: `Redis differs from SQLite in ${comparison.differenceCount} key(s): ${shown}${behind}`,
      fix:
        stats.pending > 0
          ? 'is `streamctl edge relay` running? (queued changes explain differences until published)'
          : 'streamctl edge resync',
      comparison,
      pending: stats.pending,
    };
  } catch (err) {
    return {
      status: 'fail',
      message: `cannot read the Redis primary: ${oneLine(err)}`,
      fix: 'start Redis, or check redis_primary= in streamctl.conf',
      pending: stats.pending,
    };
  } finally {
    client?.close();
  }
}
