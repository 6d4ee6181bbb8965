// Whether a channel is "open" on the one box (its viewers need no check: the live stream is tagged
// `open` and USER_NEW's streams filter is `!#open`): the facts of the rule (decideOpenness,
// openness.ts) gathered from SQLite. An edge gathers the same facts from its replica (edge/edge-openness.ts).
import { activeBansFor } from '../store/bans';
import { getChannel } from '../store/channels';
import type { Db } from '../store/open';
import { findUserById } from '../store/users';
import { decideOpenness, type Openness } from './openness';

export type { Openness } from './openness';

/** The channel's openness at `now`, from SQLite (a ban that ends later makes it open only at its next tag). */
export function channelOpenness(db: Db, userId: number, now: number): Openness {
  const user = findUserById(db, userId);
  if (!user || user.disabled) return decideOpenness({ user: user ?? null, policy: undefined, bans: [] }, now);
  const channel = getChannel(db, userId);
  const bans =
    channel?.access === 'public' && channel.viewerCap === null
      ? activeBansFor(db, userId, now).map((b) => ({ global: b.userId === null, until: b.until }))
      : [];
  return decideOpenness({ user, policy: channel, bans }, now);
}

/** True when the channel's viewers need no check at all. */
export function isChannelOpen(db: Db, userId: number, now: number): boolean {
  return channelOpenness(db, userId, now).open;
}
