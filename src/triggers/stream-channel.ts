// Which channel a MistServer stream name belongs to. Decisions take a channel, never a raw
// stream-name string: the part after "+" is not sanitised by MistServer.
import { canonicalName, nameProblem, wildcardPart } from '../lib/names';
import type { Db } from '../store/open';
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

/** Resolves `<base>+<user>` (and, once recordings exist, `vod+<id>`); null for anything else. */
export function channelForStream(db: Db, streamName: string, base: string): StreamChannel | null {
  const wildcard = wildcardPart(streamName, base);
  if (wildcard === null) return null;
  const name = canonicalName(wildcard);
  if (nameProblem(name) !== null) return null;
  const user = findUserByName(db, name);
  return user ? { userId: user.id, userName: user.name, disabled: user.disabled, kind: 'live' } : null;
}
