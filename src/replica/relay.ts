// The relay: publishes pending outbox rows to the Redis primary (the edges' replicas follow it), and
// `edge resync`, which rewrites everything. No change is lost between SQLite and Redis:
// - every change commits with its outbox row (db/0010), and a row is deleted only after the EXEC
//   that published its entity's state succeeded; a crash in between republishes it (harmless: the
//   current state is written whole, so a replay changes nothing);
// - the state is read AFTER the rows, in one SQLite snapshot: a change that commits later has a
//   later id and stays pending for the next batch;
// - every publish WATCHes sc:meta and writes it inside its MULTI, so two publishers (a relay and a
//   resync, or two relays by mistake) never interleave: a publish whose snapshot another one
//   overtook is aborted by Redis (EXEC answers nil) and redone from a fresh snapshot.
import { oneLine } from '../lib/errors';
import type { RedisClient, RespValue } from '../lib/resp';
import type { Db } from '../store/open';
import { deleteOutboxThrough, outboxStats, pendingOutbox, type OutboxRow } from '../store/replication';
import { writeWithRetry } from '../store/write-retry';
import { scanKeys } from './compare';
import { commandsFor, entityState, fullState, isReplicatedKey, type RedisCommand } from './publish';
import { keys } from './schema';

/** Rows published per MULTI: bounded, so one EXEC never holds Redis long. */
export const RELAY_BATCH = 500;

/** How often an idle relay looks at the outbox. */
export const RELAY_POLL_MS = 100;

/** A publish another publisher overtook (EXEC answered nil): redo it from a fresh snapshot. */
export class PublishConflict extends Error {
  constructor() {
    super('another publisher wrote Redis meanwhile');
    this.name = 'PublishConflict';
  }
}

/** Runs MULTI … EXEC in one write; throws on any error reply, PublishConflict when WATCH aborted it. */
async function exec(client: RedisClient, commands: RedisCommand[]): Promise<void> {
  const replies = await client.pipeline([['MULTI'], ...commands, ['EXEC']]);
  const bad = replies.find((r): r is Error => r instanceof Error);
  if (bad) throw new Error(`Redis refused the update: ${oneLine(bad)}`);
  const result = replies[replies.length - 1] as RespValue;
  if (result === null) throw new PublishConflict();
  const inner = Array.isArray(result) ? result.find((r): r is Error => r instanceof Error) : undefined;
  if (inner) throw new Error(`Redis refused part of the update: ${oneLine(inner)}`);
}

/** A channel whose edges' viewers must be re-checked after a publish. */
export interface EdgeEffect {
  /** The channel's user name. */
  user: string;
  reason: string;
  /** The change can alter whether the channel is open (its `open` tag on the edges follows it first). */
  retag: boolean;
}

/** What one publish did. */
export interface Published {
  /** Outbox rows covered (deleted once Redis confirmed). */
  rows: number;
  /** Distinct entities written. */
  entities: number;
  /** The last outbox id covered (sc:meta outbox). */
  lastId: number;
  /** Unix ms of the oldest change covered (for latency). */
  oldestAt: number;
  /** True when a full resync was asked for and done. */
  full: boolean;
  effects: EdgeEffect[];
}

/**
 * The admission-relevant changes among `rows`: a channel's policy or state, its bans and grants; a
 * global ban or a token key change reaches every channel live now (edges pull only those).
 */
function effectsOf(rows: OutboxRow[], live: () => string[]): EdgeEffect[] {
  const out = new Map<string, EdgeEffect>();
  const add = (user: string, reason: string, retag: boolean) => {
    const had = out.get(user);
    out.set(user, had ? { user, reason: had.reason === reason ? reason : `${had.reason}, ${reason}`, retag: had.retag || retag } : { user, reason, retag });
  };
  for (const r of rows) {
    if (r.entity === 'channel') add(r.ref, 'channel changed', true);
    else if (r.entity === 'bans' && r.ref !== '') add(r.ref, 'bans changed', true);
    else if (r.entity === 'bans') for (const u of live()) add(u, 'global bans changed', true);
    else if (r.entity === 'grants') add(r.ref, 'grants changed', false);
    else if (r.entity === 'keys') for (const u of live()) add(u, 'token keys changed', false);
  }
  return [...out.values()];
}

/**
 * Publishes the oldest pending rows (up to `limit`), or returns null when none is pending. A pending
 * `all` row (replication just turned on) runs a full resync instead. `liveChannels` names the
 * channels live now (for changes that reach every channel).
 */
export async function publishPending(
  db: Db,
  client: RedisClient,
  now: () => number,
  liveChannels: () => string[],
  limit = RELAY_BATCH,
): Promise<Published | null> {
  const peek = pendingOutbox(db, limit);
  if (peek.length === 0) return null;
  if (peek.some((r) => r.entity === 'all')) {
    const r = await resync(db, client, now);
    return { rows: r.rows, entities: r.written, lastId: r.lastId, oldestAt: peek[0]!.at, full: true, effects: [] };
  }
  await client.call('WATCH', keys.meta);
  const snap = db.transaction(() => {
    const rows = pendingOutbox(db, limit);
    // An `all` row committed since the peek: the next round resyncs.
    const upTo = rows.findIndex((r) => r.entity === 'all');
    const covered = upTo < 0 ? rows : rows.slice(0, upTo);
    const at = now();
    const seen = new Set<string>();
    const commands: RedisCommand[] = [];
    for (const r of covered) {
      const id = `${r.entity}/${r.ref}`;
      if (seen.has(id) || r.entity === 'all') continue;
      seen.add(id);
      for (const d of entityState(db, r.entity, r.ref, at)) commands.push(...commandsFor(d));
    }
    return { rows: covered, entities: seen.size, commands, effects: effectsOf(covered, liveChannels) };
  })();
  if (snap.rows.length === 0) {
    await client.call('UNWATCH');
    return null;
  }
  const lastId = snap.rows[snap.rows.length - 1]!.id;
  await exec(client, [...snap.commands, ['HSET', keys.meta, 'outbox', lastId]]);
  // Only now: Redis has it. Later changes have later ids and stay.
  writeWithRetry(db, () => deleteOutboxThrough(db, lastId));
  return { rows: snap.rows.length, entities: snap.entities, lastId, oldestAt: Math.min(...snap.rows.map((r) => r.at)), full: false, effects: snap.effects };
}

