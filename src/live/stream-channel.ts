// Which channel a MistServer stream name belongs to. Decisions take a channel, never a raw
// stream-name string: the part after "+" is not sanitised by MistServer.
import type { Db } from '../store/open';
import { findRecordingChannel } from '../store/recordings';
import { getSetting } from '../store/settings';
import { findUserByName } from '../store/users';
import { parseStreamName, recordingOf } from './stream-name';

export interface StreamChannel {
  userId: number;
  userName: string;
  disabled: boolean;
  /** live: `<base>+<user>`; vod: a recording played back as `vod+<recording id>`. */
  kind: 'live' | 'vod';
  /** Set for kind vod: the recording's opaque id. */
  recordingId?: string;
}

/**
 * Resolves `<base>+<user>` (live) and `<vod-base>+<recording id>` (a recording, to its channel);
 * null for anything else, including recordings being deleted. `vodBase` defaults to the
 * `vod-base` setting, read only when the name is not a live channel name.
 */
export function channelForStream(db: Db, streamName: string, base: string, vodBase?: string): StreamChannel | null {
  const parsed = parseStreamName(streamName);
  if (parsed === null) return null;
  if (parsed.base === base) {
    const user = parsed.channel === null ? undefined : findUserByName(db, parsed.channel);
    return user ? { userId: user.id, userName: user.name, disabled: user.disabled, kind: 'live' } : null;
  }
  const recordingId = recordingOf(parsed, vodBase ?? getSetting(db, 'vod-base'));
  if (recordingId === null) return null;
  const owner = findRecordingChannel(db, recordingId);
  return owner ? { ...owner, kind: 'vod', recordingId } : null;
}
