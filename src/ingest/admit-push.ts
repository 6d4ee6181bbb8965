// The ingest decision shared by PUSH_REWRITE and RTMP_PUSH_REWRITE: which channel, if any, a
// stream key publishes to. Every attempt is audited (never with the key itself).
import { looksLikeStreamKey, streamKeyDigest } from './stream-key';
import { recordEvent } from '../store/events';
import { findKeyOwnerByDigest, keyWorksAt, touchKey } from '../store/keys';
import { clearPushFailures, countPushFailures, recordPushFailure } from '../store/push-guard';
import { durationMs, getSettings } from '../store/settings';
import type { TriggerContext } from '../triggers/types';
import { normaliseIp } from '../triggers/payload';

/** Why a push was refused, in words fit for logs (no secrets). */
function shapeProblem(key: string): string {
  if (key === '') return 'empty stream name';
  if (key.includes('+')) return 'internal stream name sent as a key';
  return 'not a stream key';
}

/**
 * Looks the key up and returns the stream name to publish to (`<base>+<user>`), or null to refuse.
 * The audit row, last-use stamp and brute-force count are written after the answer: they never
 * delay a push, and a failure to write them is logged without changing the decision.
 */
export function admitPush(ctx: TriggerContext, trigger: string, key: string, host: string): string | null {
  const { db, now } = ctx;
  const ip = normaliseIp(host);
  const settings = getSettings(db, ['stream-base', 'push-guard-failures', 'push-guard-window']);
  const windowStart = now - durationMs('push-guard-window', settings['push-guard-window']);

  const refuse = (reason: string, userId: number | null): null => {
    ctx.log(`refused push from ${ip || 'unknown address'}: ${reason}`);
    ctx.afterAnswer(() =>
      db.transaction(() => {
        recordPushFailure(db, ip, now, windowStart);
        recordEvent(db, { at: now, kind: 'push', outcome: 'refused', reason, userId, ip, detail: trigger });
      }).immediate(),
    );
    return null;
  };

  const recentFailures = countPushFailures(db, ip, windowStart);
  if (recentFailures >= Number(settings['push-guard-failures'])) {
    return refuse('too many refused pushes from this address', null);
  }
  if (!looksLikeStreamKey(key)) return refuse(shapeProblem(key), null);

  const owner = findKeyOwnerByDigest(db, streamKeyDigest(key));
  if (!owner) return refuse('unknown key', null);
  if (!keyWorksAt(owner.revokedAt, now)) return refuse(`revoked key "${owner.label}"`, owner.userId);
  if (owner.userDisabled) return refuse('user is disabled', owner.userId);

  ctx.afterAnswer(() =>
    db.transaction(() => {
      touchKey(db, owner.keyId, now, ip);
      if (recentFailures > 0) clearPushFailures(db, ip);
      recordEvent(db, { at: now, kind: 'push', outcome: 'accepted', reason: `key "${owner.label}"`, userId: owner.userId, ip, detail: trigger });
    }).immediate(),
  );
  ctx.debug(`accepted push from ${ip} for ${owner.userName} (key "${owner.label}")`);
  return `${settings['stream-base']}+${owner.userName}`;
}
