// Keeps a live stream's `open` tag in step with its channel from the trigger programs: tagged when
// the channel is open, untagged otherwise (a tag left from an earlier open spell is cleared, not
// trusted). Sent when the stream goes live or recovers (STREAM_BUFFER FULL/RECOVER, asynchronous:
// MistServer neither waits for nor kills it), never from PUSH_REWRITE: measured, the UDP socket's
// first send costs a Node process ~25 % of its start-up (`npm run bench`), on the push's answer
// path. MistServer drops tags ~18 s after a stream has no sessions, so every broadcast tags anew.
import { channelOpenness } from '../access/open-channel';
import { sendUdpApi, tagRequest } from '../mist/stream-tags';
import type { Db } from '../store/open';

/** Sets or clears the stream's tag by the channel's openness; resolves to the openness sent (never throws). */
export async function syncOpenTag(db: Db, userId: number, stream: string, now: number, timeoutMs: number): Promise<{ open: boolean; sent: boolean }> {
  const open = channelOpenness(db, userId, now).open;
  const sent = await sendUdpApi(tagRequest(stream, open), timeoutMs);
  return { open, sent };
}
