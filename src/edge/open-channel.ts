// Whether a live stream's channel is open, read from the edge's replica: the same test as the
// origin's (access/open-channel.ts): public AND no viewer cap AND no ban in force (channel or
// global, of any kind) AND not disabled. Open streams are tagged `open` on the edge, so MistServer
// admits their viewers without running USER_NEW (the zero-spawn path).
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
  if (channel.disabled) return { channel: candidate, open: false, why: 'user is disabled' };
  if (channel.access === null) return { channel: candidate, open: false, why: 'no channel policy row' };
  if (channel.access !== 'public') return { channel: candidate, open: false, why: `access is ${channel.access}` };
  if (channel.viewerCap !== null) return { channel: candidate, open: false, why: `viewer cap of ${channel.viewerCap}` };
  const bans = [...readBans(keys.globalBans, globalReply, true), ...readBans(keys.channelBans(candidate), bansReply, false)].filter((b) => b.until === null || b.until > now);
  if (bans.length > 0) return { channel: candidate, open: false, why: `${bans.length} ban(s) in force${bans.some((b) => b.global) ? ' (global included)' : ''}` };
  return { channel: candidate, open: true, why: '' };
}
