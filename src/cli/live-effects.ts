// Admin changes that MistServer must apply to sessions already running (it caches admission per
// session): stop a publisher whose key or account stopped working, re-check a channel's viewers.
// Sent through MistServer's API when the `mist-api` setting names it; otherwise, or when it cannot
// be reached, the command still succeeds and says what was not applied.
// Every channel an effect names first gets its `open` tag set by its state now (the fast path,
// docs/access-control.md): untagged BEFORE its viewers are re-checked, or invalidate_sessions
// would re-admit them without running USER_NEW. Without a configured API the tag goes over
// MistServer's local UDP API (loopback, unconfirmed), so a channel that stops being open is never
// left tagged just because mist-api was not set.
import { mistApiCredentials } from '../config';
import { oneLine } from '../lib/errors';
import { channelOpenness } from '../access/open-channel';
import { mistCall } from '../mist/api';
import { sendUdpApi, tagRequest, untagSettle } from '../mist/stream-tags';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { findUserById, findUserByName } from '../store/users';
import { channelsWithOpenSessions } from '../store/viewer-sessions';
import type { CliContext } from './context';

export type LiveEffect =
  /** The channel's current publisher must be disconnected. */
  | { kind: 'stop-publisher'; user: string; reason: string }
  /** Every viewer session of the channel must be re-admitted under the new rules. */
  | { kind: 'recheck-viewers'; user: string; reason: string }
  /** Every viewer session of one stream (live or VoD) must be re-admitted (`sessions expire`). */
  | { kind: 'recheck-stream'; stream: string; reason: string }
  /** One viewer session must stop (its token was revoked, or streamctl evicted it). */
  | { kind: 'stop-session'; user: string; stream: string; sessionId: string; reason: string };

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
export async function recheckEveryChannel(ctx: Pick<CliContext, 'db' | 'err'>, db: Db, reason: string): Promise<void> {
  const effects = channelsWithOpenSessions(db)
    .map((id) => findUserById(db, id)?.name)
    .filter((n): n is string => n !== undefined)
    .map((user) => ({ kind: 'recheck-viewers' as const, user, reason }));
  await applyLiveEffects(ctx, effects);
}

function describe(effect: LiveEffect, base: string): string {
  if (effect.kind === 'recheck-stream') return `re-check the viewers of ${effect.stream.slice(0, 80)} (${effect.reason})`;
  if (effect.kind === 'stop-session') return `stop session ${effect.sessionId.slice(0, 12)} on ${effect.stream.slice(0, 80)} (${effect.reason})`;
  const stream = `${base}+${effect.user}`;
  const what = effect.kind === 'stop-publisher' ? `stop the publisher of ${stream}` : `re-check the viewers of ${stream}`;
  return `${what} (${effect.reason})`;
}

/**
 * Applies the effects if MistServer is reachable; never fails the command that caused them.
 * Resolves to true when MistServer's HTTP API confirmed every one.
 */
