// The viewer admission rules, as a pure function over facts: no database, no Redis, no I/O. The
// one-box USER_NEW (and `access explain`) gathers the facts from SQLite (decide.ts); an edge's
// USER_NEW gathers the same facts from its Redis replica (src/edge). One set of rules, so an edge
// can never admit whom the origin would refuse.
// Order: channel state, address bans, token validity (revoked, expired on a re-check), viewer bans,
// policy, sessions per viewer (viewer-sessions), viewer cap.
import { inRange, parseIp, parseRange } from '../lib/ip';
import type { TokenCheck, ViewerClaims } from './token';

/** The channel policy, as far as admission needs it (the password hash itself is never needed). */
export interface PolicyFacts {
  access: string;
  minAge: number | null;
  viewerCap: number | null;
  /** A password channel admits token holders only once a password is set. */
  passwordSet: boolean;
  /** Most concurrent sessions per viewer id (the channel's, else the global setting), or null: unlimited. */
  viewerSessions?: number | null;
  /** The next session past that limit: refused, or admitted while the viewer's oldest is stopped. */
  onExcess?: OnExcess;
}

/** What happens to a viewer's session past the viewer-sessions limit. */
export type OnExcess = 'refuse' | 'evict-oldest';

/** A ban that may apply to the channel (its own or a global one). */
export interface BanFact {
  id: number;
  /** True for a ban on every channel. */
  global: boolean;
  kind: 'viewer' | 'ip';
  /** A viewer id, or a CIDR. */
  value: string;
  /** Unix ms the ban ends, or null; bans already over are ignored. */
  until: number | null;
}

/**
 * What admission looks at. Lookups that only some policies need are functions, so the SQLite side
 * queries them only when a rule asks (as it always has).
 */
export interface AdmissionFacts {
  /** The user is disabled. */
  disabled: boolean;
  bans: readonly BanFact[];
  /** undefined: the channel has no policy row (damage): refused, never assumed public. */
  policy: PolicyFacts | undefined;
  /** The channel owner's site id (owner tokens match on it), or null. */
  ownerExternalId(): string | null;
  /** The viewer has a grant on this channel that still works now. */
  hasGrant(viewer: string): boolean;
  /**
   * Open sessions counted ahead of this one under the viewer cap. Absent when the cap is claimed
   * elsewhere (an edge claims its place on the origin's Redis primary after admission).
   */
  sessionsAhead?(): number;
  /** The token id was revoked (`streamctl token revoke`). Absent: nothing is revoked. */
  revoked?(jti: string): boolean;
  /**
   * The viewer's other sessions on this channel counted ahead of this one under viewer-sessions
   * (open, not stopped, not stale), and whether this very session was stopped by streamctl (evicted
   * or revoked: it is refused until its USER_END). Absent when the count is claimed elsewhere (an edge).
   */
  viewerSessionsAhead?(viewer: string): { ahead: number; stopped: boolean };
}

/** Which rule decided, in a stable word (`explain --json`, events) and in words for people. */
export interface AccessDecision {
  allow: boolean;
  rule: string;
  reason: string;
  /** The verified viewer id, when a valid token named one. */
  viewer: string | null;
  /** Admitted past the viewer-sessions limit: this many of the viewer's oldest sessions must be stopped. */
  evictOldest?: number;
}

/** The age a token vouches for: its `age`, or 18 for a bare `age_verified: true`. */
function verifiedAge(c: ViewerClaims): number | null {
  if (!c.ageVerified) return null;
  return c.age ?? 18;
}

const banScope = (b: BanFact): string => (b.global ? 'global' : 'channel');

/** The refusal when the viewer cap is full (shared by the one-box count and the edge's claim). */
export function capRefusal(cap: number, viewer: string | null): AccessDecision {
  return { allow: false, rule: 'viewer-cap', reason: `viewer cap of ${cap} reached`, viewer };
}

/** The refusal when a viewer already holds as many sessions as the channel allows (shared with the edge's claim). */
export function viewerSessionsRefusal(limit: number, viewer: string | null): AccessDecision {
  return {
    allow: false,
    rule: 'viewer-sessions',
    reason: `viewer already holds ${limit} session(s) on this channel (viewer-sessions ${limit})`,
    viewer,
  };
}

