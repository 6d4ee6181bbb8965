// `streamctl sync`: the state the site owns (users, channel policies, grants, its own bans), sent
// whole from the site's database: checked and planned in a read snapshot, its writes made in ONE
// transaction (a big channel's grants staged beforehand in short ones: see syncSite). Idempotent:
// the same input twice changes nothing the second time, so a nightly cron is enough to keep
// streamctl right.
import { parseDuration } from '../lib/duration';
import { oneLine, UserError } from '../lib/errors';
import { formatRange, parseRange } from '../lib/ip';
import { displayNameProblem, externalIdProblem } from '../lib/names';
import { parseIsoTime } from '../lib/time';
import { validateJson, type JsonSchema } from '../lib/json-schema';
import { viewerIdProblem } from '../access/viewer-id';
import { createKey } from '../ingest/keys';
import { deleteBan, insertBan, listSyncBans, updateBan, type BanKind } from '../store/bans';
import { getChannel, updateChannel, type AccessPolicy, type Channel, type ChannelPatch } from '../store/channels';
import {
  beginGrantSet,
  deleteGrant,
  type GrantSetState,
  grantSetState,
  hasOtherGrantSets,
  listGrants,
  purgeRetiredGrantSets,
  retireGrantSet,
  retireStagingGrantSets,
  stageGrants,
  switchGrantSet,
  upsertGrant,
} from '../store/grants';
import type { Db } from '../store/open';
import { findUserById, findUserByName, insertUser, listUsers, updateUserFields, type User } from '../store/users';
import { channelsWithOpenSessions } from '../store/viewer-sessions';
import { batchWrite, writeWithRetry } from '../store/write-retry';
import schemaJson from '../../schemas/sync-input.schema.json';

/** What `streamctl sync` reads; described by schemas/sync-input.schema.json. */
export interface SyncInput {
  users?: SyncUser[];
  disable_unlisted_users?: boolean;
  channels?: SyncChannel[];
  bans?: SyncBan[];
}

export interface SyncUser {
  name: string;
  external_id?: string | null;
  display_name?: string | null;
  disabled?: boolean;
}

export interface SyncChannel {
  user: string;
  access?: AccessPolicy;
  min_age?: number | null;
  viewer_cap?: number | null;
  record?: boolean;
  retention?: string | null;
  replay_offline?: boolean;
  grants?: { viewer: string; until?: string | null }[];
}

export interface SyncBan {
  channel?: string | null;
  viewer?: string;
  ip?: string;
  until?: string | null;
  reason?: string | null;
}

type FieldChanges = Record<string, { from: unknown; to: unknown }>;

/** One change, in the JSON form the report prints (snake_case, ISO 8601 UTC times). */
export type SyncChange =
  /** `key` only when the change was made (not in a dry run): the only time the key exists in clear. */
  | { object: 'user'; action: 'create'; user: string; fields: FieldChanges; key?: string; key_label?: string }
  | { object: 'user'; action: 'update'; user: string; fields: FieldChanges }
  | { object: 'channel'; action: 'update'; user: string; fields: FieldChanges }
  | { object: 'grant'; action: 'add' | 'update' | 'remove'; user: string; viewer: string; until: string | null }
  | {
      object: 'ban';
      action: 'add' | 'update' | 'remove';
      channel: string | null;
      kind: BanKind;
      value: string;
      until: string | null;
      reason: string | null;
    };

/** A change MistServer must apply to sessions already running (see src/live/session-effects.ts). */
export interface SyncLiveEffect {
  kind: 'stop-publisher' | 'recheck-viewers';
  user: string;
  reason: string;
}

export interface SyncSummary {
  users_created: number;
  users_updated: number;
  channels_updated: number;
  grants_added: number;
  grants_updated: number;
  grants_removed: number;
  bans_added: number;
  bans_updated: number;
  bans_removed: number;
}

export interface SyncReport {
  dry_run: boolean;
  changed: boolean;
  summary: SyncSummary;
  changes: SyncChange[];
  /** What the changes need on MistServer; applied by the caller (the CLI does). */
  live_effects: SyncLiveEffect[];
}

