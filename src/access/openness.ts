// Whether a channel is "open" (its viewers need no check, so MistServer skips USER_NEW for them):
// the rule itself, pure over facts as decideAdmission is (admission.ts). Open means public AND no
// viewer cap AND no ban in force (channel or global, of any kind: a viewer ban needs the token, an
// address ban the address, and only USER_NEW sees them) AND the user exists and is not disabled.
// The one box gathers the facts from SQLite (open-channel.ts), an edge from its Redis replica
// (edge/edge-openness.ts); no I/O here, so an edge program loads no store code for it.
import type { BanFact, PolicyFacts } from './admission';

export interface Openness {
  open: boolean;
  /** Why not, in words for people ('' when open). */
  why: string;
  /** What keeps it closed: the user (missing, disabled), its policy (row, access, cap), or bans alone. */
  closedBy: 'user' | 'policy' | 'bans' | null;
}

/** What openness looks at. */
export interface OpennessFacts {
  /** null: no such user. */
  user: { disabled: boolean } | null;
  /** undefined: the channel has no policy row (USER_NEW refuses it, so it must never skip USER_NEW). */
  policy: Pick<PolicyFacts, 'access' | 'viewerCap'> | undefined;
  /** The channel's own bans and the global ones; those over at `now` are ignored. */
  bans: readonly Pick<BanFact, 'global' | 'until'>[];
}

/** The openness rule itself, over facts (no I/O): both paths call it. */
export function decideOpenness(facts: OpennessFacts, now: number): Openness {
  if (!facts.user) return { open: false, why: 'no such user', closedBy: 'user' };
  if (facts.user.disabled) return { open: false, why: 'user is disabled', closedBy: 'user' };
  const policy = facts.policy;
  if (!policy) return { open: false, why: 'no channel policy row', closedBy: 'policy' };
  if (policy.access !== 'public') return { open: false, why: `access is ${policy.access}`, closedBy: 'policy' };
  if (policy.viewerCap !== null) return { open: false, why: `viewer cap of ${policy.viewerCap}`, closedBy: 'policy' };
  const bans = facts.bans.filter((b) => b.until === null || b.until > now);
  if (bans.length > 0) {
    const global = bans.some((b) => b.global);
    return { open: false, why: `${bans.length} ban(s) in force${global ? ' (global included)' : ''}`, closedBy: 'bans' };
  }
  return { open: true, why: '', closedBy: null };
}