/** The channel policy's verdict (bans and token validity already checked by the caller). */
function policyDecision(facts: AdmissionFacts, policy: PolicyFacts, token: TokenCheck, viewer: string | null): AccessDecision {
  const refuse = (rule: string, reason: string): AccessDecision => ({ allow: false, rule, reason, viewer });
  const admit = (rule: string, reason: string): AccessDecision => ({ allow: true, rule, reason, viewer });
  const claims = token.state === 'valid' ? token.claims : null;
  // Viewer ids are the site's user ids (a token's `sub`), so the owner is matched on the external
  // id only: a user name is another namespace, and one user's name may be another's site id.
  const isOwner = (): boolean => {
    if (viewer === null) return false;
    const owner = facts.ownerExternalId();
    return owner !== null && viewer === owner;
  };
  const hasGrant = () => viewer !== null && facts.hasGrant(viewer);

  switch (policy.access) {
    case 'public':
      return admit('public', token.state === 'invalid' ? `public channel (token ignored: ${token.reason})` : 'public channel');
    case 'password':
      // Fail closed like the channel summary says: without a stored password nobody was let in by one.
      if (!policy.passwordSet) return refuse('no-password', 'password channel without a password set (streamctl channel password)');
      if (!claims) return refuse('no-token', 'password channel: the site gives a playback token once the password is checked');
      return admit('token', 'password channel: valid playback token for this channel');
    case 'paid':
      if (!claims) return refuse('no-token', 'paid channel: no playback token, so no viewer id to look up');
      if (isOwner()) return admit('owner', 'the channel owner');
      if (claims.entitlements.includes('paid')) return admit('entitlement', 'paid channel: the token carries the "paid" entitlement');
      if (hasGrant()) return admit('grant', 'paid channel: the viewer has a grant');
      return refuse('not-entitled', 'paid channel: no grant and no "paid" entitlement for this viewer');
    case 'age': {
      const minAge = policy.minAge ?? 18;
      if (!claims) return refuse('no-token', `age-restricted channel (${minAge}+): no playback token`);
      const age = verifiedAge(claims);
      if (age === null)
        return refuse('age-not-verified', `age-restricted channel (${minAge}+): the token does not say the age is verified`);
      if (age < minAge) return refuse('age-not-verified', `age-restricted channel (${minAge}+): verified age is below the minimum`);
      return admit('age-verified', `age-restricted channel (${minAge}+): verified age`);
    }
    case 'private':
      if (!claims) return refuse('no-token', 'private channel: no playback token, so no viewer id to look up');
      if (isOwner()) return admit('owner', 'the channel owner');
      if (hasGrant()) return admit('grant', 'private channel: the viewer is on the allow list');
      return refuse('not-on-allow-list', 'private channel: the viewer is not on the allow list');
    default:
      return refuse('unknown-policy', `unknown access policy "${String(policy.access)}"`);
  }
}

/** Decides whether a session may watch a channel, from facts alone. */
export function decideAdmission(
  facts: AdmissionFacts,
  req: { ip: string; token: TokenCheck; now: number; recheck?: boolean },
): AccessDecision {
  const { now } = req;
  let token = req.token;
  // A revoked token is no token: a public channel admits its holder as anyone, the rest refuse it.
  const revoked = token.state === 'valid' && token.claims.jti !== null && facts.revoked?.(token.claims.jti) === true;
  // A re-check (invalidate_sessions, e.g. from `streamctl sessions expire`) holds the token to its
  // exp exactly: the clock-skew tolerance is for sessions starting, not for keeping one past its end.
  const expired = token.state === 'valid' && req.recheck === true && token.claims.expiresAt <= now;
  if (revoked || expired) token = { state: 'none' };
  const viewer = token.state === 'valid' ? token.claims.viewer : null;
  const refuse = (rule: string, reason: string): AccessDecision => ({ allow: false, rule, reason, viewer });

  if (facts.disabled) return refuse('channel-disabled', 'the channel is disabled');

  const bans = facts.bans.filter((b) => b.until === null || b.until > now);
  const address = parseIp(req.ip);
  for (const ban of bans) {
    if (ban.kind !== 'ip') continue;
    // An address that does not parse cannot be shown to be outside the banned range: while any
    // address ban applies, such a viewer is refused (fail closed), not let past the check.
    if (!address) return refuse('ban-ip', `the viewer address does not parse, and address bans apply (${banScope(ban)} ban #${ban.id})`);
    const range = parseRange(ban.value);
    // A stored range that does not parse (damage, another writer, a tampered replica) might have
    // covered this viewer: fail closed rather than skip the ban.
    if (!range) return refuse('ban-ip', `${banScope(ban)} ban #${ban.id} holds an invalid address range; see 'streamctl ban list'`);
    if (inRange(address, range)) return refuse('ban-ip', `address is banned (${banScope(ban)} ban #${ban.id})`);
  }
  for (const ban of bans) {
    if (ban.kind === 'viewer' && viewer !== null && ban.value === viewer)
      return refuse('ban-viewer', `viewer is banned (${banScope(ban)} ban #${ban.id})`);
  }

  const policy = facts.policy;
  // Fail closed: a missing policy row is damage, and assuming "public" once opened private channels.
  if (!policy) return refuse('no-policy', "the channel has no policy row (damaged database; see 'streamctl doctor')");
  if (token.state === 'invalid' && policy.access !== 'public') return refuse('token-invalid', token.reason);
  if (revoked && policy.access !== 'public') return refuse('token-revoked', 'the token was revoked (streamctl token revoke)');
  if (expired && policy.access !== 'public') return refuse('token-expired', 'the token expired during the session');

  const byPolicy = policyDecision(facts, policy, token, viewer);
  if (!byPolicy.allow) return byPolicy;

  const limit = policy.viewerSessions ?? null;
  let evictOldest: number | undefined;
  if (limit !== null && viewer !== null && facts.viewerSessionsAhead) {
    const mine = facts.viewerSessionsAhead(viewer);
    // A session streamctl stopped (evicted, revoked) stays refused until its USER_END, re-checks
    // and restarts alike: the same token at the same address is the same screen (MistServer's
    // session id hashes both), so an evicted HLS player's next request cannot evict the newer one.
    if (mine.stopped)
      return { ...viewerSessionsRefusal(limit, viewer), reason: 'the session was stopped for a newer session of the same viewer' };
    if (mine.ahead >= limit) {
      if (policy.onExcess !== 'evict-oldest' || req.recheck === true) return viewerSessionsRefusal(limit, viewer);
      evictOldest = mine.ahead - limit + 1;
    }
  }
  if (policy.viewerCap !== null && facts.sessionsAhead && facts.sessionsAhead() - (evictOldest ?? 0) >= policy.viewerCap)
    return capRefusal(policy.viewerCap, viewer);
  return evictOldest === undefined
    ? byPolicy
    : {
        ...byPolicy,
        evictOldest,
        reason: `${byPolicy.reason}; the viewer's oldest session is stopped (viewer-sessions ${limit}, evict-oldest)`,
      };
}
