// STREAM_SOURCE (blocking, before MistServer starts the input of any stream):
//   line 1: stream name (the only line)
// Answer: the source to use instead of the configured one; empty keeps the configured source.
// For `<vod-base>+<recording id>` the answer is the recording's file, if it is catalogued, not
// being deleted, under the recordings root and present; otherwise empty, and MistServer uses the
// VoD stream's configured source, which must therefore be a harmless placeholder clip.
import { parseStreamName, recordingOf } from '../live/stream-name';
import { recordingFileProblem } from '../recordings/recording-path';
import { findServableRecording } from '../store/recordings';
import { getSettings } from '../store/settings';
import { expectLines } from './payload';
import { UNCHANGED, value } from './answer';
import type { Trigger } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'STREAM_SOURCE';

export interface StreamSourceEvent {
  stream: string;
}

const streamSource: Trigger<StreamSourceEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [stream] = expectLines(TRIGGER, payload, 1) as [string];
    return { stream };
  },
  decide({ stream }, ctx) {
    const name = parseStreamName(stream);
    if (name === null) return UNCHANGED;
    const settings = getSettings(ctx.db, ['vod-base', 'recordings-root']);
    const id = recordingOf(name, settings['vod-base']);
    if (id === null) return UNCHANGED;
    const recording = findServableRecording(ctx.db, id);
    if (!recording) {
      ctx.debug(`no recording ${id}; keeping the placeholder source`);
      return UNCHANGED;
    }
    // Links resolved: a linked folder or file inside the root must not serve a file from outside it.
    const problem = recordingFileProblem(settings['recordings-root'], recording.path);
    if (problem !== null) {
      ctx.log(`recording ${id} is not served: ${problem} (see 'streamctl recordings scan')`);
      return UNCHANGED;
    }
    return value(recording.path);
  },
};

export default streamSource;