export async function applyLiveEffects(ctx: Pick<CliContext, 'db' | 'err'>, effects: LiveEffect[]): Promise<boolean> {
  if (effects.length === 0) return true;
  let base = 'streams';
  try {
    const db = ctx.db();
    base = getSetting(db, 'stream-base');
    const url = getSetting(db, 'mist-api');
    const tags = tagRequests(db, base, effects.filter((e): e is Extract<LiveEffect, { user: string }> => e.kind !== 'stop-session' && e.kind !== 'recheck-stream'));
    if (url === '') {
      // A session stop needs no answer: the local UDP API carries it as well as the HTTP API.
      const stops = effects.filter((e) => e.kind === 'stop-session');
      for (const e of stops) {
        const sent = await sendUdpApi(liveEffectRequest(e, base), LIVE_EFFECT_TIMEOUT_MS);
        ctx.err(`streamctl: MistServer: ${sent ? 'sent' : 'could not send'} ${describe(e, base)} over its local UDP API (mist-api is not set, so unconfirmed)\n`);
      }
      effects = effects.filter((e) => e.kind !== 'stop-session');
      for (const t of tags) {
        const sent = await sendUdpApi(t.request, LIVE_EFFECT_TIMEOUT_MS);
        ctx.err(`streamctl: MistServer: ${sent ? 'sent' : 'could not send'} ${t.what} over its local UDP API (mist-api is not set, so unconfirmed)\n`);
      }
      // Sessions are not re-checked here (no API), but MistServer's own re-checks see the untag only after it settled.
      for (const e of effects) ctx.err(`streamctl: not applied to live sessions: ${describe(e, base)}; MistServer is not configured (streamctl config set mist-api <url>)\n`);
      return false;
    }
    const creds = mistApiCredentials();
    if (creds.problem) ctx.err(`streamctl: ${creds.problem}\n`);
    let httpDown = false;
    let untagged = false;
    for (const t of tags) {
      if (!t.open) untagged = true;
      try {
        // Unreachable once is unreachable for the rest: do not wait on it again.
        if (httpDown) throw new Error('MistServer API unreachable');
        await mistCall({ url, username: creds.username, password: creds.password, timeoutMs: LIVE_EFFECT_TIMEOUT_MS }, t.request);
        ctx.err(`streamctl: MistServer: ${t.what}\n`);
      } catch (err) {
        // The HTTP API failed: the local UDP API may still reach MistServer (same host as the triggers).
        httpDown = true;
        const sent = await sendUdpApi(t.request, LIVE_EFFECT_TIMEOUT_MS);
        ctx.err(`streamctl: MistServer API: ${oneLine(err)}; ${sent ? 'sent' : 'could not send'} ${t.what} over the local UDP API instead (unconfirmed)\n`);
      }
    }
    // Measured on MistServer 3.10: invalidate_sessions sent right after untag_stream still finds the
    // stream tagged and re-admits its viewers without USER_NEW; 300 ms later USER_NEW runs. So the
    // re-check waits for the untag to settle (only when something was untagged and viewers are re-checked).
    if (untagged && effects.some((e) => e.kind === 'recheck-viewers')) await new Promise((r) => setTimeout(r, untagSettle.ms));
    for (const [i, e] of effects.entries()) {
      try {
        await mistCall({ url, username: creds.username, password: creds.password, timeoutMs: LIVE_EFFECT_TIMEOUT_MS }, liveEffectRequest(e, base));
        ctx.err(`streamctl: MistServer: ${effectDone(e, base)}\n`);
      } catch (err) {
        // Unreachable once is unreachable for the rest: report them all without waiting again.
        for (const rest of effects.slice(i)) ctx.err(`streamctl: not applied to live sessions: ${describe(rest, base)}; ${oneLine(err)}\n`);
        return false;
      }
    }
    return true;
  } catch (err) {
    for (const e of effects) ctx.err(`streamctl: not applied to live sessions: ${describe(e, base)}; ${oneLine(err)}\n`);
    return false;
  }
}

function effectDone(effect: LiveEffect, base: string): string {
  if (effect.kind === 'recheck-stream') return `re-checking the viewers of ${effect.stream.slice(0, 80)} (${effect.reason})`;
  if (effect.kind === 'stop-session') return `stopped session ${effect.sessionId.slice(0, 12)} on ${effect.stream.slice(0, 80)} (${effect.reason})`;
  const stream = `${base}+${effect.user}`;
  return effect.kind === 'stop-publisher' ? `stopped the publisher of ${stream} (${effect.reason})` : `re-checking the viewers of ${stream} (${effect.reason})`;
}

/** The tag request for every channel the effects name, by its openness now (a removed user: untagged). */
function tagRequests(db: Db, base: string, effects: Extract<LiveEffect, { user: string }>[]): { request: Record<string, unknown>; what: string; open: boolean }[] {
  const now = Date.now();
  return [...new Set(effects.map((e) => e.user))].map((name) => {
    const stream = `${base}+${name}`;
    const user = findUserByName(db, name);
    const o = user ? channelOpenness(db, user.id, now) : { open: false, why: 'user removed' };
    return { open: o.open, request: tagRequest(stream, o.open), what: o.open ? `tagged ${stream} open (no viewer check needed)` : `untagged ${stream} (${o.why}: every viewer is checked)` };
  });
}
