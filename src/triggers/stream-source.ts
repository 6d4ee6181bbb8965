// STREAM_SOURCE (blocking, before MistServer starts the input of any stream):
//   line 1: stream name (the only line)
// Answer: the source to use instead of the configured one; empty keeps the configured source.
// For `<vod-base>+<recording id>` the answer is the recording's file, if it is catalogued, not
// being deleted, under the recordings root and present; otherwise empty, and MistServer uses the
// VoD stream's configured source, which must therefore be a harmless placeholder clip.
import { wildcardPart } from '../lib/names';
import { parseRecordingId } from '../recordings/recording-id';
import { isPlayableFile, isUnderRoot } from '../recordings/recording-path';
import { findServableRecording } from '../store/recordings';
import { getSettings } from '../store/settings';
import { expectLines } from './payload';
import type { Trigger } from './types';

export interface StreamSourceEvent {
  stream: string;
}

const streamSource: Trigger<StreamSourceEvent> = {
  name: 'STREAM_SOURCE',
  parse(payload) {
    const [stream] = expectLines('STREAM_SOURCE', payload, 1) as [string];
    return { stream };
  },
  decide({ stream }, ctx) {
    if (!stream.includes('+')) return '';
    const settings = getSettings(ctx.db, ['vod-base', 'recordings-root']);
    const wildcard = wildcardPart(stream, settings['vod-base']);
    const id = wildcard === null ? null : parseRecordingId(wildcard);
    if (id === null) return '';
    const recording = findServableRecording(ctx.db, id);
    if (!recording) {
      ctx.debug(`no recording ${id}; keeping the placeholder source`);
      return '';
    }
    if (!isUnderRoot(settings['recordings-root'], recording.path)) {
      ctx.log(`recording ${id} is outside recordings-root; not serving it`);
      return '';
    }
    if (!isPlayableFile(settings['recordings-root'], recording.path)) {
      ctx.log(`recording ${id} is catalogued but its file is missing (see 'streamctl recordings scan')`);
      return '';
    }
    return recording.path;
  },
};

export default streamSource;
