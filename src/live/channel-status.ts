// One channel's live state in the stable JSON shape of `streamctl status --json` (schemas/ describes
// it): its buffer state, the broadcast it is in, viewers and the last health report. Domain code
// read from SQLite, so the CLI and any other caller get the same answer.
import { isoTime } from '../lib/time';
import { broadcastHistory, latestBroadcast } from '../store/broadcasts';
import { latestBufferEvent, latestHealth, stateAfter } from '../store/buffer-events';
import type { Db } from '../store/open';
import { durationMs, getSetting } from '../store/settings';
import { getChannel } from '../store/channels';
import { tokenSessionCounts } from '../store/viewer-sessions';
import { viewerSessionsLimit } from '../access/decide';
import type { StreamHealth, TrackHealth } from './stream-health';

function trackJson(t: TrackHealth) {
  return {
    name: t.name,
    type: t.type,
    codec: t.codec,
    width: t.width,
    height: t.height,
    fps: t.fps,
    sample_rate: t.sampleRate,
    channels: t.channels,
    kbits: t.kbits,
    buffer_ms: t.bufferMs,
    jitter_ms: t.jitterMs,
  };
}

/** One track in a status (snake_case, as --json prints it). */
export type TrackStatus = ReturnType<typeof trackJson>;

function readHealth(text: string): StreamHealth | null {
  try {
    return JSON.parse(text) as StreamHealth;
  } catch {
    return null;
  }
}

/** One channel's full live state, in the stable JSON shape. */
export function channelStatus(db: Db, userId: number, userName: string, now: number) {
  const last = latestBufferEvent(db, userId);
  const state = stateAfter(last?.state);
  const b = latestBroadcast(db, userId);
  const live = state !== 'offline' && b !== undefined && b.endedAt === null;
  const healthRow = latestHealth(db, userId);
  const health = healthRow ? readHealth(healthRow.health) : null;
  const stream = `${getSetting(db, 'stream-base')}+${userName}`;
  const current = live ? broadcastHistory(db, userId, stream, 1, now)[0] : undefined;
  const policy = getChannel(db, userId);
  const tokens = tokenSessionCounts(db, userId, now, now - durationMs('viewer-session-stale', getSetting(db, 'viewer-session-stale')));
  return {
    user: userName,
    state,
    since: isoTime(live ? b!.startedAt : (b?.endedAt ?? null)),
    broadcast_id: live ? b!.id : null,
    issues: state === 'unstable' ? (last?.issues ?? null) : null,
    viewers: current?.currentViewers ?? 0,
    peak_viewers: current?.peakViewers ?? 0,
    sessions: {
      viewer_sessions: policy ? viewerSessionsLimit(policy.viewerSessions, getSetting(db, 'viewer-sessions')) : null,
      on_excess: policy?.onExcess ?? 'refuse',
      with_token: tokens.withToken,
      token_expired: tokens.expired,
      stopped: tokens.stopped,
    },
    last_event: last ? { at: isoTime(last.at), state: last.state } : null,
    health:
      health && healthRow
        ? {
            at: isoTime(healthRow.at),
            buffer_ms: health.bufferMs,
            jitter_ms: health.jitterMs,
            tracks: (health.tracks ?? []).map(trackJson),
          }
        : null,
  };
}

/** One channel's live state (the fast path is added by the CLI, which asks MistServer). */
export type ChannelState = ReturnType<typeof channelStatus>;
