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
import { abortableSleep } from '../lib/abortable-sleep';
import { oneLine } from '../lib/errors';
import type { RedisClient, RespValue } from '../lib/resp';
import type { Db } from '../store/open';
import { deleteOutboxThrough, outboxStats, pendingOutbox, type OutboxRow } from '../store/replication';
import { writeWithRetry } from '../store/write-retry';
import { scanKeys } from './compare';
import { drainSessionEnds } from './ends';
import { drainEvictions } from './evictions';
import { commandsFor, entityState, fullState, isReplicatedKey, type Desired, type RedisCommand } from './publish';
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
  /**
   * The user or its policy row changed (not only its bans): the channel may have been open before
   * whatever its policy is now, so an untag is waited for before the re-check.
   */
  policyChanged: boolean;
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

/** What Redis held before a publish, for the entities whose change matters only one way. */
interface Before {
  /** Ids in sc:keys (undefined: not read). */
  keyIds?: Set<number>;
  /** Token ids in sc:revoked (undefined: not read). */
  revoked?: Set<string>;
  /** sc:grants:<name> fields by channel name (absent: not read). */
  grants: Map<string, Record<string, string>>;
}

/** Reads what a publish of `rows` may take away (token keys, grants), after WATCH. */
async function readBefore(client: RedisClient, rows: OutboxRow[]): Promise<Before> {
  const grantNames = [...new Set(rows.filter((r) => r.entity === 'grants').map((r) => r.ref))];
  const wantKeys = rows.some((r) => r.entity === 'keys');
  const cmds: RedisCommand[] = [
    ...(wantKeys
      ? [
          ['GET', keys.tokenKeys],
          ['HKEYS', keys.revoked],
        ]
      : []),
    ...grantNames.map((n) => ['HGETALL', keys.grants(n)]),
  ];
  const replies = cmds.length ? await client.pipeline(cmds) : [];
  const before: Before = { grants: new Map() };
  if (wantKeys) {
    try {
      const list = JSON.parse((replies[0] as string | null) ?? '[]') as { id: number }[];
      before.keyIds = new Set(list.map((k) => k.id));
    } catch {
      before.keyIds = undefined; // unreadable: treated as "may have lost a key"
    }
    before.revoked = Array.isArray(replies[1]) ? new Set((replies[1] as unknown[]).map(String)) : undefined;
  }
  grantNames.forEach((name, i) => {
    const flat = replies[i + (wantKeys ? 2 : 0)];
    if (!Array.isArray(flat)) return;
    const fields: Record<string, string> = {};
    for (let j = 0; j + 1 < flat.length; j += 2) fields[String(flat[j])] = String(flat[j + 1]);
    before.grants.set(name, fields);
  });
  return before;
}

/** True when a grant that worked before no longer does, or now ends sooner. */
function grantLost(before: Record<string, string> | undefined, after: Desired | undefined): boolean {
  if (before === undefined) return true;
  const now = after?.type === 'hash' ? after.fields : {};
  return Object.entries(before).some(([viewer, until]) => {
    const next = now[viewer];
    if (next === undefined) return true;
    // '' is "no end": a new end where there was none, or an earlier one, shortens the grant.
    return next !== '' && (until === '' || Number(next) < Number(until));
  });
}

/**
 * The admission-relevant changes among `rows`: a channel's policy or state and its bans (any
 * change: as on one box), a grant removed or shortened, a token key that stopped verifying (every
 * channel live now, as does a global ban: edges pull only those). A new grant or key admits no one
 * by itself (MistServer keeps a refusal ~10 minutes either way) and re-checks nothing.
 */