/** The input did not pass the schema or refers to something that cannot be; `problems` names each field. */
export class SyncInputError extends UserError {
  constructor(readonly problems: { path: string; message: string }[]) {
    const shown = problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`);
    super(`invalid sync input: ${shown.join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
    this.name = 'SyncInputError';
  }
}

export const SYNC_INPUT_SCHEMA = schemaJson as JsonSchema;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace(/\.000Z$/, 'Z'));

/** null stays null; a bad time, or one that does not exist (2027-02-31), is NaN. */
function parseTime(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  return parseIsoTime(text);
}

/** The checked input, with times in ms, canonical CIDRs and user names resolved. */
interface Plan {
  users: {
    at: string;
    name: string;
    externalId: string | null | undefined;
    displayName: string | null | undefined;
    disabled: boolean | undefined;
  }[];
  disableUnlisted: boolean;
  channels: { at: string; user: string; patch: ChannelPatch; grants?: Map<string, number | null> }[];
  bans?: Map<string, { userName: string | null; kind: BanKind; value: string; until: number | null; reason: string | null }>;
}

/** Checks the input against the schema and against the database; every problem names its field. */
function checkInput(db: Db, raw: unknown): Plan {
  const problems = validateJson(SYNC_INPUT_SCHEMA, raw);
  if (problems.length) throw new SyncInputError(problems);
  const input = raw as SyncInput;
  const add = (path: string, message: string) => problems.push({ path, message });

  const listed = new Map<string, string>();
  const plan: Plan = { users: [], disableUnlisted: input.disable_unlisted_users === true, channels: [] };
  if (plan.disableUnlisted && !input.users) add('disable_unlisted_users', 'needs the users list (every user the site has)');
  (input.users ?? []).forEach((u, i) => {
    const at = `users[${i}]`;
    if (listed.has(u.name)) add(`${at}.name`, `"${u.name}" is listed twice (also at ${listed.get(u.name)})`);
    listed.set(u.name, at);
    // The checks `user add` makes (src/lib/names.ts), naming the user and the field.
    const externalProblem = typeof u.external_id === 'string' ? externalIdProblem(u.external_id) : null;
    if (externalProblem) add(`${at}.external_id`, `user "${u.name}": ${externalProblem}`);
    const displayProblem = typeof u.display_name === 'string' ? displayNameProblem(u.display_name) : null;
    if (displayProblem) add(`${at}.display_name`, `user "${u.name}": ${displayProblem}${u.display_name === '' ? ' (null for none)' : ''}`);
    plan.users.push({ at, name: u.name, externalId: u.external_id, displayName: u.display_name, disabled: u.disabled });
  });
  // External ids are unique once the sync is done: each one may be held by one user only, whether
  // this input sets it, a listed user keeps it (no external_id given) or a user not listed has it.
  const holders = new Map<string, { user: string; at: string | null; set: boolean }>();
  for (const existing of listUsers(db)) {
    if (existing.externalId !== null && !listed.has(existing.name))
      holders.set(existing.externalId, { user: existing.name, at: null, set: false });
  }
  for (const u of plan.users) {
    if (u.externalId !== undefined) continue;
    const kept = findUserByName(db, u.name)?.externalId ?? null;
    if (kept !== null) holders.set(kept, { user: u.name, at: u.at, set: false });
  }
  for (const u of plan.users) {
    if (typeof u.externalId !== 'string') continue;
    const holder = holders.get(u.externalId);
    const shown = u.externalId.slice(0, 40);
    if (!holder) holders.set(u.externalId, { user: u.name, at: u.at, set: true });
    else if (holder.at === null)
      add(`${u.at}.external_id`, `user "${u.name}": "${shown}" already belongs to user "${holder.user}", which is not in this sync`);
    else if (holder.set) add(`${u.at}.external_id`, `user "${u.name}": "${shown}" is listed twice (also at ${holder.at})`);
    else
      add(
        `${u.at}.external_id`,
        `user "${u.name}": "${shown}" already belongs to user "${holder.user}" (${holder.at}), which keeps it: give that user its new external_id too`,
      );
  }
  const known = (name: string) => listed.has(name) || findUserByName(db, name) !== undefined;

  const channelSeen = new Map<string, string>();
  (input.channels ?? []).forEach((c, i) => {
    const at = `channels[${i}]`;
    if (!known(c.user)) add(`${at}.user`, `no user "${c.user}" (add it to users, or with 'streamctl user add')`);
    if (channelSeen.has(c.user)) add(`${at}.user`, `"${c.user}" is listed twice (also at ${channelSeen.get(c.user)})`);
    channelSeen.set(c.user, at);
    const patch: ChannelPatch = {};
    if (c.access !== undefined) patch.access = c.access;
    if (c.min_age !== undefined) patch.minAge = c.min_age;
    if (c.viewer_cap !== undefined) patch.viewerCap = c.viewer_cap;
    if (c.record !== undefined) patch.record = c.record;
    if (c.replay_offline !== undefined) patch.replayOffline = c.replay_offline;
    if (c.retention !== undefined) {
      const ms = c.retention === null ? null : parseDuration(c.retention);
      if (ms === 0) add(`${at}.retention`, 'must be longer than 0 (or null for the global setting)');
      patch.retentionMs = ms;
    }
    let grants: Map<string, number | null> | undefined;
    if (c.grants) {
      grants = new Map();
      c.grants.forEach((g, j) => {
        const until = parseTime(g.until);
        if (Number.isNaN(until)) add(`${at}.grants[${j}].until`, `"${g.until}" is not a valid time`);
        const viewerProblem = viewerIdProblem(g.viewer);
        if (viewerProblem) add(`${at}.grants[${j}].viewer`, viewerProblem);
        if (grants!.has(g.viewer)) add(`${at}.grants[${j}].viewer`, `"${g.viewer.slice(0, 40)}" is listed twice`);
        grants!.set(g.viewer, until);
      });
    }
    plan.channels.push({ at, user: c.user, patch, grants });
  });

  if (input.bans) {
    plan.bans = new Map();
    input.bans.forEach((b, i) => {
      const at = `bans[${i}]`;
      const channel = b.channel ?? null;
      if (channel !== null && !known(channel)) add(`${at}.channel`, `no user "${channel}"`);
      if ((b.viewer === undefined) === (b.ip === undefined)) {
        add(at, 'give exactly one of "viewer" or "ip"');
        return;
      }
      let value = b.viewer;
      const viewerProblem = b.viewer === undefined ? null : viewerIdProblem(b.viewer);
      if (viewerProblem) add(`${at}.viewer`, viewerProblem);
      if (b.ip !== undefined) {
        const range = parseRange(b.ip);
        if (!range) {
          add(`${at}.ip`, `"${b.ip}" is not an IPv4/IPv6 address or CIDR range`);
          return;
        }
        value = formatRange(range);
      }
      const until = parseTime(b.until);
      if (Number.isNaN(until)) add(`${at}.until`, `"${b.until}" is not a valid time`);
      const kind: BanKind = b.viewer !== undefined ? 'viewer' : 'ip';
      const id = banIdentity(channel, kind, value!);
      if (plan.bans!.has(id)) add(at, `the same ban is listed twice (${kind} ${value} on ${channel ?? 'every channel'})`);
      const reason = b.reason?.replace(/\s+/g, ' ').trim() || null;
      plan.bans!.set(id, { userName: channel, kind, value: value!, until, reason });
    });
  }
  if (problems.length) throw new SyncInputError(problems);
  return plan;
}

