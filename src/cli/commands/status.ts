// `streamctl status`: which channels are live, how healthy, and `--reconcile` against MistServer.
import { Command } from 'commander';
import { formatDuration } from '../../lib/duration';
import { EXIT, UserError } from '../../lib/errors';
import { activeStreamNames } from '../../mist/active-streams';
import { mistCall, MistApiError } from '../../mist/api';
import { mistConnection } from '../../mist/connection';
import { DEFAULT_MIST_API } from '../../wiring/desired';
import { OPEN_TAG } from '../../mist/stream-tags';
import { channelOpenness } from '../../access/open-channel';
import { liveChannels } from '../../store/broadcasts';
import type { Db } from '../../store/open';
import { getSetting } from '../../store/settings';
import { findUserByName } from '../../store/users';
import { channelStatus, type ChannelState, type TrackStatus } from '../../live/channel-status';
import { closeVanishedBroadcasts } from '../../live/reconcile';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';
import { requireUser } from '../resolve';

/** "H264 640x360 25fps 369kbit/s" and the like. */
function trackLine(t: TrackStatus): string {
  const parts = [t.codec ?? t.name];
  if (t.width !== null && t.height !== null) parts.push(`${t.width}x${t.height}`);
  if (t.fps !== null) parts.push(`${t.fps}fps`);
  if (t.sample_rate !== null) parts.push(`${t.sample_rate / 1000}kHz`);
  if (t.channels !== null) parts.push(`${t.channels}ch`);
  if (t.kbits !== null) parts.push(`${t.kbits}kbit/s`);
  return parts.join(' ');
}

/** fast_path: null for an offline channel; set by addFastPath for a live one. */
type ChannelStatus = ChannelState & { fast_path: FastPath | null };

/** Whether MistServer admits the channel's viewers without USER_NEW (live channels only). */
interface FastPath {
  /** The channel is open (public, no cap, no ban, user enabled). */
  open: boolean;
  why_not: string | null;
  /** MistServer's stream carries the `open` tag; null when its API could not be asked. */
  tagged: boolean | null;
}

/** Reads the live streams' tags (stream_tags) from MistServer; null when its API is unreachable. */
async function readStreamTags(db: Db, streams: string[]): Promise<Map<string, string[]> | null> {
  try {
    const url = getSetting(db, 'mist-api') || DEFAULT_MIST_API;
    const answer = await mistCall({ url, timeoutMs: 1500 }, { stream_tags: streams });
    const tags = (answer.stream_tags ?? {}) as Record<string, unknown>;
    return new Map(streams.map((s) => [s, Array.isArray(tags[s]) ? (tags[s] as unknown[]).map(String) : []]));
  } catch {
    return null;
  }
}

/** Adds the fast-path state to every live channel (one API request for all). */
async function addFastPath(db: Db, all: ChannelStatus[], now: number): Promise<void> {
  const live = all.filter((s) => s.state !== 'offline');
  if (live.length === 0) return;
  const base = getSetting(db, 'stream-base');
  const tags = await readStreamTags(
    db,
    live.map((s) => `${base}+${s.user}`),
  );
  for (const s of live) {
    const user = findUserByName(db, s.user);
    const o = user ? channelOpenness(db, user.id, now) : { open: false, why: 'no such user' };
    const t = tags?.get(`${base}+${s.user}`);
    s.fast_path = { open: o.open, why_not: o.open ? null : o.why, tagged: t ? t.includes(OPEN_TAG) : null };
  }
}

/** The fast path in words: "yes", "no (why)", "pending", "unknown", or a warning. */
function fastPathText(f: FastPath | null): string {
  if (!f) return '-';
  if (f.tagged === null) return f.open ? 'unknown (MistServer API unreachable)' : `no (${f.why_not})`;
  if (f.open) return f.tagged ? 'yes (no USER_NEW)' : 'not yet (open, not tagged: checked by USER_NEW)';
  return f.tagged ? `TAGGED BUT NOT OPEN (${f.why_not}): run any change on the channel or restart the push` : `no (${f.why_not})`;
}

