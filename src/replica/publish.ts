// What Redis must hold so an edge admits viewers like the origin would: for one changed entity (an
// outbox row) or for everything (`edge resync`), the CURRENT state read from SQLite, laid out as
// src/replica/schema.ts says. Publishing writes whole values (a hash is deleted and rewritten inside
// the same MULTI), so applying the same entity twice, or two entities in any order, ends the same.
// Bans and grants that ended, and token keys past their grace, are left out: an edge needs only
// what can still admit or refuse someone.
import { activeTokenKeys } from '../store/token-keys';
import { activeRevocations } from '../store/revoked-tokens';
import type { Db } from '../store/open';
import {
  allReplicaBans,
  allReplicaGrants,
  replicaBans,
  replicaChannel,
  replicaChannels,
  replicaGrants,
  replicaRecording,
  replicaRecordings,
  type OutboxEntity,
  type ReplicaBanRow,
  type ReplicaChannelRow,
  type ReplicaGrantRow,
  type ReplicaRecordingRow,
} from '../store/replication';
import { relativeRecordingPath } from '../recordings/recording-path';
import { getSettings } from '../store/settings';
import { keys, PREFIX, REPLICATED_SETTINGS, type BanValue, type ChannelValue, type KeyValue, type SettingsValue } from './schema';

/** One Redis key as it must be: a string, a hash (never empty: Redis has no empty hash), or absent. */
export type Desired =
  | { key: string; type: 'string'; value: string }
  | { key: string; type: 'hash'; fields: Record<string, string> }
  | { key: string; type: 'none' };

export type RedisCommand = (string | number)[];

function channelValue(r: ReplicaChannelRow): string {
  // Field order is fixed here, so the same state always gives the same bytes (the digests compare them).
  const v: ChannelValue = {
    id: r.id,
    name: r.name,
    disabled: r.disabled === 1,
    externalId: r.externalId,
    access: r.access,
    minAge: r.minAge,
    viewerCap: r.viewerCap,
    passwordSet: r.passwordSet === 1,
    viewerSessions: r.viewerSessions,
    onExcess: r.onExcess,
  };
  return JSON.stringify(v);
}

function banValue(b: ReplicaBanRow): string {
  const v: BanValue = { kind: b.kind, value: b.value, until: b.until };
  return JSON.stringify(v);
}

function grantValue(g: ReplicaGrantRow): string {
  return g.until === null ? '' : String(g.until);
}

function hash(key: string, fields: Record<string, string>): Desired {
  return Object.keys(fields).length === 0 ? { key, type: 'none' } : { key, type: 'hash', fields };
}

function settingsDesired(db: Db): Desired {
  const s = getSettings(db, REPLICATED_SETTINGS);
  const v = {} as SettingsValue;
  for (const name of REPLICATED_SETTINGS) v[name] = s[name];
  return { key: keys.settings, type: 'string', value: JSON.stringify(v) };
}

function keysDesired(db: Db, now: number): Desired {
  // Oldest first (activeTokenKeys gives newest first): a stable order for the digest.
  const list: KeyValue[] = activeTokenKeys(db, now)
    .sort((a, b) => a.id - b.id)
    .map((k) => ({ id: k.id, kind: k.kind, alg: k.alg, material: k.material, label: k.label, retiredAt: k.retiredAt }));
  return { key: keys.tokenKeys, type: 'string', value: JSON.stringify(list) };
}

function revokedDesired(db: Db, now: number): Desired {
  return hash(keys.revoked, Object.fromEntries(activeRevocations(db, now).map((r) => [r.jti, String(r.until)])));
}

function recordingsRoot(db: Db): string {
  return getSettings(db, ['recordings-root'])['recordings-root'];
}

/** A recording's owner (admission) and its file relative to recordings-root (an edge's STREAM_SOURCE). */
function recordingDesired(r: ReplicaRecordingRow, root: string): Desired[] {
  const relative = relativeRecordingPath(root, r.path);
  return [
    { key: keys.vod(r.id), type: 'string', value: r.userName },
    relative === null ? { key: keys.vodFile(r.id), type: 'none' } : { key: keys.vodFile(r.id), type: 'string', value: relative },
  ];
}