/**
 * Grant rows per write transaction when a channel's grants are staged, and the most the final
 * transaction writes without staging: 5,000 inserts take about 30 ms, well under the 200 ms a push
 * or a viewer may wait for the write lock.
 */
export const SYNC_BATCH_ROWS = 5000;

/** A set still being built after this long was left by a sync that crashed (1,000,000 rows take seconds). */
const STALE_STAGING_MS = 60 * 60 * 1000;

/** One listed channel's planned grant changes. */
interface GrantPlan {
  user: string;
  /** undefined: a user this sync creates. */
  userId: number | undefined;
  /** The current set and version the plan was made against (undefined without a policy row). */
  planned: GrantSetState | undefined;
  /** The changes, as writes to the current set (the direct path). */
  writes: (() => void)[];
  /** Every grant the channel has afterwards (the staged path builds this whole set). */
  rows: () => { viewer: string; until: number | null; createdAt: number }[];
}

/** What a channel starts as (a user the dry run would create has no row yet to compare with). */
const DEFAULT_CHANNEL: Omit<Channel, 'userId'> = {
  access: 'public',
  minAge: null,
  viewerCap: null,
  passwordHash: null,
  record: false,
  retentionMs: null,
  replayOffline: false,
  viewerSessions: null,
  onExcess: 'refuse',
  secondPush: 'refuse',
  reconnectGraceMs: 0,
  updatedAt: null,
};