function effectsOf(rows: OutboxRow[], live: () => string[], before: Before, after: Map<string, Desired>): EdgeEffect[] {
  const out = new Map<string, EdgeEffect>();
  const add = (user: string, reason: string, retag: boolean, policyChanged = false) => {
    const had = out.get(user);
    out.set(
      user,
      had
        ? {
            user,
            reason: had.reason === reason ? reason : `${had.reason}, ${reason}`,
            retag: had.retag || retag,
            policyChanged: had.policyChanged || policyChanged,
          }
        : { user, reason, retag, policyChanged },
    );
  };
  for (const r of rows) {
    if (r.entity === 'channel') add(r.ref, 'channel changed', true, true);
    else if (r.entity === 'bans' && r.ref !== '') add(r.ref, 'bans changed', true);
    else if (r.entity === 'bans') for (const u of live()) add(u, 'global bans changed', true);
    else if (r.entity === 'grants' && grantLost(before.grants.get(r.ref), after.get(keys.grants(r.ref))))
      add(r.ref, 'grant removed', false);
    else if (r.entity === 'keys') {
      const d = after.get(keys.tokenKeys);
      const nowIds = new Set(d?.type === 'string' ? (JSON.parse(d.value) as { id: number }[]).map((k) => k.id) : []);
      const lost = before.keyIds === undefined || [...before.keyIds].some((id) => !nowIds.has(id));
      if (lost) for (const u of live()) add(u, 'token key retired', false);
      // A token revoked: its sessions on the edges are refused when re-checked (any live channel may hold one).
      const r = after.get(keys.revoked);
      const revokedNow = r?.type === 'hash' ? Object.keys(r.fields) : [];
      if (revokedNow.some((jti) => before.revoked === undefined || !before.revoked.has(jti)))
        for (const u of live()) add(u, 'token revoked', false);
    }
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
  resyncClient?: () => Promise<RedisClient>,
): Promise<Published | null> {
  const peek = pendingOutbox(db, limit);
  if (peek.length === 0) return null;
  if (peek.some((r) => r.entity === 'all')) {
    // A full resync is one large MULTI: on a connection that may wait longer for its answer.
    const c = resyncClient ? await resyncClient() : client;
    try {
      const r = await resync(db, c, now);
      return { rows: r.rows, entities: r.written, lastId: r.lastId, oldestAt: peek[0]!.at, full: true, effects: [] };
    } finally {
      if (c !== client) c.close();
    }
  }
  await client.call('WATCH', keys.meta);
  // Read after WATCH: if another publisher changes these before our EXEC, the EXEC is refused.
  const before = await readBefore(client, peek);
  const snap = db.transaction(() => {
    const rows = pendingOutbox(db, limit);
    // An `all` row committed since the peek: the next round resyncs.
    const upTo = rows.findIndex((r) => r.entity === 'all');
    const covered = upTo < 0 ? rows : rows.slice(0, upTo);
    const at = now();
    const seen = new Set<string>();
    const commands: RedisCommand[] = [];
    const after = new Map<string, Desired>();
    for (const r of covered) {
      const id = `${r.entity}/${r.ref}`;
      if (seen.has(id) || r.entity === 'all') continue;
      seen.add(id);
      for (const d of entityState(db, r.entity, r.ref, at)) {
        after.set(d.key, d);
        commands.push(...commandsFor(d));
      }
    }
    return { rows: covered, entities: seen.size, commands, effects: effectsOf(covered, liveChannels, before, after) };
  })();
  if (snap.rows.length === 0) {
    await client.call('UNWATCH');
    return null;
  }
  const lastId = snap.rows[snap.rows.length - 1]!.id;
  await exec(client, [...snap.commands, ['HSET', keys.meta, 'outbox', lastId]]);
  // Only now: Redis has it. Later changes have later ids and stay.
  writeWithRetry(db, () => deleteOutboxThrough(db, lastId));
  return {
    rows: snap.rows.length,
    entities: snap.entities,
    lastId,
    oldestAt: Math.min(...snap.rows.map((r) => r.at)),
    full: false,
    effects: snap.effects,
  };
}

export interface ResyncResult {
  /** Keys written, per kind of key. */
  written: number;
  /** Keys deleted because their entity is gone. */
  deleted: number;
  /** Outbox rows the resync covered (deleted after it). */
  rows: number;
  lastId: number;
  /** Keys written by prefix: settings, keys, chan, bans, grants, vod, vodfile. */
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
    const byKind: Record<string, number> = { settings: 0, keys: 0, chan: 0, bans: 0, grants: 0, vod: 0, vodfile: 0 };
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
  /** A connection for a full resync (one large MULTI: a longer answer timeout); default: the same one. */
  connectForResync?: () => Promise<RedisClient>;
  now: () => number;
  liveChannels: () => string[];
  /** One line for the operator (no secrets: keys and tokens never appear in these). */
  log: (line: string) => void;
  /** Called after each publish, in order; its failures are the caller's (logged, never fatal). */
  published?: (p: Published) => Promise<void> | void;
  /**
   * Stores the edges' session ends read from sc:ends (idempotent; throws when it could not store:
   * they stay in Redis). Without it the list is left alone.
   */
  storeEnds?: (entries: string[]) => void;
  /** Stops sessions evicted under viewer-sessions on every MistServer (sc:evict); without it the list is left alone. */
  stopSessions?: (sessionIds: string[]) => Promise<void>;
  /** Stop when aborted (SIGTERM/SIGINT); an idle wait ends at once. */
  signal: AbortSignal;
  /** Publish what is pending, then return (a failure throws instead of retrying). */
  once?: boolean;
  pollMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** Totals of a relay run. */
export interface RelayTotals {
  batches: number;
  rows: number;
  entities: number;
  /** Edge session ends stored. */
  ends: number;
  failures: number;
}

/**
 * Publishes pending rows until aborted (or, with `once`, until none is pending). Redis down or
 * refusing: the rows stay queued, the relay reconnects with a backoff (100 ms doubling to 5 s)
 * and catches up; one log line when it starts failing, one when it recovers.
 */
export async function runRelay(o: RelayOptions): Promise<RelayTotals> {
  const totals: RelayTotals = { batches: 0, rows: 0, entities: 0, ends: 0, failures: 0 };
  let client: RedisClient | undefined;
  let backoff = BACKOFF_MIN_MS;
  let failing: string | undefined;
  try {
    while (!o.signal.aborted) {
      try {
        client ??= await o.connect();
        const p = await publishPending(o.db, client, o.now, o.liveChannels, RELAY_BATCH, o.connectForResync);
        const ends = o.storeEnds ? await drainSessionEnds(client, o.storeEnds) : 0;
        totals.ends += ends;
        if (o.stopSessions) await drainEvictions(client, o.stopSessions);
        if (failing !== undefined) o.log(`Redis reachable again; publishing what was queued`);
        failing = undefined;
        backoff = BACKOFF_MIN_MS;
        if (!p && ends > 0) continue;
        if (!p) {
          if (o.once) break;
          await abortableSleep(o.pollMs ?? RELAY_POLL_MS, o.signal);
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
        await abortableSleep(backoff, o.signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  } finally {
    client?.close();
  }
  return totals;
}