function describeStatus(s: ChannelStatus, now: number): string {
  const lines = [`channel:  ${s.user}`, `state:    ${s.state}${s.issues ? ` (${s.issues})` : ''}`];
  if (s.since) {
    const since = Date.parse(s.since);
    lines.push(
      `${s.state === 'offline' ? 'offline since' : 'live since'}: ${shortTime(since)} (${formatDuration(Math.max(0, now - since))})`,
    );
  }
  if (s.state !== 'offline') lines.push(`viewers:  ${s.viewers} now, ${s.peak_viewers} at most`);
  if (s.fast_path) lines.push(`fast path: ${fastPathText(s.fast_path)}`);
  const t = s.sessions;
  lines.push(
    `sessions: ${t.viewer_sessions === null ? 'any number per viewer' : `at most ${t.viewer_sessions} per viewer (then ${t.on_excess})`}; ${t.with_token} open with a token, ${t.token_expired} with an expired one, ${t.stopped} stopped by streamctl`,
  );
  if (s.health) {
    lines.push(
      `health:   at ${shortTime(Date.parse(s.health.at!))}, buffer ${s.health.buffer_ms ?? '?'} ms, jitter ${s.health.jitter_ms ?? '?'} ms`,
    );
    for (const t of mediaTracks(s)) lines.push(`  ${trackLine(t)}, buffer ${t.buffer_ms ?? '?'} ms, jitter ${t.jitter_ms ?? '?'} ms`);
  }
  return lines.join('\n') + '\n';
}

async function reconcile(ctx: CliContext, api: string | undefined, json: boolean): Promise<void> {
  const askedAt = ctx.now();
  // The same MistServer and login as mist apply and doctor: the scheduled job passes no --api.
  const conn = mistConnection(ctx.db(), { api }, (line) => ctx.err(`streamctl: ${line}\n`));
  let answer: Record<string, unknown>;
  try {
    answer = await mistCall(conn, { active_streams: true });
  } catch (err) {
    if (err instanceof MistApiError) throw new UserError(`cannot reconcile: ${err.message}`, EXIT.mistUnavailable);
    throw err;
  }
  const names = activeStreamNames(answer);
  const closed = closeVanishedBroadcasts(
    ctx.db(),
    names,
    askedAt,
    () => ctx.now(),
    (line) => ctx.err(`streamctl: ${line}\n`),
  ).map((c) => ({
    user: c.userName,
    broadcast_id: c.broadcastId,
    ended_at: isoTime(c.endedAt),
  }));
  if (json) return ctx.json({ active_streams: names.length, closed });
  if (closed.length === 0)
    return ctx.out(`nothing to close: every live channel is active in MistServer (${names.length} active stream(s))\n`);
  for (const c of closed) ctx.out(`closed broadcast ${c.broadcast_id} of ${c.user}: MistServer no longer has the stream\n`);
}

export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description("live channels (since when, healthy or unstable and why, tracks, viewers), or one channel's full state")
    .argument('[user]', 'one channel, live or not')
    .option('--json', 'print JSON')
    .option('--reconcile', 'close broadcasts MistServer no longer has (a crash loses EMPTY); safe from cron')
    .option('--api <url>', `MistServer's API for --reconcile (default: the mist-api setting, else ${DEFAULT_MIST_API})`)
    .action(async (name: string | undefined, opts: { json?: boolean; reconcile?: boolean; api?: string }) => {
      if (opts.reconcile) {
        if (name !== undefined) throw new UserError('--reconcile checks every channel: give no user');
        return reconcile(ctx, opts.api, opts.json === true);
      }
      const db = ctx.db();
      const now = ctx.now();
      if (name !== undefined) {
        const user = requireUser(db, name);
        const s: ChannelStatus = { ...channelStatus(db, user.id, user.name, now), fast_path: null };
        await addFastPath(db, [s], now);
        return opts.json ? ctx.json(s) : ctx.out(describeStatus(s, now));
      }
      const all: ChannelStatus[] = liveChannels(db).map((c) => ({ ...channelStatus(db, c.userId, c.userName, now), fast_path: null }));
      await addFastPath(db, all, now);
      if (opts.json) return ctx.json(all);
      if (all.length === 0) return ctx.out('no channel is live\n');
      ctx.out(
        table(
          ['CHANNEL', 'STATE', 'SINCE', 'VIEWERS', 'FAST PATH', 'TRACKS', 'ISSUES'],
          all.map((s) => [
            s.user,
            s.state,
            s.since ? `${shortTime(Date.parse(s.since))} (${formatDuration(Math.max(0, now - Date.parse(s.since)))})` : '-',
            String(s.viewers),
            fastPathText(s.fast_path).split(' (')[0]!,
            mediaTracks(s).map(trackLine).join(', ') || '-',
            s.issues ?? '-',
          ]),
        ),
      );
    });
}

/** The channel's audio and video tracks (MistServer's JSON metadata track left out). */
function mediaTracks(s: ChannelStatus): TrackStatus[] {
  return (s.health?.tracks ?? []).filter((t) => t.type !== 'meta');
}
