// Does Redis hold what SQLite says it should? Reads every replicated key under sc: and compares it
// with the state computed from SQLite (publish.ts fullState), entity by entity: counts, a content
// digest per side, and the keys that differ. For `streamctl edge check` and `doctor`.
// Entries that ended (bans, grants, keys past their grace) are dropped from BOTH sides at the same
// `now`: they stay in Redis until the next write of their key, admit or refuse no one (edges check
// the end time too), and are no difference.
import { createHash } from 'node:crypto';
import type { RedisClient, RespValue } from '../lib/resp';
import type { Db } from '../store/open';
import { fullState, isReplicatedKey, type Desired } from './publish';
import { keys, PREFIX } from './schema';

/** What an edge's admission reads, in the groups people think in. */
export const KINDS = ['settings', 'keys', 'channels', 'bans', 'grants', 'recordings'] as const;
export type Kind = (typeof KINDS)[number];

export interface SideSummary {
  /** Entries per kind: token keys, channels, ban and grant entries (hash fields), playable recordings. */
  counts: Record<Kind, number>;
  /** SHA-256 over every key and value, in key order (equal digests: equal content). */
  digest: string;
}

export interface Difference {
  key: string;
  problem: 'missing in Redis' | 'not in SQLite' | 'different';
}

export interface Comparison {
  same: boolean;
  sqlite: SideSummary;
  redis: SideSummary;
  /** The first differences, by key (at most `limit`). */
  differences: Difference[];
  /** How many differ in all. */
  differenceCount: number;
}

function kindOf(key: string): Kind | null {
  if (key === keys.settings) return 'settings';
  if (key === keys.tokenKeys || key === keys.revoked) return 'keys';
  if (key.startsWith(`${PREFIX}chan:`)) return 'channels';
  if (key.startsWith(`${PREFIX}bans:`)) return 'bans';
  if (key.startsWith(`${PREFIX}grants:`)) return 'grants';
  if (key.startsWith(`${PREFIX}vod:`)) return 'recordings';
  return null;
}

/** Every key matching `pattern` (SCAN: never blocks Redis like KEYS would). */
export async function scanKeys(client: RedisClient, pattern = `${PREFIX}*`): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const reply = (await client.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
    cursor = reply[0];
    for (const k of reply[1]) found.add(k);
  } while (cursor !== '0');
  return [...found];
}

function asError(v: RespValue): Error | null {
  return v instanceof Error ? v : null;
}

/** What Redis holds under every replicated key, as Desired entries (type none: other types, kept as a difference). */
export async function readRedisState(client: RedisClient): Promise<Map<string, Desired>> {
  const names = (await scanKeys(client)).filter(isReplicatedKey).sort();
  const types = await client.pipeline(names.map((k) => ['TYPE', k]));
  const reads = await client.pipeline(names.map((k, i) => (types[i] === 'hash' ? ['HGETALL', k] : ['GET', k])));
  const out = new Map<string, Desired>();
  names.forEach((key, i) => {
    const err = asError(types[i]!) ?? asError(reads[i]!);
    if (err) throw err;
    const v = reads[i]!;
    if (types[i] === 'hash') {
      const flat = v as string[];
      const fields: Record<string, string> = {};
      for (let j = 0; j + 1 < flat.length; j += 2) fields[flat[j]!] = flat[j + 1]!;
      out.set(key, { key, type: 'hash', fields });
    } else if (types[i] === 'string') {
      out.set(key, { key, type: 'string', value: v as string });
    } else if (types[i] !== 'none') {
      // A list or set where we write strings and hashes: shown as a difference, never read as data.
      out.set(key, { key, type: 'string', value: `(a Redis ${String(types[i])})` });
    }
  });
  return out;
}

/** An entry ended at `now` (a ban or grant past its end, a key past its grace). */
function ended(until: unknown, now: number): boolean {
  return typeof until === 'number' && until <= now;
}

