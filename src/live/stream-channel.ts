// Which channel a MistServer stream name belongs to. Decisions take a channel, never a raw
// stream-name string: the part after "+" is not sanitised by MistServer.
import { canonicalName, nameProblem, wildcardPart } from '../lib/names';
import { parseRecordingId } from '../recordings/recording-id';
import type { Db } from '../store/open';
import { findRecordingChannel } from '../store/recordings';
import { getSetting } from '../store/settings';
import { findUserByName } from '../store/users';

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
  const wildcard = wildcardPart(streamName, base);
  if (wildcard !== null) {
    const name = canonicalName(wildcard);
    if (nameProblem(name) !== null) return null;
    const user = findUserByName(db, name);
    return user ? { userId: user.id, userName: user.name, disabled: user.disabled, kind: 'live' } : null;
  }
  if (!streamName.includes('+')) return null;
  const vodWildcard = wildcardPart(streamName, vodBase ?? getSetting(db, 'vod-base'));
  const recordingId = vodWildcard === null ? null : parseRecordingId(vodWildcard);
  if (recordingId === null) return null;
  const owner = findRecordingChannel(db, recordingId);
  return owner ? { ...owner, kind: 'vod', recordingId } : null;
}
