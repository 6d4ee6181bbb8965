// Keeps a live stream's tags in step with its channel from the trigger programs: `open` when the
// channel is open, cleared otherwise (a tag left from an earlier open spell is cleared, not trusted),
// and `norecord` when it does not record (the recording auto-push is inhibited for it, so MistServer
// stops retrying a push whose PUSH_OUT_START answers no target). Sent when the stream
// goes live or recovers (STREAM_BUFFER FULL/RECOVER, asynchronous: MistServer neither waits for nor
// kills it), never from PUSH_REWRITE: measured, the UDP socket's first send costs a Node process
// ~25 % of its start-up (`npm run bench`), on the push's answer path. MistServer drops tags ~18 s
// after a stream has no sessions, so every broadcast tags anew.
import { channelOpenness } from '../access/open-channel';
import { channelTagsRequest, sendUdpApi } from '../mist/stream-tags';
import { getChannel } from '../store/channels';
import type { Db } from '../store/open';

/** Sets or clears the stream's tags by the channel; resolves to what was sent (never throws). */
export async function syncOpenTag(
  db: Db,
  userId: number,
  stream: string,
  now: number,
  timeoutMs: number,
): Promise<{ open: boolean; record: boolean; sent: boolean }> {
  const open = channelOpenness(db, userId, now).open;
  // No policy row (a damaged database): PUSH_OUT_START refuses it too; no retries for it either.
  const record = getChannel(db, userId)?.record ?? false;
  const sent = await sendUdpApi(channelTagsRequest(stream, { open, record }), timeoutMs);
  return { open, record, sent };
}
