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
import { countSessionsAhead, findOpenSession } from '../store/viewer-sessions';
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
  now: number;
}

/** The facts admission needs, read from SQLite (lookups only when a rule asks for them). */
export function admissionFactsFromDb(db: Db, req: AccessRequest): AdmissionFacts {
  const { channel, now } = req;
  const policy = getChannel(db, channel.userId);
  return {
    disabled: channel.disabled,
    bans: activeBansFor(db, channel.userId, now).map((b) => ({ id: b.id, global: b.userId === null, kind: b.kind, value: b.value, until: b.until })),
    policy: policy && { access: policy.access, minAge: policy.minAge, viewerCap: policy.viewerCap, passwordSet: policy.passwordHash !== null },
    ownerExternalId: () => findUserById(db, channel.userId)?.externalId ?? null,
    hasGrant: (viewer) => findActiveGrant(db, channel.userId, viewer, now) !== undefined,
    sessionsAhead: () => {
      const staleAfter = durationMs('viewer-session-stale', getSetting(db, 'viewer-session-stale'));
      const open = req.sessionId ? findOpenSession(db, req.sessionId) : undefined;
      const self = open && open.userId === channel.userId && req.sessionId ? { sessionId: req.sessionId, openedAt: open.openedAt, seq: open.seq } : undefined;
      return countSessionsAhead(db, channel.userId, now - staleAfter, self);
    },
  };
}

/** Decides whether a session may watch a channel. Reads only; the caller records the session. */
export function decideAccess(db: Db, req: AccessRequest): AccessDecision {
  return decideAdmission(admissionFactsFromDb(db, req), req);
}
