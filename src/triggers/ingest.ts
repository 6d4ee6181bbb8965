// The ingest decision shared by PUSH_REWRITE and RTMP_PUSH_REWRITE: which channel, if any, a
// stream key publishes to. Every attempt is audited (never with the key itself).
import { guardSource } from '../lib/guard-source';
import { inRange, parseIp, parseRange } from '../lib/ip';
import { looksLikeStreamKey, streamKeyDigest } from '../lib/stream-key';
import { recordEvent } from '../store/events';
import { findKeyOwnerByDigest, keyWorksAt, touchKey } from '../store/keys';
import type { Db } from '../store/open';
import { countPushFailures, listGuardAllow, recordPushFailure } from '../store/push-guard';
import { durationMs, getSettings } from '../store/settings';
import type { TriggerContext } from './types';
import { normaliseIp } from './payload';

/** Why a push was refused, in words fit for logs (no secrets). */
function shapeProblem(key: string): string {
  if (key === '') return 'empty stream name';
  if (key.includes('+')) return 'internal stream name sent as a key';
  return 'not a stream key';
}

/** The reason recorded when the guard refuses without looking the key up. */
export const GUARD_REFUSAL = 'too many refused pushes from this address';

/** True when the address lies in an allowlisted range (`streamctl guard allow`). */
function guardAllows(db: Db, ip: string): boolean {
  const entries = listGuardAllow(db);
  if (entries.length === 0) return false;
  const address = parseIp(ip);
  if (!address) return false;
  return entries.some((e) => {
    const range = parseRange(e.cidr);
    return range !== null && inRange(address, range);
  });
}

/**
 * Looks the key up and returns the stream name to publish to (`<base>+<user>`), or null to refuse.
 * The guard's count, the lookup and every write about the attempt (failure count, audit row, key
 * last use) happen in ONE IMMEDIATE transaction that commits before the answer: concurrent
 * attempts from one source are serialised, so at most `push-guard-failures` of them are looked
 * up, and nothing is lost when MistServer kills the handler after reading the answer. When the
 * write lock cannot be had (busy_timeout) the transaction throws and the runner refuses: the guard
 * fails closed, and no key is ever looked up without its outcome being counted.
 */
export function admitPush(ctx: TriggerContext, trigger: string, key: string, host: string): string | null {
  const { db, now } = ctx;
  const ip = normaliseIp(host);
  const source = guardSource(ip);
  const outcome = db
    .transaction((): { stream: string } | { refused: string } => {
      const settings = getSettings(db, ['stream-base', 'push-guard-failures', 'push-guard-window']);
      const windowStart = now - durationMs('push-guard-window', settings['push-guard-window']);
      const allowed = guardAllows(db, ip);
      const audit = (outcome: 'accepted' | 'refused', reason: string, userId: number | null) =>
        recordEvent(db, { at: now, kind: 'push', outcome, reason, userId, ip, detail: trigger });
      const refuse = (reason: string, userId: number | null) => {
        // A success never wipes these: a broadcaster's own key must not reset an attacker's count.
        if (!allowed) recordPushFailure(db, { source, ip, at: now, windowStart });
        audit('refused', reason, userId);
        return { refused: reason };
      };

      if (!allowed && countPushFailures(db, source, windowStart) >= Number(settings['push-guard-failures'])) {
        // Already over the limit: not counted again, so the block lifts one window after the
        // failures that caused it (`streamctl guard clear` lifts it at once).
        audit('refused', GUARD_REFUSAL, null);
        return { refused: GUARD_REFUSAL };
      }
      if (!looksLikeStreamKey(key)) return refuse(shapeProblem(key), null);
      const owner = findKeyOwnerByDigest(db, streamKeyDigest(key));
      if (!owner) return refuse('unknown key', null);
      if (!keyWorksAt(owner.revokedAt, now)) return refuse(`revoked key "${owner.label}"`, owner.userId);
      if (owner.userDisabled) return refuse('user is disabled', owner.userId);

      touchKey(db, owner.keyId, now, ip);
      audit('accepted', `key "${owner.label}"`, owner.userId);
      ctx.debug(`accepted push from ${ip} for ${owner.userName} (key "${owner.label}")`);
      return { stream: `${settings['stream-base']}+${owner.userName}` };
    })
    .immediate();
  if ('refused' in outcome) {
    ctx.log(`refused push from ${ip || 'unknown address'}: ${outcome.refused}`);
    return null;
  }
  return outcome.stream;
}