export interface ResyncResult {
  /** Keys written, per kind of key. */
  written: number;
  /** Keys deleted because their entity is gone. */
  deleted: number;
  /** Outbox rows the resync covered (deleted after it). */
  rows: number;
  lastId: number;
  /** Keys written by prefix: settings, keys, chan, bans, grants, vod. */
  byKind: Record<string, number>;
  syncedAt: number;
}

/** How many times a resync is redone when a relay publishes meanwhile. */
const RESYNC_ATTEMPTS = 10;

/**
 * Rewrites every replicated key from SQLite and deletes those whose entity is gone (sc:meta and the
 * cap hashes excepted), in one MULTI: edges never see a half-written copy. Idempotent. Covers every
 * outbox row committed before its snapshot (they are deleted after).
 */
export async function resync(db: Db, client: RedisClient, now: () => number): Promise<ResyncResult> {
  for (let attempt = 1; ; attempt++) {
    await client.call('WATCH', keys.meta);
    const existing = (await scanKeys(client)).filter(isReplicatedKey);
    const at = now();
    const snap = db.transaction(() => ({ state: fullState(db, at), lastId: outboxStats(db).lastId, rows: outboxStats(db).pending }))();
    const stale = existing.filter((k) => !snap.state.has(k)).sort();
    const commands: RedisCommand[] = stale.map((k) => ['DEL', k]);
    const byKind: Record<string, number> = { settings: 0, keys: 0, chan: 0, bans: 0, grants: 0, vod: 0 };
    for (const d of snap.state.values()) {
      commands.push(...commandsFor(d));
      const kind = d.key.slice(3).split(':')[0]!;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
    }
    commands.push(['HSET', keys.meta, 'synced_at', at, 'outbox', snap.lastId]);
    try {
      await exec(client, commands);
    } catch (err) {
      if (err instanceof PublishConflict && attempt < RESYNC_ATTEMPTS) continue;
      throw err;
    }
    writeWithRetry(db, () => deleteOutboxThrough(db, snap.lastId));
    return { written: snap.state.size, deleted: stale.length, rows: snap.rows, lastId: snap.lastId, byKind, syncedAt: at };
  }
}

export interface RelayOptions {
  db: Db;
  /** Opens a connection to the primary (called again after any failure). */
  connect: () => Promise<RedisClient>;
  now: () => number;
  liveChannels: () => string[];
  /** One line for the operator (no secrets: keys and tokens never appear in these). */
  log: (line: string) => void;
  /** Called after each publish, in order; its failures are the caller's (logged, never fatal). */
  published?: (p: Published) => Promise<void> | void;
  /** Stop when aborted (SIGTERM/SIGINT); an idle wait ends at once. */
  signal: AbortSignal;
  /** Publish what is pending, then return (a failure throws instead of retrying). */
  once?: boolean;
  pollMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Totals of a relay run. */
export interface RelayTotals {
  batches: number;
  rows: number;
  entities: number;
  failures: number;
}

/**
 * Publishes pending rows until aborted (or, with `once`, until none is pending). Redis down or
 * refusing: the rows stay queued, the relay reconnects with a backoff (100 ms doubling to 5 s)
 * and catches up; one log line when it starts failing, one when it recovers.
 */
export async function runRelay(o: RelayOptions): Promise<RelayTotals> {
  const totals: RelayTotals = { batches: 0, rows: 0, entities: 0, failures: 0 };
  let client: RedisClient | undefined;
  let backoff = BACKOFF_MIN_MS;
  let failing: string | undefined;
  try {
    while (!o.signal.aborted) {
      try {
        client ??= await o.connect();
        const p = await publishPending(o.db, client, o.now, o.liveChannels);
        if (failing !== undefined) o.log(`Redis reachable again; publishing what was queued`);
        failing = undefined;
        backoff = BACKOFF_MIN_MS;
        if (!p) {
          if (o.once) break;
          await sleep(o.pollMs ?? RELAY_POLL_MS, o.signal);
          continue;
        }
        totals.batches++;
        totals.rows += p.rows;
        totals.entities += p.entities;
        o.log(
          p.full
            ? `resynced everything (replication turned on): outbox #${p.lastId}`
            : `published ${p.entities} change(s) from ${p.rows} outbox row(s) through #${p.lastId}, ${Math.max(0, o.now() - p.oldestAt)} ms after the oldest`,
        );
        await o.published?.(p);
      } catch (err) {
        if (err instanceof PublishConflict) continue;
        totals.failures++;
        client?.close();
        client = undefined;
        if (o.once) throw err;
        const message = oneLine(err);
        if (failing !== message) o.log(`${message}; changes stay queued, retrying (every ${BACKOFF_MAX_MS / 1000} s at most)`);
        failing = message;
        await sleep(backoff, o.signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  } finally {
    client?.close();
  }
  return totals;
}
