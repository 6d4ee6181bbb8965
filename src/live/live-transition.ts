// Shared by STREAM_BUFFER and `streamctl status --reconcile`: store a buffer event, re-derive the
// channel's broadcasts, and tell the site (hook, webhooks) when the channel went live or offline.
import { runHook } from './run-hook';
import { recordEvent } from '../store/events';
import { getHook, type HookEvent } from '../store/hooks';
import { latestBroadcast, rebuildBroadcasts } from '../store/broadcasts';
import { latestBufferEvent, recordBufferEvent, stateAfter, type BufferEventInput, type LiveState } from '../store/buffer-events';
import type { Db } from '../store/open';
import { linkWaitingRecordings } from '../store/recording-links';
import { enqueueWebhookEvent, type WebhookEventType } from '../store/webhooks';
import { writeWithRetry } from '../store/write-retry';

/** What storing a buffer event did to the channel's current state. */
export interface Transition {
  /** False when the event had been stored before (a repeated delivery). */
  stored: boolean;
  before: LiveState;
  after: LiveState;
}

/** The channel a buffer event is for, as the webhook events name it. */
export interface TransitionChannel {
  userName: string;
  stream: string;
  /** When the webhook deliveries are due (unix ms): now. */
  now: number;
}

/**
 * Stores the event and re-derives broadcasts in one IMMEDIATE transaction (retried while busy);
 * a channel going live or offline is also written to the event log (kind "broadcast"), a
 * recording catalogued before its broadcast opened is linked to it, and the webhook event of the
 * transition (if an endpoint wants it) commits with it: stored, it cannot be lost.
 */
export function applyBufferEvent(db: Db, e: BufferEventInput, channel: TransitionChannel): Transition {
  return writeWithRetry(db, () => {
    const before = stateAfter(latestBufferEvent(db, e.userId)?.state);
    if (!recordBufferEvent(db, e)) return { stored: false, before, after: before };
    rebuildBroadcasts(db, e.userId, e.at);
    if (e.state !== 'EMPTY' && e.state !== 'LOST') linkWaitingRecordings(db, e.userId, e.at);
    const t = { stored: true, before, after: stateAfter(latestBufferEvent(db, e.userId)?.state) };
    const went = hookEventFor(t);
    if (went) {
      const reason = e.state === 'LOST' ? 'MistServer no longer has the stream' : `STREAM_BUFFER ${e.state}`;
      recordEvent(db, { at: e.at, kind: 'broadcast', outcome: went, reason, userId: e.userId });
    }
    const type = webhookTypeFor(t);
    if (type) {
      const b = latestBroadcast(db, e.userId);
      enqueueWebhookEvent(db, {
        type,
        at: e.at,
        channel: channel.userName,
        userId: e.userId,
        now: channel.now,
        data: {
          stream: channel.stream,
          state: t.after,
          ...(type === 'stream.unstable' ? { issues: e.issues } : {}),
          ...(type === 'stream.offline' ? { reason: e.state === 'LOST' ? 'lost' : 'ended' } : {}),
          broadcast: b ? { id: b.id, started_at: iso(b.startedAt), ended_at: iso(b.endedAt), ended_cleanly: b.endedCleanly } : null,
        },
      });
    }
    return t;
  });
}

/** The webhook event of a transition: the hook's live and offline, and live ⇄ unstable. */
export function webhookTypeFor(t: Transition): WebhookEventType | null {
  const hook = hookEventFor(t);
  if (hook) return hook === 'live' ? 'stream.live' : 'stream.offline';
  if (t.before === 'live' && t.after === 'unstable') return 'stream.unstable';
  if (t.before === 'unstable' && t.after === 'live') return 'stream.stable';
  return null;
}

/** The hook a transition fires: live when an offline channel came up, offline when a live one ended. */
export function hookEventFor(t: Transition): HookEvent | null {
  if (t.before === 'offline' && t.after !== 'offline') return 'live';
  if (t.before !== 'offline' && t.after === 'offline') return 'offline';
  return null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Runs the configured hook for the transition, if any; problems become one log line. */
export function notifyTransition(
  db: Db,
  t: Transition,
  channel: { userId: number; userName: string; stream: string; at: number },
  log: (line: string) => void,
): void {
  const event = hookEventFor(t);
  if (!event) return;
  const program = getHook(db, event);
  if (!program) return;
  const b = latestBroadcast(db, channel.userId);
  const problem = runHook(
    program,
    {
      event,
      channel: channel.userName,
      stream: channel.stream,
      state: t.after,
      at: iso(channel.at),
      broadcast: b ? { id: b.id, started_at: iso(b.startedAt), ended_at: iso(b.endedAt), ended_cleanly: b.endedCleanly } : null,
    },
    db.name,
  );
  if (problem) log(problem);
}
