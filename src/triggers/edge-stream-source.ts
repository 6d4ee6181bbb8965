// STREAM_SOURCE on an edge (blocking; registry EDGE_TRIGGERS): the payload and answer of
// stream-source.ts. For `<vod-base>+<recording id>` the answer is the recording's file on the
// shared storage this edge mounts (src/edge/vod-source.ts), read from the replica; otherwise, and on
// any error, empty: MistServer then uses the VoD stream's configured source, the placeholder clip
// (`mist apply --role edge` sets it), never something else.
import { edgeRecordingsRoot } from '../config';
import { edgeVodSource } from '../edge/vod-source';
import { parseStreamName } from '../live/stream-name';
import { oneLine } from '../lib/errors';
import { UNCHANGED, value } from './answer';
import { expectLines } from './payload';
import type { EdgeTrigger } from './types';
import { shownStream } from './log-text';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'STREAM_SOURCE';

export interface StreamSourceEvent {
  stream: string;
}

const edgeStreamSource: EdgeTrigger<StreamSourceEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [stream] = expectLines(TRIGGER, payload, 1) as [string];
    return { stream };
  },
  async decide({ stream }, ctx) {
    // Live streams keep their pull source without a replica read.
    if (parseStreamName(stream) === null) return UNCHANGED;
    try {
      const found = await edgeVodSource(() => ctx.redis.replica(), stream, edgeRecordingsRoot());
      if ('path' in found) return value(found.path);
      if (found.quiet) ctx.debug(`${shownStream(stream)}: ${found.why}; keeping the configured source`);
      else ctx.log(`${shownStream(stream)}: ${found.why}; playing the placeholder`);
    } catch (err) {
      ctx.log(`${shownStream(stream)}: ${oneLine(err)}; playing the placeholder`);
    }
    return UNCHANGED;
  },
};

export default edgeStreamSource;
