// The viewer admission rules, as a pure function over facts: no database, no Redis, no I/O. The
// one-box USER_NEW (and `access explain`) gathers the facts from SQLite (decide.ts); an edge's
// USER_NEW gathers the same facts from its Redis replica (src/edge). One set of rules, so an edge
// can never admit whom the origin would refuse.
// Order: channel state, address bans, token validity, viewer bans, policy, viewer cap.
import { inRange, parseIp, parseRange } from '../lib/ip';
import type { TokenCheck, ViewerClaims } from './token';

/** The channel policy, as far as admission needs it (the password hash itself is never needed). */
export interface PolicyFacts {
  access: string;
  minAge: number | null;
  viewerCap: number | null;
  /** A password channel admits token holders only once a password is set. */
  passwordSet: boolean;
}

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
}

/** Which rule decided, in a stable word (`explain --json`, events) and in words for people. */
export interface AccessDecision {
  allow: boolean;
  rule: string;
  reason: string;
  /** The verified viewer id, when a valid token named one. */
  viewer: string | null;
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
      if (age === null) return refuse('age-not-verified', `age-restricted channel (${minAge}+): the token does not say the age is verified`);
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
export function decideAdmission(facts: AdmissionFacts, req: { ip: string; token: TokenCheck; now: number }): AccessDecision {
  const { token, now } = req;
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
    if (ban.kind === 'viewer' && viewer !== null && ban.value === viewer) return refuse('ban-viewer', `viewer is banned (${banScope(ban)} ban #${ban.id})`);
  }

  const policy = facts.policy;
  // Fail closed: a missing policy row is damage, and assuming "public" once opened private channels.
  if (!policy) return refuse('no-policy', "the channel has no policy row (damaged database; see 'streamctl doctor')");
  if (token.state === 'invalid' && policy.access !== 'public') return refuse('token-invalid', token.reason);

  const byPolicy = policyDecision(facts, policy, token, viewer);
  if (!byPolicy.allow) return byPolicy;

  if (policy.viewerCap !== null && facts.sessionsAhead && facts.sessionsAhead() >= policy.viewerCap) return capRefusal(policy.viewerCap, viewer);
  return byPolicy;
}
