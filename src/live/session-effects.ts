// Admin changes that MistServer must apply to sessions already running (it caches admission per
// session): stop a publisher whose key or account stopped working, re-check a channel's viewers.
// Sent through MistServer's API when the `mist-api` setting names it; otherwise, or when it cannot
// be reached, the command still succeeds and says in one line what was not applied.
// Every channel an effect names first gets its `open` tag set by its state now (the fast path,
// docs/access-control.md): untagged BEFORE its viewers are re-checked, or invalidate_sessions
// would re-admit them without running USER_NEW. Without a configured API the tag goes over
// MistServer's local UDP API (loopback, unconfirmed), so a channel that stops being open is never
// left tagged just because mist-api was not set.
// "MistServer is configured" (mistConfigured): mist-api is set (`mist apply` sets it), or a
// MistServer has run this database's STREAM_BUFFER (a buffer event, or a broadcast in the event
// log): the only way a stream gets the `open` tag. With neither there is no live session and no
// tag to reach: the command says nothing and sends nothing (docs/mist-integration.md).
import { mistApiCredentials } from '../config';
import { oneLine } from '../lib/errors';
import { channelOpenness, type Openness } from '../access/open-channel';
import { mistCall } from '../mist/api';
import { NO_RECORD_TAG, recordTagRequest, sendUdpApi, tagRequest, untagSettle } from '../mist/stream-tags';
import { liveChannels } from '../store/broadcasts';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { findUserById, findUserByName } from '../store/users';
import { channelsWithOpenSessions } from '../store/viewer-sessions';
import { hasSeenStreamBuffer } from '../store/buffer-events';

export type LiveEffect =
  /** The channel's current publisher must be disconnected. */
  | { kind: 'stop-publisher'; user: string; reason: string }
  /** Every viewer session of the channel must be re-admitted under the new rules. */
  | { kind: 'recheck-viewers'; user: string; reason: string }
  /** Every viewer session of one stream (live or VoD) must be re-admitted (`sessions expire`). */
  | { kind: 'recheck-stream'; stream: string; reason: string }
  /** One viewer session must stop (its token was revoked, or streamctl evicted it). */
  | { kind: 'stop-session'; user: string; stream: string; sessionId: string; reason: string };

/** The effects that name a channel (and so its `open` tag). */
type ChannelEffect = Extract<LiveEffect, { kind: 'stop-publisher' | 'recheck-viewers' }>;
const isChannelEffect = (e: LiveEffect): e is ChannelEffect => e.kind === 'stop-publisher' || e.kind === 'recheck-viewers';

/** Where effects are applied from (a CLI command, the Node entry): the database and a line sink. */
export interface EffectsContext {
  db(): Db;
  err(line: string): void;
}

/** Live effects must not hold up an admin command for long. */
const LIVE_EFFECT_TIMEOUT_MS = 3000;

/**
 * The API request for one effect. Only the plain-string forms: nuke_stream drops the push (and its
 * viewers); invalidate_sessions re-runs USER_NEW for every session of the stream. Never
 * stop_sessions with an array or object: those forms lose the stream name and can stop sessions
 * on every stream.
 */
export function liveEffectRequest(effect: LiveEffect, base: string): Record<string, string> {
  // stop_sessid stops the processes of that one session (MistServer's killConnections).
  if (effect.kind === 'stop-session') return { stop_sessid: effect.sessionId };
  if (effect.kind === 'recheck-stream') return { invalidate_sessions: effect.stream };
  const stream = `${base}+${effect.user}`;
  return effect.kind === 'stop-publisher' ? { nuke_stream: stream } : { invalidate_sessions: stream };
}

/** Asks MistServer to re-check every channel that has viewers (a token key or secret stopped working). */
export async function recheckEveryChannel(ctx: EffectsContext, db: Db, reason: string): Promise<void> {
  const effects = channelsWithOpenSessions(db)
    .map((id) => findUserById(db, id)?.name)
    .filter((n): n is string => n !== undefined)
    .map((user) => ({ kind: 'recheck-viewers' as const, user, reason }));
  await applyLiveEffects(ctx, effects);
}

function describe(effect: LiveEffect, base: string): string {
  if (effect.kind === 'recheck-stream') return `re-check the viewers of ${effect.stream.slice(0, 80)} (${effect.reason})`;
  if (effect.kind === 'stop-session')
    return `stop session ${effect.sessionId.slice(0, 12)} on ${effect.stream.slice(0, 80)} (${effect.reason})`;
  const stream = `${base}+${effect.user}`;
  const what = effect.kind === 'stop-publisher' ? `stop the publisher of ${stream}` : `re-check the viewers of ${stream}`;
  return `${what} (${effect.reason})`;
}

