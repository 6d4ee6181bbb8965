// Reading the replicated values (src/replica/schema.ts) back into what admission needs. Values are
// checked field by field: a value that does not have the schema's shape is an error, and every
// error on the edge refuses (fail closed), never guesses.
import { parseDuration } from '../lib/duration';
import type { BanFact, PolicyFacts } from '../access/admission';
import type { VerificationKey } from '../access/token';
import { REPLICATED_SETTINGS, type BanValue, type ChannelValue, type KeyValue, type SettingsValue } from '../replica/schema';

/** Thrown for a Redis value that does not have the schema's shape (the message names the key). */
export class ReplicaShapeError extends Error {
  constructor(key: string, what: string) {
    super(`replicated ${key} ${what}`);
    this.name = 'ReplicaShapeError';
  }
}

/** A reply that must be a string or nil; an error reply (MASTERDOWN, LOADING…) is thrown. */
export function stringOrNil(key: string, reply: unknown): string | null {
  if (reply instanceof Error) throw reply;
  if (reply === null || typeof reply === 'string') return reply;
  throw new ReplicaShapeError(key, 'is not a string');
}

/** A reply that must be an array (HGETALL); an error reply is thrown. */
export function fieldPairs(key: string, reply: unknown): [string, string][] {
  if (reply instanceof Error) throw reply;
  if (!Array.isArray(reply) || reply.length % 2 !== 0 || reply.some((v) => typeof v !== 'string'))
    throw new ReplicaShapeError(key, 'is not a hash');
  const pairs: [string, string][] = [];
  for (let i = 0; i < reply.length; i += 2) pairs.push([reply[i] as string, reply[i + 1] as string]);
  return pairs;
}

function json(key: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ReplicaShapeError(key, 'is not JSON');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));

/** `sc:settings`; missing means the edge was never synced (refuse, naming resync). */
export function readSettings(key: string, reply: unknown): SettingsValue {
  const text = stringOrNil(key, reply);
  if (text === null) throw new ReplicaShapeError(key, "is missing (never synced? run 'streamctl edge resync' on the origin)");
  const v = json(key, text);
  if (!isObject(v)) throw new ReplicaShapeError(key, 'is not an object');
  // An origin that predates viewer-sessions does not replicate it: unlimited, as there.
  if (v['viewer-sessions'] === undefined) v['viewer-sessions'] = 'unlimited';
  for (const name of REPLICATED_SETTINGS) if (typeof v[name] !== 'string') throw new ReplicaShapeError(key, `has no "${name}"`);
  return v as SettingsValue;
}

/** A duration setting in ms (values are checked on the origin when set; a bad one is an error here). */
export function settingMs(settings: SettingsValue, name: 'viewer-session-stale' | 'token-max-ttl'): number {
  const ms = parseDuration(settings[name]);
  if (ms === null) throw new ReplicaShapeError('sc:settings', `"${name}" is not a duration`);
  return ms;
}

/** `sc:chan:<name>`, or null when the user does not exist. */
export function readChannel(key: string, reply: unknown): ChannelValue | null {
  const text = stringOrNil(key, reply);
  if (text === null) return null;
  const v = json(key, text);
  if (
    !isObject(v) ||
    typeof v.name !== 'string' ||
    typeof v.disabled !== 'boolean' ||
    !(v.externalId === null || typeof v.externalId === 'string') ||
    !(v.access === null || typeof v.access === 'string') ||
    !nullableNumber(v.minAge) ||
    !nullableNumber(v.viewerCap) ||
    typeof v.passwordSet !== 'boolean' ||
    !(v.viewerSessions === undefined || nullableNumber(v.viewerSessions)) ||
    !(v.onExcess === undefined || v.onExcess === 'refuse' || v.onExcess === 'evict-oldest')
  ) {
    throw new ReplicaShapeError(key, 'does not have the channel shape');
  }
  return v as unknown as ChannelValue;
}

/** The policy facts of a replicated channel (undefined: no policy row on the origin); `viewerSessionsSetting` is the replicated viewer-sessions. */
export function policyOf(channel: ChannelValue, viewerSessionsSetting = 'unlimited'): PolicyFacts | undefined {
  if (channel.access === null) return undefined;
  const own = channel.viewerSessions ?? null;
  const viewerSessions = own !== null ? own : viewerSessionsSetting === 'unlimited' ? null : Number(viewerSessionsSetting);
  if (viewerSessions !== null && !(Number.isSafeInteger(viewerSessions) && viewerSessions > 0))
    throw new ReplicaShapeError('sc:settings', '"viewer-sessions" is not a limit');
  return {
    access: channel.access,
    minAge: channel.minAge,
    viewerCap: channel.viewerCap,
    passwordSet: channel.passwordSet,
    viewerSessions,
    onExcess: channel.onExcess ?? 'refuse',
  };
}

/** A revocation field of sc:revoked (its `until`, unix ms), or nil: is the token id revoked at `now`? */
export function revokedAt(key: string, reply: unknown, now: number): boolean {
  const text = stringOrNil(key, reply);
  if (text === null) return false;
  const until = Number(text);
  if (!Number.isFinite(until)) throw new ReplicaShapeError(key, 'holds a revocation whose end is not a number');
  return until > now;
}

/** A ban hash (`sc:bans:global` or `sc:bans:<name>`): field = ban id, value = JSON BanValue. */
export function readBans(key: string, reply: unknown, global: boolean): BanFact[] {
  return fieldPairs(key, reply).map(([field, text]) => {
    const id = Number(field);
    const v = json(key, text) as Partial<BanValue>;
    if (
      !Number.isSafeInteger(id) ||
      !isObject(v) ||
      (v.kind !== 'viewer' && v.kind !== 'ip') ||
      typeof v.value !== 'string' ||
      !nullableNumber(v.until)
    ) {
      throw new ReplicaShapeError(key, `field ${field.slice(0, 20)} is not a ban`);
    }
    return { id, global, kind: v.kind, value: v.value, until: v.until ?? null };
  });
}

/** `sc:keys`: the keys that verify at `now`, newest first (the order the origin tries them in). */
export function readKeys(key: string, reply: unknown, now: number): VerificationKey[] {
  const text = stringOrNil(key, reply);
  if (text === null) return [];
  const v = json(key, text);
  if (!Array.isArray(v)) throw new ReplicaShapeError(key, 'is not a list');
  const keys = v as Partial<KeyValue>[];
  for (const k of keys) {
    if (
      !isObject(k) ||
      typeof k.id !== 'number' ||
      typeof k.material !== 'string' ||
      typeof k.label !== 'string' ||
      !nullableNumber(k.retiredAt)
    ) {
      throw new ReplicaShapeError(key, 'holds a key without the key shape');
    }
    if ((k.kind !== 'secret' && k.kind !== 'public') || !['HS256', 'ES256', 'EdDSA'].includes(k.alg as string))
      throw new ReplicaShapeError(key, 'holds a key of an unknown kind');
  }
  return (keys as KeyValue[])
    .filter((k) => k.retiredAt === null || k.retiredAt > now)
    .sort((a, b) => b.id - a.id)
    .map((k) => ({ kind: k.kind, alg: k.alg, material: k.material, label: k.label }));
}

/** A grant field (`until` in unix ms, '' for none), or null: does it still work at `now`? */
export function grantWorks(key: string, reply: unknown, now: number): boolean {
  const text = stringOrNil(key, reply);
  if (text === null) return false;
  if (text === '') return true;
  const until = Number(text);
  if (!Number.isFinite(until)) throw new ReplicaShapeError(key, 'holds a grant whose end is not a number');
  return until > now;
}
