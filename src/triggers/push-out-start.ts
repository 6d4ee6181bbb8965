// PUSH_OUT_START (blocking, runs inside MistController before any push, e.g. the auto-push that
// records `streams+`):
//   line 1: stream name
//   line 2: push target as configured, variables such as $wildcard/$datetime not yet replaced
// Answer: the target to use; empty aborts the push (MistServer retries an auto-push every few s).
// File pushes of channels are rewritten to <recordings-root>/<user id>/<UTC stamp>.<ext>, built
// from database values only: $wildcard is the unsanitised text after "+" and never reaches a path.
import {
  isFileTarget,
  isFreePath,
  isUnderRoot,
  prepareChannelFolder,
  recordingPath,
  recordingsRootProblem,
  targetExtension,
} from '../recordings/recording-path';
import { getChannel } from '../store/channels';
import { getSettings } from '../store/settings';
import { expectLines } from './payload';
import { channelForStream } from '../live/stream-channel';
import { parseStreamName } from '../live/stream-name';
import { DENY, value } from './answer';
import type { Trigger } from './types';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'PUSH_OUT_START';

export interface PushOutStartEvent {
  stream: string;
  target: string;
}

/** Same-millisecond starts of one channel get the next free millisecond, never an overwrite. */
const MAX_NAME_ATTEMPTS = 1000;

const pushOutStart: Trigger<PushOutStartEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse(payload) {
    const [stream, target] = expectLines(TRIGGER, payload, 2) as [string, string];
    return { stream, target };
  },
  decide({ stream, target }, ctx) {
    if (target === '') return DENY;
    if (!isFileTarget(target)) return value(target); // restreams (rtmp://, srt://, ...) are not ours to judge
    const settings = getSettings(ctx.db, ['stream-base', 'recordings-root']);
    const channel = channelForStream(ctx.db, stream, settings['stream-base']);
    if (channel === null || channel.kind !== 'live') {
      // A configured stream without "+" has a name MistServer sanitised; anything else may carry
      // hostile text into $wildcard/$stream, so its file pushes are refused.
      if (parseStreamName(stream) === null) return value(target);
      ctx.log(`refused file push of "${stream.slice(0, 80)}": not a channel stream`);
      return DENY;
    }
    const policy = getChannel(ctx.db, channel.userId);
    if (!policy) {
      ctx.log(`refused recording of ${channel.userName}: the channel has no policy row (damaged database)`);
      return DENY;
    }
    if (!policy.record) {
      ctx.debug(`not recording ${channel.userName}: recording is off`);
      return DENY;
    }
    const root = settings['recordings-root'];
    const rootProblem = root === '' ? 'recordings-root is not set' : recordingsRootProblem(root);
    if (rootProblem !== null) {
      ctx.log(`refused recording of ${channel.userName}: ${rootProblem}`);
      return DENY;
    }
    const ext = targetExtension(target);
    if (ext === null) {
      ctx.log(`refused recording of ${channel.userName}: the configured target must end in .mkv, .flv, .ts or .mp4`);
      return DENY;
    }
    const prepared = prepareChannelFolder(root, channel.userId);
    if ('problem' in prepared) {
      ctx.log(`refused recording of ${channel.userName}: ${prepared.problem}`);
      return DENY;
    }
    let path = '';
    for (let i = 0; i < MAX_NAME_ATTEMPTS; i++) {
      path = recordingPath(root, channel.userId, ctx.eventTime + i, ext);
      if (isFreePath(path)) break;
    }
    if (!isUnderRoot(root, path)) throw new Error('recording path escaped the recordings root'); // cannot happen: ids and digits only
    ctx.debug(`recording ${channel.userName} to ${path}`);
    return value(path);
  },
};

export default pushOutStart;
