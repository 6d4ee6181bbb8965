// Whether a channel is "open": anyone may watch it without any check, so MistServer can admit its
// viewers without running USER_NEW (the fast path: the live stream is tagged `open` and USER_NEW's
// streams filter is `!#open`). Open means public AND no viewer cap AND no ban that could apply
// (channel or global, of any kind: a viewer ban needs the token, an address ban the address, and
// only USER_NEW sees them) AND the user is not disabled. Anything else keeps the full check.
import { activeBansFor } from '../store/bans';
import { getChannel } from '../store/channels';
import type { Db } from '../store/open';
import { findUserById } from '../store/users';

export interface Openness {
  open: boolean;
  /** Why not, in words for people ('' when open). */
  why: string;
}

/** The channel's openness at `now` (a ban that ends later makes it open only at its next tag). */
export function channelOpenness(db: Db, userId: number, now: number): Openness {
  const user = findUserById(db, userId);
  if (!user) return { open: false, why: 'no such user' };
  if (user.disabled) return { open: false, why: 'user is disabled' };
  const channel = getChannel(db, userId);
  // No policy row: USER_NEW refuses (no-policy), so the channel must never skip it.
  if (!channel) return { open: false, why: 'no channel policy row' };
  if (channel.access !== 'public') return { open: false, why: `access is ${channel.access}` };
  if (channel.viewerCap !== null) return { open: false, why: `viewer cap of ${channel.viewerCap}` };
  const bans = activeBansFor(db, userId, now);
  if (bans.length > 0) {
    const global = bans.some((b) => b.userId === null);
    return { open: false, why: `${bans.length} ban(s) in force${global ? ' (global included)' : ''}` };
  }
  return { open: true, why: '' };
}

/** True when the channel's viewers need no check at all. */
export function isChannelOpen(db: Db, userId: number, now: number): boolean {
  return channelOpenness(db, userId, now).open;
}