const banKey = (scope: string) => (scope === '' ? keys.globalBans : keys.channelBans(scope));

/** The keys one outbox entity names, as they must be now ('all' is the caller's: see fullState). */
export function entityState(db: Db, entity: Exclude<OutboxEntity, 'all'>, ref: string, now: number): Desired[] {
  switch (entity) {
    case 'settings':
      return [settingsDesired(db)];
    case 'keys':
      return [keysDesired(db, now), revokedDesired(db, now)];
    case 'channel': {
      const r = replicaChannel(db, ref);
      // A removed user: its channel, bans and grants go (the cap hash is the primary's own: never touched).
      if (!r) return [keys.channel(ref), keys.channelBans(ref), keys.grants(ref)].map((key) => ({ key, type: 'none' }));
      return [{ key: keys.channel(ref), type: 'string', value: channelValue(r) }];
    }
    case 'bans':
      return [hash(banKey(ref), Object.fromEntries(replicaBans(db, ref, now).map((b) => [String(b.id), banValue(b)])))];
    case 'grants':
      return [hash(keys.grants(ref), Object.fromEntries(replicaGrants(db, ref, now).map((g) => [g.viewer, grantValue(g)])))];
    case 'vod': {
      const r = replicaRecording(db, ref);
      if (r === undefined) return [keys.vod(ref), keys.vodFile(ref)].map((key) => ({ key, type: 'none' }));
      return recordingDesired(r, recordingsRoot(db));
    }
  }
}

/** Everything Redis must hold under sc: (sc:meta and the cap hashes aside), by key. */
export function fullState(db: Db, now: number): Map<string, Desired> {
  const out = new Map<string, Desired>();
  const put = (d: Desired) => {
    if (d.type !== 'none') out.set(d.key, d);
  };
  put(settingsDesired(db));
  put(keysDesired(db, now));
  put(revokedDesired(db, now));
  for (const r of replicaChannels(db)) put({ key: keys.channel(r.name), type: 'string', value: channelValue(r) });
  const bans = new Map<string, Record<string, string>>();
  for (const b of allReplicaBans(db, now)) {
    const key = banKey(b.userName ?? '');
    if (!bans.has(key)) bans.set(key, {});
    bans.get(key)![String(b.id)] = banValue(b);
  }
  for (const [key, fields] of bans) put(hash(key, fields));
  const grants = new Map<string, Record<string, string>>();
  for (const g of allReplicaGrants(db, now)) {
    const key = keys.grants(g.userName);
    if (!grants.has(key)) grants.set(key, {});
    grants.get(key)![g.viewer] = grantValue(g);
  }
  for (const [key, fields] of grants) put(hash(key, fields));
  const root = recordingsRoot(db);
  for (const r of replicaRecordings(db)) recordingDesired(r, root).forEach(put);
  return out;
}

/** The commands that make Redis hold `d` (meant to run inside MULTI/EXEC with the others). */
export function commandsFor(d: Desired): RedisCommand[] {
  switch (d.type) {
    case 'string':
      return [['SET', d.key, d.value]];
    case 'none':
      return [['DEL', d.key]];
    case 'hash':
      // DEL first: fields of bans and grants that ended or were removed must not survive.
      return [
        ['DEL', d.key],
        ['HSET', d.key, ...Object.entries(d.fields).flat()],
      ];
  }
}

/**
 * Keys under sc: that `edge resync` owns: everything but sc:meta (its own bookkeeping), the
 * viewer-cap hashes (live counts the edges keep on the primary; SQLite knows nothing of them) and
 * the edges' session ends on their way to SQLite (sc:ends).
 */
export function isReplicatedKey(key: string): boolean {
  return (
    key.startsWith(PREFIX) &&
    key !== keys.meta &&
    key !== keys.sessionEnds &&
    key !== keys.evict &&
    !key.startsWith(`${PREFIX}cap:`) &&
    !key.startsWith(`${PREFIX}vs:`) &&
    !key.startsWith(`${PREFIX}sess:`)
  );
}
