// RECORDING_END (asynchronous, from the output that wrote the file), 12 lines each ending in "\n":
//   line 1: stream name
//   line 2: file path, variables replaced
//   line 3: output (connector) that wrote it, e.g. EBML
//   line 4: bytes written
//   line 5: seconds the recording ran
//   line 6: start, unix seconds
//   line 7: stop, unix seconds
//   line 8: media duration, ms
//   line 9: first packet, ms (2^64-1 when none)
//   line 10: last packet, ms
//   line 11: exit reason code (CLEAN_* when the output stopped normally)
//   line 12: exit reason text
// Catalogues the file for its channel and the broadcast live at the time. Repeats of the same
// path are ignored. Zero bytes or a non-clean exit: kept, marked failed. Files outside the
// channel's own folder under the recordings root (really: links resolved) are never catalogued, so
// never served or deleted by streamctl.
import { resolve } from 'node:path';
import { PayloadError } from '../lib/errors';
import { newRecordingId } from '../recordings/recording-id';
import { isUnderRoot, recordingFileProblem } from '../recordings/recording-path';
import { findBroadcastForRecording } from '../store/broadcasts';
import { recordEvent } from '../store/events';
import { insertRecording } from '../store/recordings';
import { getSettings } from '../store/settings';
import { enqueueWebhookEvent, recordingWebhookData } from '../store/webhooks';
import { expectLines } from './payload';
import { channelForStream } from '../live/stream-channel';
import { SILENT } from './answer';
import type { Trigger } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'RECORDING_END';

export interface RecordingEndEvent {
  stream: string;
  path: string;
  format: string;
  bytes: number;
  seconds: number;
  startedAt: number;
  stoppedAt: number;
  mediaMs: number;
  exitCode: string;
  exitReason: string;
}

function wholeNumber(field: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new PayloadError(`${TRIGGER} ${field} "${text.slice(0, 40)}" is not a whole number`);
  return Number(text);
}

const recordingEnd: Trigger<RecordingEndEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    // Every line ends in "\n", so the last element of the split is empty.
    const lines = expectLines(TRIGGER, payload, 13);
    if (lines[12] !== '') throw new PayloadError(`${TRIGGER} payload does not end in a newline`);
    const [stream, path, format, bytes, seconds, start, stop, mediaMs, , , exitCode, exitReason] = lines as string[] as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    return {
      stream,
      path,
      format,
      bytes: wholeNumber('bytes', bytes),
      seconds: wholeNumber('seconds', seconds),
      startedAt: wholeNumber('start', start) * 1000,
      stoppedAt: wholeNumber('stop', stop) * 1000,
      mediaMs: wholeNumber('media ms', mediaMs),
      exitCode,
      exitReason,
    };
  },
  decide(e, ctx) {
    const settings = getSettings(ctx.db, ['stream-base', 'recordings-root']);
    const root = settings['recordings-root'];
    if (!isUnderRoot(root, e.path)) {
      ctx.log(`not cataloguing a recording outside recordings-root (${root || 'not set'})`);
      return SILENT;
    }
    const channel = channelForStream(ctx.db, e.stream, settings['stream-base']);
    if (channel === null || channel.kind !== 'live') {
      ctx.log(`not cataloguing a recording of "${e.stream.slice(0, 80)}": not a channel stream`);
      return SILENT;
    }
    // Only the channel's own folder, really inside the root: a file planted in another channel's
    // folder, or reached through a link, would be catalogued (then served, then deleted) as this one.
    const problem = recordingFileProblem(root, e.path, { userId: channel.userId, allowMissing: true });
    if (problem !== null) {
      ctx.log(`not cataloguing a recording of ${channel.userName}: ${problem}`);
      return SILENT;
    }
    const clean = e.exitCode.startsWith('CLEAN_');
    const status = e.bytes > 0 && clean ? 'ok' : 'failed';
    const broadcast = findBroadcastForRecording(ctx.db, channel.userId, e.startedAt, e.stoppedAt);
    const { id, inserted } = ctx.db
      .transaction(() => {
        const result = insertRecording(ctx.db, {
          id: newRecordingId(),
          userId: channel.userId,
          broadcastId: broadcast?.id ?? null,
          path: resolve(e.path),
          format: e.format,
          bytes: e.bytes,
          durationMs: e.mediaMs > 0 ? e.mediaMs : e.seconds * 1000,
          startedAt: e.startedAt,
          endedAt: e.stoppedAt,
          status,
          exitCode: e.exitCode,
          exitReason: e.exitReason,
          createdAt: ctx.now,
        });
        if (result.inserted) {
          recordEvent(ctx.db, {
            at: ctx.eventTime,
            kind: 'recording',
            outcome: status,
            reason: status === 'ok' ? 'recording finished' : e.bytes === 0 ? 'recording is empty' : `recording ended: ${e.exitCode}`,
            userId: channel.userId,
            detail: result.id,
          });
          // Committed with the catalogue row: the site hears of every recording, once.
          enqueueWebhookEvent(ctx.db, {
            type: status === 'ok' ? 'recording.ready' : 'recording.failed',
            at: ctx.eventTime,
            channel: channel.userName,
            userId: channel.userId,
            now: ctx.now,
            data: recordingWebhookData({
              id: result.id,
              broadcastId: broadcast?.id ?? null,
              format: e.format,
              bytes: e.bytes,
              durationMs: e.mediaMs > 0 ? e.mediaMs : e.seconds * 1000,
              startedAt: e.startedAt,
              endedAt: e.stoppedAt,
              status,
            }),
          });
        }
        return result;
      })
      .immediate();
    ctx.debug(`${inserted ? 'catalogued' : 'already catalogued'} recording ${id} of ${channel.userName} (${status})`);
    return SILENT;
  },
};

export default recordingEnd;