/** The effects, each once (a command may name the same one twice, e.g. a sync). */
function distinct(effects: LiveEffect[]): LiveEffect[] {
  const seen = new Set<string>();
  return effects.filter((e) => {
    const key = `${e.kind} ${'user' in e ? e.user : ''} ${'stream' in e ? e.stream : ''} ${'sessionId' in e ? e.sessionId : ''} ${e.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Applies the effects if MistServer is reachable; never fails the command that caused them.
 * Prints at most one line: what MistServer was asked to do, or what was not applied and why;
 * nothing when no MistServer is configured for this database (mistConfigured). Resolves to true
 * when MistServer's HTTP API confirmed every effect (nothing to do counts as done).
 */
export async function applyLiveEffects(ctx: EffectsContext, effects: LiveEffect[]): Promise<boolean> {
  effects = distinct(effects);
  if (effects.length === 0) return true;
  let base = 'streams';
  const say = (line: string) => ctx.err(`streamctl: ${line}\n`);
  const notApplied = (cause: string) => say(`not applied to live sessions: ${effects.map((e) => describe(e, base)).join('; ')}; ${cause}`);
  try {
    const db = ctx.db();
    base = getSetting(db, 'stream-base');
    const url = getSetting(db, 'mist-api');
    // A session to stop proves a MistServer ran its USER_NEW here, configured or not.
    if (url === '' && !mistConfigured(db) && !effects.some((e) => e.kind === 'stop-session')) return false;
    const tags = tagRequests(db, base, effects.filter(isChannelEffect));
    const untags = tags.filter((t) => !t.open);
    if (url === '') {
      // No API to re-check sessions with; the tag and session stops still go over the local UDP API.
      const stops = effects.filter((e) => e.kind === 'stop-session');
      const sent = await sendAllUdp([...tags, ...stops.map((e) => ({ request: liveEffectRequest(e, base) }))]);
      notApplied(
        `mist-api is not set (streamctl config set mist-api <url>)${stops.length ? `; ${stops.length} session stop(s) sent over MistServer's local UDP API (unconfirmed)` : ''}${untagNote(untags, sent)}`,
      );
      return false;
    }
    const creds = mistApiCredentials();
    const api = { url, username: creds.username, password: creds.password, timeoutMs: LIVE_EFFECT_TIMEOUT_MS };
    const credsNote = creds.problem ? ` (${creds.problem})` : '';
    for (const [i, t] of tags.entries()) {
      try {
        await mistCall(api, t.request);
      } catch (err) {
        // The HTTP API failed: the local UDP API may still reach MistServer (same host as the triggers).
        // Unreachable once is unreachable for the rest: do not wait on it again.
        const sent = await sendAllUdp(tags.slice(i));
        notApplied(`${oneLine(err)}${credsNote}${untagNote(untags, sent)}`);
        return false;
      }
    }
    // The re-check waits for an untag to settle (only when something was untagged and viewers are re-checked).
    if (untags.length > 0 && effects.some((e) => e.kind === 'recheck-viewers')) await untagSettled();
    const done: string[] = [];
    for (const e of effects) {
      try {
        await mistCall(api, liveEffectRequest(e, base));
        done.push(effectDone(e, base));
      } catch (err) {
        // Unreachable once is unreachable for the rest: report them without waiting again.
        const rest = effects.slice(effects.indexOf(e));
        const prefix = done.length ? `MistServer: ${done.join('; ')}; ` : '';
        say(`${prefix}not applied to live sessions: ${rest.map((r) => describe(r, base)).join('; ')}; ${oneLine(err)}${credsNote}`);
        return false;
      }
    }
    say(`MistServer: ${[...untags.map((t) => t.what), ...done].join('; ')}`);
    return true;
  } catch (err) {
    notApplied(oneLine(err));
    return false;
  }
}

/** Sends each tag request over the local UDP API; true when every datagram left. */
async function sendAllUdp(tags: { request: Record<string, unknown> }[]): Promise<boolean> {
  let all = true;
  for (const t of tags) if (!(await sendUdpApi(t.request, LIVE_EFFECT_TIMEOUT_MS))) all = false;
  return all;
}

/** What became of the untags that went over UDP (the ones that matter: a channel no longer open). */
function untagNote(untags: { what: string }[], sent: boolean): string {
  if (untags.length === 0) return '';
  return sent
    ? `; ${untags.map((t) => t.what).join(', ')} over MistServer's local UDP API instead (unconfirmed)`
    : "; could not send the untag over MistServer's local UDP API either";
}

/**
 * Whether a MistServer is configured for this database: mist-api is set, or its STREAM_BUFFER has
 * run here (a buffer event, or a broadcast in the event log, which outlives a removed user's rows).
 */
export function mistConfigured(db: Db): boolean {
  return getSetting(db, 'mist-api') !== '' || hasSeenStreamBuffer(db);
}

function effectDone(effect: LiveEffect, base: string): string {
  if (effect.kind === 'recheck-stream') return `re-checking the viewers of ${effect.stream.slice(0, 80)} (${effect.reason})`;
  if (effect.kind === 'stop-session')
    return `stopped session ${effect.sessionId.slice(0, 12)} on ${effect.stream.slice(0, 80)} (${effect.reason})`;
  const stream = `${base}+${effect.user}`;
  return effect.kind === 'stop-publisher'
    ? `stopped the publisher of ${stream} (${effect.reason})`
    : `re-checking the viewers of ${stream} (${effect.reason})`;
}

/** The tag request for every channel the effects name, by its openness now (a removed user: untagged). */
function tagRequests(db: Db, base: string, effects: ChannelEffect[]): { request: Record<string, unknown>; what: string; open: boolean }[] {
  const now = Date.now();
  return [...new Set(effects.map((e) => e.user))].map((name) => {
    const t = channelTag(db, base, name, now);
    return {
      open: t.open,
      request: t.request,
      what: t.open ? `tagged ${t.stream} open (no viewer check needed)` : `untagged ${t.stream} (${t.why}: every viewer is checked)`,
    };
  });
}

/** A channel's live stream and the `open` tag it must carry now, by the openness rule. */
export interface ChannelTag extends Openness {
  stream: string;
  request: Record<string, unknown>;
}

/** The tag a channel's live stream must carry now (a removed user: untagged), on the one box and every edge alike. */
export function channelTag(db: Db, base: string, userName: string, now: number): ChannelTag {
  const stream = `${base}+${userName}`;
  const user = findUserByName(db, userName);
  const o: Openness = user ? channelOpenness(db, user.id, now) : { open: false, why: 'user removed', closedBy: 'user' };
  return { ...o, stream, request: tagRequest(stream, o.open) };
}

/**
 * Waits until MistServer applies an untag. Measured on MistServer 3.10: invalidate_sessions sent
 * right after untag_stream still finds the stream tagged and re-admits its viewers without USER_NEW.
 */
export function untagSettled(): Promise<void> {
  return new Promise((r) => setTimeout(r, untagSettle.ms));
}

/**
 * A live channel whose recording was switched: its `norecord` tag follows. Off: tagged,
 * so MistServer stops retrying the recording push (it is inhibited for tagged streams); on: untagged,
 * so its next retry (within ~3 s) runs PUSH_OUT_START, which now answers a file. Offline channels get
 * their tag at their next STREAM_BUFFER FULL. Over the API when mist-api is set, else the local UDP
 * API; never fails the command.
 */
export async function applyRecordTag(ctx: EffectsContext, userName: string, record: boolean): Promise<void> {
  try {
    const db = ctx.db();
    if (!liveChannels(db).some((c) => c.userName === userName)) return;
    const stream = `${getSetting(db, 'stream-base')}+${userName}`;
    const request = recordTagRequest(stream, record);
    const what = record
      ? `untagged ${stream} ${NO_RECORD_TAG} (its recording push may start)`
      : `tagged ${stream} ${NO_RECORD_TAG} (no more recording retries)`;
    const url = getSetting(db, 'mist-api');
    if (url !== '') {
      const creds = mistApiCredentials();
      try {
        await mistCall({ url, username: creds.username, password: creds.password, timeoutMs: LIVE_EFFECT_TIMEOUT_MS }, request);
        ctx.err(`streamctl: MistServer: ${what}\n`);
        return;
      } catch (err) {
        ctx.err(`streamctl: MistServer API: ${oneLine(err)}; trying the local UDP API\n`);
      }
    }
    const sent = await sendUdpApi(request, LIVE_EFFECT_TIMEOUT_MS);
    ctx.err(`streamctl: MistServer: ${sent ? 'sent' : 'could not send'} ${what} over its local UDP API (unconfirmed)\n`);
  } catch (err) {
    ctx.err(`streamctl: the recording tag was not sent: ${oneLine(err)}\n`);
  }
}