/** The entry with what has ended at `now` left out (unreadable values stay as they are). */
function current(d: Desired, now: number): Desired {
  const kind = kindOf(d.key);
  try {
    if (d.type === 'hash' && kind === 'bans') {
      const fields = Object.fromEntries(
        Object.entries(d.fields).filter(([, v]) => !ended((JSON.parse(v) as { until?: unknown }).until, now)),
      );
      return Object.keys(fields).length ? { ...d, fields } : { key: d.key, type: 'none' };
    }
    if (d.type === 'hash' && kind === 'grants') {
      const fields = Object.fromEntries(Object.entries(d.fields).filter(([, v]) => v === '' || !ended(Number(v), now)));
      return Object.keys(fields).length ? { ...d, fields } : { key: d.key, type: 'none' };
    }
    if (d.type === 'hash' && d.key === keys.revoked) {
      // A revocation past its token's life is left out of SQLite's side; Redis keeps it until the next publish.
      const fields = Object.fromEntries(Object.entries(d.fields).filter(([, v]) => !ended(Number(v), now)));
      return Object.keys(fields).length ? { ...d, fields } : { key: d.key, type: 'none' };
    }
    if (d.type === 'string' && kind === 'keys') {
      const list = JSON.parse(d.value) as { retiredAt?: unknown }[];
      if (Array.isArray(list)) return { ...d, value: JSON.stringify(list.filter((k) => !ended(k?.retiredAt, now))) };
    }
  } catch {
    // Not our JSON: compared as it is, so it shows as a difference.
  }
  return d;
}

/** A canonical text of an entry: hash fields sorted. */
function canonical(d: Desired): string {
  if (d.type === 'hash')
    return JSON.stringify(
      Object.keys(d.fields)
        .sort()
        .map((f) => [f, d.fields[f]]),
    );
  return d.type === 'string' ? JSON.stringify(d.value) : 'none';
}

function summarise(state: Map<string, Desired>): SideSummary {
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const hash = createHash('sha256');
  for (const key of [...state.keys()].sort()) {
    const d = state.get(key)!;
    const kind = kindOf(key);
    if (kind === 'keys' && d.type === 'string') {
      try {
        counts.keys += (JSON.parse(d.value) as unknown[]).length;
      } catch {
        counts.keys += 1;
      }
    } else if (kind && d.type === 'hash') counts[kind] += Object.keys(d.fields).length;
    else if (kind) counts[kind] += 1;
    hash.update(`${key}\n${d.type}\n${canonical(d)}\n`);
  }
  return { counts, digest: hash.digest('hex') };
}

function normalise(state: Map<string, Desired>, now: number): Map<string, Desired> {
  const out = new Map<string, Desired>();
  for (const [key, d] of state) {
    const c = current(d, now);
    if (c.type !== 'none') out.set(key, c);
  }
  return out;
}

/** Compares two states (SQLite's wanted one, Redis's actual one) at `now`. */
export function compareStates(wanted: Map<string, Desired>, actual: Map<string, Desired>, now: number, limit = 20): Comparison {
  const a = normalise(wanted, now);
  const b = normalise(actual, now);
  const all = [...new Set([...a.keys(), ...b.keys()])].sort();
  const differences: Difference[] = [];
  for (const key of all) {
    const x = a.get(key);
    const y = b.get(key);
    if (!y) differences.push({ key, problem: 'missing in Redis' });
    else if (!x) differences.push({ key, problem: 'not in SQLite' });
    else if (x.type !== y.type || canonical(x) !== canonical(y)) differences.push({ key, problem: 'different' });
  }
  return {
    same: differences.length === 0,
    sqlite: summarise(a),
    redis: summarise(b),
    differences: differences.slice(0, limit),
    differenceCount: differences.length,
  };
}

/** SQLite against Redis now (what `doctor` and `edge check` call). */
export async function compareWithRedis(db: Db, client: RedisClient, now: number, limit = 20): Promise<Comparison> {
  const actual = await readRedisState(client);
  // A change still in the outbox shows as a difference until the relay publishes it: callers say
  // how many are pending (edge check, doctor) so a transient one is told from a lost one.
  const wanted = db.transaction(() => fullState(db, now))();
  return compareStates(wanted, actual, now, limit);
}
