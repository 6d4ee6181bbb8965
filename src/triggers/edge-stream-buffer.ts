// STREAM_BUFFER on an edge (asynchronous; registry EDGE_TRIGGERS): when the edge's copy of a live
// stream is FULL (or RECOVERs), tag it `open` if the replicated channel is open, untag it otherwise,
// over the edge's local UDP API, exactly as the one-box does (live/fast-path.ts). Open channels'
// viewers then skip USER_NEW on this edge. Broadcast state is the origin's business: nothing else
// happens here. Answer: none.
import { edgeOpenness } from '../edge/edge-openness';
import { sendUdpApi, tagRequest } from '../mist/stream-tags';
import { SILENT } from './answer';
import { parseStreamBuffer, type StreamBufferEvent } from './stream-buffer-payload';
import type { EdgeTrigger } from './types';
import { shownStream } from './log-text';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'STREAM_BUFFER';

/** Asynchronous: MistServer does not wait, so the datagram may take its time. */
const TAG_TIMEOUT_MS = 500;

/** Tags or untags; when the replica cannot say, untags (fails closed: USER_NEW checks every viewer). */
async function syncEdgeTag(event: StreamBufferEvent, ctx: Parameters<(typeof edgeStreamBuffer)['decide']>[1]): Promise<void> {
  let open = false;
  let why: string;
  let channel: string | null = null;
  try {
    const replica = await ctx.redis.replica();
    const o = await edgeOpenness(replica, event.stream, ctx.now);
    if (o.channel === null) {
      ctx.debug(`ignoring ${event.state} for ${shownStream(event.stream)}: ${o.why}`);
      return;
    }
    ({ open, why, channel } = o);
  } catch (err) {
    why = `the replica could not say whether the channel is open (${err instanceof Error ? err.message : String(err)})`;
    ctx.log(`untagging ${shownStream(event.stream)}: ${why}`);
  }
  const sent = await sendUdpApi(tagRequest(event.stream, open), TAG_TIMEOUT_MS);
  if (!sent) ctx.log(`could not send the open tag state of ${channel ?? shownStream(event.stream)} to MistServer's UDP API`);
  else ctx.debug(`${channel ?? event.stream}: ${open ? 'tagged open' : `untagged (${why})`}`);
}

const edgeStreamBuffer: EdgeTrigger<StreamBufferEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseStreamBuffer,
  decide(event, ctx) {
    if (event.state === 'FULL' || event.state === 'RECOVER') ctx.background?.(syncEdgeTag(event, ctx));
    return SILENT;
  },
};

export default edgeStreamBuffer;