const banIdentity = (channel: string | null, kind: BanKind, value: string) => JSON.stringify([channel, kind, value]);

function channelFieldChanges(before: Omit<Channel, 'userId'>, patch: ChannelPatch): FieldChanges {
  const names: Record<keyof ChannelPatch, string> = {
    access: 'access',
    minAge: 'min_age',
    viewerCap: 'viewer_cap',
    passwordHash: 'password',
    record: 'record',
    retentionMs: 'retention_ms',
    replayOffline: 'replay_offline',
    viewerSessions: 'viewer_sessions',
    onExcess: 'on_excess',
    secondPush: 'second_push',
    reconnectGraceMs: 'reconnect_grace_ms',
  };
  const out: FieldChanges = {};
  for (const [field, to] of Object.entries(patch) as [keyof ChannelPatch, unknown][]) {
    const from = before[field];
    if (to !== undefined && from !== to) out[names[field]] = { from, to };
  }
  return out;
}

/**
 * Makes the database match `input`, all or nothing, or with `dryRun` only says what would change.
 * The input is checked and the changes planned in a read transaction (a snapshot: WAL readers never
 * hold the write lock, so pushes and viewers go on while a big input is validated); only the
 * planned writes then run, in one IMMEDIATE transaction. Every planned write makes a row what the
 * input says (an upsert, a delete by key), so a change committed by another program in between is
 * not undone blindly; one that collides (a user of the same name created meanwhile) fails the whole
 * sync, nothing changed.
 *
 * Grants are the one part that can be huge (a site may send a million). When the planned grant
 * writes exceed a batch (`batchRows`, SYNC_BATCH_ROWS), the biggest channels are staged instead:
 * each one's whole next grant set is written invisibly, a batch per short transaction (the lock
 * left free between them), and the final transaction makes it current with one small UPDATE,
 * with all the other writes; the old set is then deleted in batches (db/0015_grant_sets.sql). So
 * no transaction writes more than about one batch of grants, and the sync still changes all or
 * nothing: until the final commit, every reader sees the old set. A change to a staged channel's
 * grants made meanwhile by another program (`grant add`) fails the sync, changing nothing, rather
 * than be lost; so does another sync replacing the same channel's grants.
 *
 * Keys of created users are in the report, the only time they exist in clear: `beforeCommit` gets
 * the report inside the write transaction, after the writes, to show them before they are stored
 * (a dry run's, or one with nothing to write, outside any); live effects are returned for the
 * caller to apply.
 */
