// The viewer admission decision, shared by the USER_NEW trigger and `streamctl access explain`.
// It takes a channel (never a stream name) so live streams and recordings share one policy.
// Order: channel state, address bans, token validity, viewer bans, policy, viewer cap.
import { inRange, parseIp, parseRange } from '../lib/ip';
import { activeBansFor, type Ban } from '../store/bans';
import { getChannel, type Channel } from '../store/channels';
import { findActiveGrant } from '../store/grants';
import type { Db } from '../store/open';
import { durationMs, getSetting } from '../store/settings';
import { findUserById } from '../store/users';
import { countSessionsAhead, findOpenSession } from '../store/viewer-sessions';
import type { TokenCheck, ViewerClaims } from './token';

/** The channel a session asks for. */
export interface AccessChannel {
  userId: number;
  userName: string;
  disabled: boolean;
}

export interface AccessRequest {
  channel: AccessChannel;
  /** Client address as MistServer reports it. */
  ip: string;
  token: TokenCheck;
  /** MistServer's session id: a session already open keeps its place under the viewer cap. */
  sessionId?: string;
  now: number;
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

function banScope(b: Ban): string {
  return b.userId === null ? 'global' : 'channel';
}

/** The channel policy's verdict (bans and token validity already checked by the caller). */
function policyDecision(db: Db, req: AccessRequest, policy: Channel, viewer: string | null): AccessDecision {
  const { channel, token, now } = req;
  const refuse = (rule: string, reason: string): AccessDecision => ({ allow: false, rule, reason, viewer });
  const admit = (rule: string, reason: string): AccessDecision => ({ allow: true, rule, reason, viewer });
  const claims = token.state === 'valid' ? token.claims : null;
  // Viewer ids are the site's user ids (a token's `sub`), so the owner is matched on the external
  // id only: a user name is another namespace, and one user's name may be another's site id.
  const isOwner = (): boolean => {
    if (viewer === null) return false;
    const owner = findUserById(db, channel.userId);
    return owner !== undefined && owner.externalId !== null && viewer === owner.externalId;
  };
  const hasGrant = () => viewer !== null && findActiveGrant(db, channel.userId, viewer, now) !== undefined;

  switch (policy.access) {
    case 'public':
      return admit('public', token.state === 'invalid' ? `public channel (token ignored: ${token.reason})` : 'public channel');
    case 'password':
      // Fail closed like the channel summary says: without a stored password nobody was let in by one.
      if (policy.passwordHash === null) return refuse('no-password', 'password channel without a password set (streamctl channel password)');
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

/** Decides whether a session may watch a channel. Reads only; the caller records the session. */
export function decideAccess(db: Db, req: AccessRequest): AccessDecision {
  const { channel, token, now } = req;
  const viewer = token.state === 'valid' ? token.claims.viewer : null;
  const refuse = (rule: string, reason: string): AccessDecision => ({ allow: false, rule, reason, viewer });

  if (channel.disabled) return refuse('channel-disabled', 'the channel is disabled');

  const bans = activeBansFor(db, channel.userId, now);
  const address = parseIp(req.ip);
  for (const ban of bans) {
    if (ban.kind !== 'ip') continue;
    // An address that does not parse cannot be shown to be outside the banned range: while any
    // address ban applies, such a viewer is refused (fail closed), not let past the check.
    if (!address) return refuse('ban-ip', `the viewer address does not parse, and address bans apply (${banScope(ban)} ban #${ban.id})`);
    const range = parseRange(ban.value);
    if (range && inRange(address, range)) return refuse('ban-ip', `address is banned (${banScope(ban)} ban #${ban.id})`);
  }
  for (const ban of bans) {
    if (ban.kind === 'viewer' && viewer !== null && ban.value === viewer) return refuse('ban-viewer', `viewer is banned (${banScope(ban)} ban #${ban.id})`);
  }

  const policy = getChannel(db, channel.userId);
  // Fail closed: a missing policy row is damage, and assuming "public" once opened private channels.
  if (!policy) return refuse('no-policy', "the channel has no policy row (damaged database; see 'streamctl doctor')");
  if (token.state === 'invalid' && policy.access !== 'public') return refuse('token-invalid', token.reason);

  const byPolicy = policyDecision(db, req, policy, viewer);
  if (!byPolicy.allow) return byPolicy;

  if (policy.viewerCap !== null) {
    const staleAfter = durationMs('viewer-session-stale', getSetting(db, 'viewer-session-stale'));
    const open = req.sessionId ? findOpenSession(db, req.sessionId) : undefined;
    const self = open && open.userId === channel.userId && req.sessionId ? { sessionId: req.sessionId, openedAt: open.openedAt, seq: open.seq } : undefined;
    const ahead = countSessionsAhead(db, channel.userId, now - staleAfter, self);
    if (ahead >= policy.viewerCap) return refuse('viewer-cap', `viewer cap of ${policy.viewerCap} reached`);
  }
  return byPolicy;
}
