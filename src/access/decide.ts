// The viewer admission decision on a box with the database (the one-box USER_NEW, the origin, and
// `streamctl access explain`): gathers the facts from SQLite and applies the shared rules
// (admission.ts, which an edge applies to facts from its Redis replica). It takes a channel (never
// a stream name) so live streams and recordings share one policy.
import { activeBansFor } from '../store/bans';
import { getChannel } from '../store/channels';
import { findActiveGrant } from '../store/grants';
import type { Db } from '../store/open';
import { durationMs, getSetting } from '../store/settings';
import { findUserById } from '../store/users';
import { isRevoked } from '../store/revoked-tokens';
import { countSessionsAhead, countViewerSessionsAhead, findOpenSession } from '../store/viewer-sessions';
import { decideAdmission, type AccessDecision, type AdmissionFacts } from './admission';
import type { TokenCheck } from './token';

export type { AccessDecision } from './admission';

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
  /** A 6-line USER_NEW: MistServer re-checks a session it already admitted. */
  recheck?: boolean;
  now: number;
}

/** The viewer-sessions limit in force on a channel: its own, else the global setting; null = unlimited. */
export function viewerSessionsLimit(channelLimit: number | null, setting: string): number | null {
  if (channelLimit !== null) return channelLimit;
  return setting === 'unlimited' ? null : Number(setting);
}

/** The facts admission needs, read from SQLite (lookups only when a rule asks for them). */
export function admissionFactsFromDb(db: Db, req: AccessRequest, opts: { countsElsewhere?: boolean } = {}): AdmissionFacts {
  const { channel, now } = req;
  const policy = getChannel(db, channel.userId);
  const staleSince = () => now - durationMs('viewer-session-stale', getSetting(db, 'viewer-session-stale'));
  // This session's row when MistServer already admitted it: a re-check keeps its place in line.
  let own: ReturnType<typeof findOpenSession> | null = null;
  const ownSession = () => {
    if (own === null) own = req.sessionId ? findOpenSession(db, req.sessionId) : undefined;
    return own && own.userId === channel.userId && req.sessionId
      ? { sessionId: req.sessionId, openedAt: own.openedAt, seq: own.seq, stoppedAt: own.stoppedAt }
      : undefined;
  };
  const facts: AdmissionFacts = {
    disabled: channel.disabled,
    bans: activeBansFor(db, channel.userId, now).map((b) => ({
      id: b.id,
      global: b.userId === null,
      kind: b.kind,
      value: b.value,
      until: b.until,
    })),
    policy: policy && {
      access: policy.access,
      minAge: policy.minAge,
      viewerCap: policy.viewerCap,
      passwordSet: policy.passwordHash !== null,
      viewerSessions: viewerSessionsLimit(policy.viewerSessions, getSetting(db, 'viewer-sessions')),
      onExcess: policy.onExcess,
    },
    ownerExternalId: () => findUserById(db, channel.userId)?.externalId ?? null,
    hasGrant: (viewer) => findActiveGrant(db, channel.userId, viewer, now) !== undefined,
    sessionsAhead: () => {
      return countSessionsAhead(db, channel.userId, staleSince(), ownSession());
    },
    revoked: (jti) => isRevoked(db, jti, now),
    viewerSessionsAhead: (viewer) => {
      const self = ownSession();
      const stopped = self !== undefined && self.stoppedAt !== null;
      return { ahead: countViewerSessionsAhead(db, channel.userId, viewer, staleSince(), self), stopped };
    },
  };
  // An origin with edges counts on the Redis primary, after admission (as an edge does).
  if (opts.countsElsewhere) {
    delete facts.sessionsAhead;
    delete facts.viewerSessionsAhead;
  }
  return facts;
}

/** Decides whether a session may watch a channel. Reads only; the caller records the session. */
export function decideAccess(db: Db, req: AccessRequest, opts: { countsElsewhere?: boolean } = {}): AccessDecision {
  return decideAdmission(admissionFactsFromDb(db, req, opts), req);
}
