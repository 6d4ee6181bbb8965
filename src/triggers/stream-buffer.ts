// STREAM_BUFFER (asynchronous): a live stream's buffer changed state.
//   line 1: stream name
//   line 2: FULL (live), DRY (live but unstable), RECOVER (stable again) or EMPTY (offline)
//   line 3: health JSON on one line: per track codec, size, rate, kbits, buffer, jitter, and
//           "issues" when DRY (absent for EMPTY)
// Answer: ignored by MistServer; we print nothing.
import { getSetting } from '../store/settings';
import { applyBufferEvent, notifyTransition } from '../live/live-transition';
import { channelForStream } from '../live/stream-channel';
import { syncOpenTag } from '../live/fast-path';
import { parseStreamHealth } from '../live/stream-health';
import { SILENT } from './answer';
import type { Trigger } from './types';
import { parseStreamBuffer, type StreamBufferEvent } from './stream-buffer-payload';
import { shownStream } from './log-text';

export { parseStreamBuffer, type StreamBufferEvent } from './stream-buffer-payload';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'STREAM_BUFFER';

/** Asynchronous: MistServer does not wait, so the datagram may take its time. */
const STREAM_BUFFER_TAG_TIMEOUT_MS = 500;

const streamBuffer: Trigger<StreamBufferEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseStreamBuffer,
  decide(event, ctx) {
    const { db } = ctx;
    const channel = channelForStream(db, event.stream, getSetting(db, 'stream-base'));
    if (channel?.kind !== 'live') {
      ctx.debug(`ignoring ${event.state} for ${shownStream(event.stream)}: not a channel stream`);
      return SILENT;
    }
    let health: string | null = null;
    let issues: string | null = null;
    if (event.healthText !== null) {
      try {
        const parsed = parseStreamHealth(event.healthText);
        health = JSON.stringify(parsed);
        issues = parsed.issues;
      } catch {
        ctx.log(`malformed health JSON for ${channel.userName}; keeping the ${event.state} state change without health`);
      }
    }
    const t = applyBufferEvent(
      db,
      { userId: channel.userId, at: ctx.eventTime, state: event.state, issues, health, eventId: ctx.eventId },
      { userName: channel.userName, stream: event.stream, now: ctx.now },
    );
    if (!t.stored) {
      ctx.debug(`repeated ${event.state} for ${channel.userName} ignored`);
      return SILENT;
    }
    ctx.debug(`${channel.userName}: ${t.before} -> ${t.after} (${event.state})`);
    notifyTransition(db, t, { userId: channel.userId, userName: channel.userName, stream: event.stream, at: ctx.eventTime }, ctx.log);
    // Live again (FULL) or stable again (RECOVER): set the tags (open, norecord) by the channel as it
    // is now (a policy change since the push is caught here; asynchronous, so nothing waits for it).
    if (event.state === 'FULL' || event.state === 'RECOVER') {
      ctx.background?.(
        syncOpenTag(db, channel.userId, event.stream, ctx.now, STREAM_BUFFER_TAG_TIMEOUT_MS).then((r) => {
          if (!r.sent) ctx.log(`could not send the tags (open, norecord) of ${channel.userName} to MistServer's UDP API`);
        }),
      );
    }
    return SILENT;
  },
};

export default streamBuffer;
