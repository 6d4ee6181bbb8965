// STREAM_END (asynchronous): MistServer stopped tracking a stream (15 s or more after its EMPTY).
//   line 1: stream name
//   line 2: bytes down (received)
//   line 3: bytes up (sent)
//   line 4: total viewers
//   line 5: total inputs
//   line 6: total outputs
//   line 7: viewer seconds
// Answer: ignored by MistServer; we print nothing. The totals are kept per channel and belong to
// the broadcast that had just ended when they arrived (see broadcastHistory in store/broadcasts.ts).
import { recordStreamEnd, type StreamEndInput } from '../store/stream-ends';
import { getSetting } from '../store/settings';
import { writeWithRetry } from '../store/write-retry';
import { expectLines, payloadCount } from './payload';
import { channelForStream } from '../live/stream-channel';
import { SILENT } from './answer';
import type { Trigger } from './types';
import { shownStream } from './log-text';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'STREAM_END';

/** The stream's name and MistServer's totals, exactly the figures the store keeps. */
export type StreamEndEvent = { stream: string } & Omit<StreamEndInput, 'userId' | 'at' | 'eventId'>;

const streamEnd: Trigger<StreamEndEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [stream, down, up, viewers, inputs, outputs, seconds] = expectLines(TRIGGER, payload, 7) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const count = (field: string, text: string) => payloadCount(TRIGGER, field, text);
    return {
      stream,
      bytesDown: count('bytes down', down),
      bytesUp: count('bytes up', up),
      viewers: count('viewer count', viewers),
      inputs: count('input count', inputs),
      outputs: count('output count', outputs),
      viewerSeconds: count('viewer seconds', seconds),
    };
  },
  decide(event, ctx) {
    const { db } = ctx;
    const channel = channelForStream(db, event.stream, getSetting(db, 'stream-base'));
    if (channel?.kind !== 'live') {
      ctx.debug(`ignoring ${TRIGGER} for ${shownStream(event.stream)}: not a channel stream`);
      return SILENT;
    }
    const { stream: _stream, ...totals } = event;
    const stored = writeWithRetry(db, () =>
      recordStreamEnd(db, { userId: channel.userId, at: ctx.eventTime, eventId: ctx.eventId, ...totals }),
    );
    if (!stored) ctx.debug(`repeated ${TRIGGER} for ${channel.userName} ignored`);
    return SILENT;
  },
};

export default streamEnd;
