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
import { NO_RECORD_TAG, recordTagRequest, sendUdpApi, tagRequest, untagSettle } from '../mist/stream-tags';
import { liveChannels } from '../store/broadcasts';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { findUserById, findUserByName } from '../store/users';
import { channelsWithOpenSessions } from '../store/viewer-sessions';
import type { CliContext } from './context';

export type LiveEffect =
  /** The channel's current publisher must be disconnected. */
  | { kind: 'stop-publisher'; user: string; reason: string }
  /** Every viewer session of the channel must be re-admitted under the new rules. */
  | { kind: 'recheck-viewers'; user: string; reason: string };

/** Live effects must not hold up an admin command for long. */
const LIVE_EFFECT_TIMEOUT_MS = 3000;

/**
 * The API request for one effect. Only the plain-string forms: nuke_stream drops the push (and its
 * viewers); invalidate_sessions re-runs USER_NEW for every session of the stream. Never
 * stop_sessions with an array or object: those forms lose the stream name and can stop sessions
 * on every stream.
 */
export function liveEffectRequest(effect: LiveEffect, base: string): Record<string, string> {
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
  const stream = `${base}+${effect.user}`;
  const what = effect.kind === 'stop-publisher' ? `stop the publisher of ${stream}` : `re-check the viewers of ${stream}`;
  return `${what} (${effect.reason})`;
}

/** Applies the effects if MistServer is reachable; never fails the command that caused them. */
export async function applyLiveEffects(ctx: Pick<CliContext, 'db' | 'err'>, effects: LiveEffect[]): Promise<void> {
  if (effects.length === 0) return;
  let base = 'streams';
  try {
    const db = ctx.db();
    base = getSetting(db, 'stream-base');
    const url = getSetting(db, 'mist-api');
    const tags = tagRequests(db, base, effects);
    if (url === '') {
      for (const t of tags) {
        const sent = await sendUdpApi(t.request, LIVE_EFFECT_TIMEOUT_MS);
        ctx.err(`streamctl: MistServer: ${sent ? 'sent' : 'could not send'} ${t.what} over its local UDP API (mist-api is not set, so unconfirmed)\n`);
      }
      // Sessions are not re-checked here (no API), but MistServer's own re-checks see the untag only after it settled.
      for (const e of effects) ctx.err(`streamctl: not applied to live sessions: ${describe(e, base)}; MistServer is not configured (streamctl config set mist-api <url>)\n`);
      return;
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
        return;
      }
    }
  } catch (err) {
    for (const e of effects) ctx.err(`streamctl: not applied to live sessions: ${describe(e, base)}; ${oneLine(err)}\n`);
  }
}

function effectDone(effect: LiveEffect, base: string): string {
  const stream = `${base}+${effect.user}`;
  return effect.kind === 'stop-publisher' ? `stopped the publisher of ${stream} (${effect.reason})` : `re-checking the viewers of ${stream} (${effect.reason})`;
}

/** The tag request for every channel the effects name, by its openness now (a removed user: untagged). */
function tagRequests(db: Db, base: string, effects: LiveEffect[]): { request: Record<string, unknown>; what: string; open: boolean }[] {
  const now = Date.now();
  return [...new Set(effects.map((e) => e.user))].map((name) => {
    const stream = `${base}+${name}`;
    const user = findUserByName(db, name);
    const o = user ? channelOpenness(db, user.id, now) : { open: false, why: 'user removed' };
    return { open: o.open, request: tagRequest(stream, o.open), what: o.open ? `tagged ${stream} open (no viewer check needed)` : `untagged ${stream} (${o.why}: every viewer is checked)` };
  });
}

/**
 * A live channel whose recording was switched: its `norecord` tag follows (issue 24.5). Off: tagged,
 * so MistServer stops retrying the recording push (it is inhibited for tagged streams); on: untagged,
 * so its next retry (within ~3 s) runs PUSH_OUT_START, which now answers a file. Offline channels get
 * their tag at their next STREAM_BUFFER FULL. Over the API when mist-api is set, else the local UDP
 * API; never fails the command.
 */
export async function applyRecordTag(ctx: Pick<CliContext, 'db' | 'err'>, userName: string, record: boolean): Promise<void> {
  try {
    const db = ctx.db();
    if (!liveChannels(db).some((c) => c.userName === userName)) return;
    const stream = `${getSetting(db, 'stream-base')}+${userName}`;
    const request = recordTagRequest(stream, record);
    const what = record ? `untagged ${stream} ${NO_RECORD_TAG} (its recording push may start)` : `tagged ${stream} ${NO_RECORD_TAG} (no more recording retries)`;
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
