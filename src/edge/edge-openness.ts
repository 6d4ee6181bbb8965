// Whether a live stream's channel is open, read from the edge's replica: the facts the origin's
// rule looks at (decideOpenness, access/openness.ts), read in one pipelined read. Open streams are tagged `open` on the edge, so MistServer
// admits their viewers without running USER_NEW (the zero-spawn path).
import { decideOpenness } from '../access/openness';
import { liveChannelOf, parseStreamName } from '../live/stream-name';
import type { RedisClient } from '../lib/resp';
import { keys } from '../replica/schema';
import { readBans, readChannel, readSettings } from './replicated';

/** The channel behind a live stream and its openness; channel null when the stream is not a channel's live stream. */
export interface EdgeOpenness {
  channel: string | null;
  open: boolean;
  why: string;
}

/** Reads the stream's channel from the replica in one pipelined read (throws on any Redis error). */
export async function edgeOpenness(replica: RedisClient, stream: string, now: number): Promise<EdgeOpenness> {
  const name = parseStreamName(stream);
  const candidate = name?.channel ?? null;
  if (candidate === null) return { channel: null, open: false, why: 'not a channel stream' };
  const [settingsReply, channelReply, globalReply, bansReply] = await replica.pipeline([
    ['GET', keys.settings],
    ['GET', keys.channel(candidate)],
    ['HGETALL', keys.globalBans],
    ['HGETALL', keys.channelBans(candidate)],
  ]);
  const settings = readSettings(keys.settings, settingsReply);
  if (liveChannelOf(name, settings['stream-base']) === null) return { channel: null, open: false, why: 'not a channel stream' };
  const channel = readChannel(keys.channel(candidate), channelReply);
  if (!channel) return { channel: null, open: false, why: 'no such user' };
  const bans = [...readBans(keys.globalBans, globalReply, true), ...readBans(keys.channelBans(candidate), bansReply, false)];
  const { open, why } = decideOpenness(
    { user: channel, policy: channel.access === null ? undefined : { access: channel.access, viewerCap: channel.viewerCap }, bans },
    now,
  );
  return { channel: candidate, open, why };
}
