// DEFAULT_STREAM (blocking, when a requested stream cannot be opened, e.g. an offline channel):
//   line 1: the configured default stream (MistServer's defaultStream setting)
//   line 2: the requested stream
//   line 3: viewer host
//   line 4: output type (HLS, HTTPTS, ...)
//   line 5: request URL
// Answer: the stream to serve instead; empty serves nothing ("stream open failed"), and so does an
// answer equal to the requested stream. For an offline channel: its latest good recording
// (`<vod-base>+<id>`) when replay-offline is on, else the offline-stream setting, else line 1.
import { isPlayableFile } from '../recordings/recording-path';
import { getChannel } from '../store/channels';
import { findOpenBroadcast } from '../store/broadcasts';
import { latestGoodRecordings } from '../store/recordings';
import { getSettings } from '../store/settings';
import { expectLines } from './payload';
import { channelForStream } from '../live/stream-channel';
import { UNCHANGED, value } from './answer';
import type { Trigger, TriggerContext } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'DEFAULT_STREAM';

export interface DefaultStreamEvent {
  configuredDefault: string;
  requested: string;
}

/** Newest recordings looked at for a replay, in case the latest files were removed by hand. */
const REPLAY_CANDIDATES = 5;

/** The stream an offline channel shows, or null for MistServer's configured default. */
function offlineChoice(ctx: TriggerContext, requested: string): string | null {
  const settings = getSettings(ctx.db, ['stream-base', 'vod-base', 'offline-stream', 'recordings-root']);
  const channel = channelForStream(ctx.db, requested, settings['stream-base'], settings['vod-base']);
  if (channel === null || channel.kind !== 'live' || findOpenBroadcast(ctx.db, channel.userId)) return null;
  // A disabled channel's archive is not put in front of viewers automatically.
  if (!channel.disabled && getChannel(ctx.db, channel.userId)?.replayOffline) {
    for (const r of latestGoodRecordings(ctx.db, channel.userId, REPLAY_CANDIDATES)) {
      if (isPlayableFile(settings['recordings-root'], r.path)) return `${settings['vod-base']}+${r.id}`;
    }
    ctx.debug(`${channel.userName} is offline with replay on, but has no playable recording`);
  }
  return settings['offline-stream'] || null;
}

const defaultStream: Trigger<DefaultStreamEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [configuredDefault, requested] = expectLines(TRIGGER, payload, 5) as [string, string];
    return { configuredDefault, requested };
  },
  decide({ configuredDefault, requested }, ctx) {
    const answer = offlineChoice(ctx, requested) ?? configuredDefault;
    // Answering the requested stream would make MistServer try it again; MistServer lower-cases base names.
    if (answer.toLowerCase() === requested.toLowerCase()) return UNCHANGED;
    return answer === '' ? UNCHANGED : value(answer);
  },
};

export default defaultStream;