export function syncSite(
  db: Db,
  input: unknown,
  opts: {
    now: number;
    dryRun?: boolean;
    beforeCommit?: (report: SyncReport) => void;
    /** Rows per write transaction when grants are staged (SYNC_BATCH_ROWS); smaller in tests. */
    batchRows?: number;
  },
): SyncReport {
  const dryRun = opts.dryRun === true;
  // The writes the plan makes, in order; run only after planning, in one write transaction.
  const writes: (() => void)[] = [];
  const write = (w: () => void) => void writes.push(w);
  // Each listed channel's grant writes, kept apart: a big channel's are staged instead (below).
  const grantPlans: GrantPlan[] = [];
  const run = () => {
    const plan = checkInput(db, input);
    const changes: SyncChange[] = [];
    const effects: SyncLiveEffect[] = [];
    const effect = (e: SyncLiveEffect) => {
      if (!effects.some((x) => x.kind === e.kind && x.user === e.user)) effects.push(e);
    };
    const ids = new Map<string, number>();

    // Users. External ids move in two steps so two users may swap theirs (the column is UNIQUE).
    const updates: { user: User; next: { displayName: string | null; externalId: string | null; disabled: boolean } }[] = [];
    for (const u of plan.users) {
      const existing = findUserByName(db, u.name);
      if (!existing) {
        const fields: FieldChanges = {};
        if (u.externalId != null) fields.external_id = { from: null, to: u.externalId };
        if (u.displayName != null) fields.display_name = { from: null, to: u.displayName };
        if (u.disabled) fields.disabled = { from: null, to: true };
        const change: SyncChange = { object: 'user', action: 'create', user: u.name, fields };
        write(() => {
          // The external id is set with the updates below, once a user moving away from it has let
          // it go (another listed user may hold it until then: the column is UNIQUE).
          const user = insertUser(db, { name: u.name, displayName: u.displayName ?? null, externalId: null, now: opts.now });
          if (u.disabled || u.externalId != null)
            updates.push({
              user,
              next: { displayName: user.displayName, externalId: u.externalId ?? null, disabled: u.disabled === true },
            });
          const { key, stored } = createKey(db, user.id, 'default', opts.now);
          change.key = key;
          change.key_label = stored.label;
          ids.set(u.name, user.id);
        });
        changes.push(change);
        continue;
      }
      ids.set(u.name, existing.id);
      const next = {
        displayName: u.displayName === undefined ? existing.displayName : u.displayName,
        externalId: u.externalId === undefined ? existing.externalId : u.externalId,
        disabled: u.disabled === undefined ? existing.disabled : u.disabled,
      };
      const fields: FieldChanges = {};
      if (next.externalId !== existing.externalId) fields.external_id = { from: existing.externalId, to: next.externalId };
      if (next.displayName !== existing.displayName) fields.display_name = { from: existing.displayName, to: next.displayName };
      if (next.disabled !== existing.disabled) fields.disabled = { from: existing.disabled, to: next.disabled };
      if (Object.keys(fields).length === 0) continue;
      changes.push({ object: 'user', action: 'update', user: u.name, fields });
      updates.push({ user: existing, next });
      if (next.disabled && !existing.disabled) effect({ kind: 'stop-publisher', user: u.name, reason: 'user disabled by sync' });
      // The owner is the viewer whose id is the external id: who that is has changed.
      if (fields.external_id) effect({ kind: 'recheck-viewers', user: u.name, reason: 'owner (external id) changed by sync' });
    }
    if (plan.disableUnlisted) {
      const names = new Set(plan.users.map((u) => u.name));
      for (const existing of listUsers(db)) {
        if (names.has(existing.name) || existing.disabled) continue;
        changes.push({ object: 'user', action: 'update', user: existing.name, fields: { disabled: { from: false, to: true } } });
        updates.push({ user: existing, next: { displayName: existing.displayName, externalId: existing.externalId, disabled: true } });
        effect({ kind: 'stop-publisher', user: existing.name, reason: 'user not in sync' });
      }
    }
    write(() => {
      for (const { user, next } of updates) {
        if (next.externalId !== user.externalId) updateUserFields(db, user.id, { ...next, externalId: null });
      }
      for (const { user, next } of updates) updateUserFields(db, user.id, next);
    });

    // Channel policies and grants. A user created by this dry run has no row yet: defaults.
    for (const c of plan.channels) {
      const userId = ids.get(c.user) ?? findUserByName(db, c.user)?.id;
      // A user this sync creates has its id only once its write ran.
      const idAtWrite = () => userId ?? ids.get(c.user)!;
      const before = (userId === undefined ? undefined : getChannel(db, userId)) ?? DEFAULT_CHANNEL;
      const fields = channelFieldChanges(before, c.patch);
      if (Object.keys(fields).length > 0) {
        changes.push({ object: 'channel', action: 'update', user: c.user, fields });
        write(() => updateChannel(db, idAtWrite(), c.patch, opts.now));
        if ('access' in fields || 'min_age' in fields || 'viewer_cap' in fields)
          effect({ kind: 'recheck-viewers', user: c.user, reason: 'channel access changed by sync' });
      }
      if (!c.grants) continue;
      const current = new Map((userId === undefined ? [] : listGrants(db, userId, opts.now, true)).map((g) => [g.viewer, g]));
      const grants = c.grants;
      const grantWrites: (() => void)[] = [];
      let narrowed = false;
      for (const [viewer, grant] of current) {
        if (grants.has(viewer)) continue;
        changes.push({ object: 'grant', action: 'remove', user: c.user, viewer, until: iso(grant.until) });
        grantWrites.push(() => deleteGrant(db, idAtWrite(), viewer));
        narrowed = true;
      }
      for (const [viewer, until] of grants) {
        if (!current.has(viewer)) {
          changes.push({ object: 'grant', action: 'add', user: c.user, viewer, until: iso(until) });
        } else if (current.get(viewer)!.until !== until) {
          changes.push({ object: 'grant', action: 'update', user: c.user, viewer, until: iso(until) });
          narrowed = true;
        } else continue;
        grantWrites.push(() => upsertGrant(db, { userId: idAtWrite(), viewer, until, now: opts.now }));
      }
      if (narrowed) effect({ kind: 'recheck-viewers', user: c.user, reason: 'grants changed by sync' });
      grantPlans.push({
        user: c.user,
        userId,
        // Read in this snapshot with the grants above: the flip checks nothing changed since.
        planned: userId === undefined ? undefined : grantSetState(db, userId),
        writes: grantWrites,
        // The whole next set, for staging: a grant that stays keeps its creation time.
        rows: () => [...grants].map(([viewer, until]) => ({ viewer, until, createdAt: current.get(viewer)?.createdAt ?? opts.now })),
      });
    }

    // The site's own bans (origin 'sync'); an operator's bans are not the site's to lift.
    if (plan.bans) {
      const watched = () =>
        channelsWithOpenSessions(db)
          .map((id) => findUserById(db, id)?.name)
          .filter((n): n is string => n !== undefined);
      const recheck = (channel: string | null, reason: string) => {
        for (const user of channel !== null ? [channel] : watched()) effect({ kind: 'recheck-viewers', user, reason });
      };
      const existing = new Map(listSyncBans(db).map((b) => [banIdentity(b.userName, b.kind, b.value), b]));
      for (const [id, b] of existing) {
        if (plan.bans.has(id)) continue;
        changes.push({
          object: 'ban',
          action: 'remove',
          channel: b.userName,
          kind: b.kind,
          value: b.value,
          until: iso(b.until),
          reason: b.reason,
        });
        write(() => deleteBan(db, b.id));
        recheck(b.userName, 'ban lifted by sync');
      }
      for (const [id, b] of plan.bans) {
        const old = existing.get(id);
        const shown = { object: 'ban' as const, channel: b.userName, kind: b.kind, value: b.value, until: iso(b.until), reason: b.reason };
        if (!old) {
          changes.push({ ...shown, action: 'add' });
          write(() => {
            const userId = b.userName === null ? null : (ids.get(b.userName) ?? findUserByName(db, b.userName)!.id);
            insertBan(db, { userId, kind: b.kind, value: b.value, reason: b.reason, until: b.until, now: opts.now, origin: 'sync' });
          });
        } else if (old.until !== b.until || old.reason !== b.reason) {
          changes.push({ ...shown, action: 'update' });
          write(() => updateBan(db, old.id, { until: b.until, reason: b.reason }));
        } else continue;
        recheck(b.userName, 'ban added by sync');
      }
    }
    // The report's change objects are the plan's: a created user's key is filled in by its write.
    const report: SyncReport = {
      dry_run: dryRun,
      changed: changes.length > 0,
      summary: summarize(changes),
      changes,
      live_effects: effects,
    };
    return report;
  };
  const report = db.transaction(run).deferred();
  if (dryRun) {
    opts.beforeCommit?.(report);
    return report;
  }
  // Which channels' grants are staged: the biggest, until what is left for the final transaction
  // is at most one batch. A channel of a user this sync creates cannot be (its rows need the user
  // row, which only the final transaction writes).
  const batch = opts.batchRows ?? SYNC_BATCH_ROWS;
  let direct = grantPlans.reduce((n, g) => n + g.writes.length, 0);
  const staged: (GrantPlan & { userId: number; planned: GrantSetState; setId?: number })[] = [];
  for (const g of [...grantPlans].sort((a, b) => b.writes.length - a.writes.length)) {
    if (direct > batch && g.userId !== undefined && g.planned !== undefined && g.writes.length > 0) {
      staged.push({ ...g, userId: g.userId, planned: g.planned });
      direct -= g.writes.length;
    } else writes.push(...g.writes);
  }
  const stagedIds = staged.map((s) => s.userId);
  // What an earlier sync left (it crashed while staging, or before deleting an old set): never seen,
  // deleted now. A set still being built for a channel this sync builds is retired too: the latest
  // sync wins, the other fails at its next step and changes nothing.
  if (hasOtherGrantSets(db)) {
    writeWithRetry(db, () => retireStagingGrantSets(db, stagedIds, opts.now - STALE_STAGING_MS));
    purgeRetiredGrantSets(db, batch);
  }
  if (writes.length === 0 && staged.length === 0) {
    opts.beforeCommit?.(report);
    return report;
  }
  const changedMeanwhile = (what: string) =>
    new UserError(`the database changed while sync was planning (${what}); nothing was changed, run it again`);
  try {
    // Each big channel's next set, built invisibly, one batch per transaction.
    for (const s of staged) {
      s.setId = writeWithRetry(db, () => beginGrantSet(db, s.userId, opts.now));
      const rows = s.rows();
      for (let i = 0; i < rows.length; i += batch) {
        const chunk = rows.slice(i, i + batch);
        if (!batchWrite(db, () => stageGrants(db, s.userId, s.setId!, chunk)))
          throw changedMeanwhile(`another sync replaced the grants of "${s.user}"`);
      }
    }
    db.transaction(() => {
      // All or nothing: the staged sets become current with every other write, or none does.
      for (const s of staged) {
        if (!switchGrantSet(db, s.userId, s.setId!, s.planned, opts.now))
          throw changedMeanwhile(`the grants of "${s.user}" were changed meanwhile`);
      }
      for (const w of writes) w();
      // Inside the transaction, after the writes (the keys of created users exist now): the caller
      // shows them before they are committed, and a throw (stdout failed) rolls everything back.
      opts.beforeCommit?.(report);
    }).immediate();
  } catch (err) {
    // The sets this sync built never became current: delete them (a crash leaves them to the next sync).
    try {
      for (const s of staged) if (s.setId !== undefined) writeWithRetry(db, () => retireGrantSet(db, s.userId, s.setId!));
      purgeRetiredGrantSets(db, batch, stagedIds);
    } catch {
      // Invisible either way; the next sync deletes them. The first error is the one to report.
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) throw changedMeanwhile(oneLine(err));
    throw err;
  }
  // The old sets, no longer seen: deleted a batch per transaction. Committed already; if this fails
  // (the lock stayed busy), the rows stay invisible and the next sync deletes them.
  try {
    purgeRetiredGrantSets(db, batch, stagedIds);
  } catch {
    // See above.
  }
  return report;
}

function summarize(changes: SyncChange[]): SyncSummary {
  const count = (object: SyncChange['object'], action: string) => changes.filter((c) => c.object === object && c.action === action).length;
  return {
    users_created: count('user', 'create'),
    users_updated: count('user', 'update'),
    channels_updated: count('channel', 'update'),
    grants_added: count('grant', 'add'),
    grants_updated: count('grant', 'update'),
    grants_removed: count('grant', 'remove'),
    bans_added: count('ban', 'add'),
    bans_updated: count('ban', 'update'),
    bans_removed: count('ban', 'remove'),
  };
}
