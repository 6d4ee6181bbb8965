// Revoking a playback token by its `jti` (`streamctl token revoke`): refused from now on by every
// admission (one box, origin, and the edges through sc:revoked), kept until the token could no
// longer verify anyway, and the sessions it admitted here marked stopped (the caller stops them on
// MistServer; a re-check of one is refused all the same).
import type { Db } from '../store/open';
import { revokeToken, type RevokedToken } from '../store/revoked-tokens';
import { durationMs, getSetting } from '../store/settings';
import { stopSessionsOfToken, tokenExpOfJti, type SessionRef } from '../store/viewer-sessions';

/** Why a token id is not one: null when it is fine (the verifier's own bound, printable text). */
export function jtiProblem(jti: string): string | null {
  if (jti === '' || jti.length > 200) return 'expected 1 to 200 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(jti)) return 'control characters are not allowed';
  return null;
}

export interface Revocation {
  revoked: RevokedToken;
  /** Where `until` comes from: a session's token exp, or now + token-max-ttl (no session showed it). */
  untilFrom: 'token' | 'token-max-ttl';
  /** The open sessions the token admitted, now marked stopped. */
  stopped: SessionRef[];
}

/** Revokes a token id in one IMMEDIATE transaction. */
export function revokeTokenId(db: Db, jti: string, now: number): Revocation {
  return db
    .transaction(() => {
      const exp = tokenExpOfJti(db, jti);
      // No token verifies past now + token-max-ttl (+ the 30 s clock skew), so that bounds one never seen.
      const maxTtl = durationMs('token-max-ttl', getSetting(db, 'token-max-ttl')) + 30_000;
      const until = exp !== null ? Math.max(exp + 30_000, now + 1) : now + maxTtl;
      const revoked = revokeToken(db, jti, until, now);
      return {
        revoked,
        untilFrom: exp !== null ? ('token' as const) : ('token-max-ttl' as const),
        stopped: stopSessionsOfToken(db, jti, now),
      };
    })
    .immediate();
}
