// Tokens that behave like tickets on an edge and the shared viewer count, in
// process against a real primary + replica pair: viewer-sessions counted on the primary (refused
// or evicting the oldest, atomically under concurrent admissions), revoked token ids from
// sc:revoked, a re-check after exp refused, a lowered cap keeping the earliest sessions on
// re-checks, and a VoD viewer's places freed even when its recording is gone.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeRedis, EdgeVerdict } from '../../src/edge/admit';
import { admitOnEdge } from '../../src/edge/admit';
import { releaseSessionPlaces } from '../../src/edge/release';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys } from '../../src/replica/schema';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { clearReplicated, hs256, putChannel, putKeys, putSettings, putVod, startReplicaPair, type ReplicaPair } from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);
const SECRET = 'edge-test-secret-0123456789abcdef';
const SESSION = (n: number) => n.toString(16).padStart(64, '0');
const token = (claims: object) => hs256(SECRET, { exp: NOW_S + 600, aud: 'alice', ent: ['paid'], ...claims });

describe.skipIf(!REDIS_SERVER)('tickets on an edge', () => {
  let pair: ReplicaPair;
  const opened: Promise<RedisClient>[] = [];
  /** An edge's view (each call: its own connections, as separate trigger processes have). */
  const edge = (): EdgeRedis => {
    let replica: Promise<RedisClient> | undefined;
    let primary: Promise<RedisClient> | undefined;
    return {
      replica: () => (replica ??= (opened.push(connectRedis(pair.replica.socket)), opened.at(-1)!)),
      primary: (timeoutMs) =>
        (primary ??= (opened.push(connectRedis(pair.primaryTarget, { timeoutMs: Math.max(timeoutMs, 2000) })), opened.at(-1)!)),
    };
  };
  let redis: EdgeRedis;
  beforeAll(async () => {
    pair = await startReplicaPair();
    redis = edge();
  });
  afterAll(async () => {
    for (const c of opened) (await c.catch(() => undefined))?.close();
    await pair?.stop();
  });
  beforeEach(async () => {
    const w = pair.writer;
    await clearReplicated(w);
    await putSettings(w);
    await putKeys(w, [{ id: 1, kind: 'secret', alg: 'HS256', material: SECRET, label: 'secret-1', retiredAt: null }]);
    await putChannel(w, 'alice', { access: 'paid' });
    await pair.synced();
  });
  const set = async (fn: (w: RedisClient) => Promise<unknown>) => {
    await fn(pair.writer);
    await pair.synced();
  };
  const admit = (o: { session: number; token?: string; recheck?: boolean; stream?: string; now?: number; via?: EdgeRedis }) =>
    admitOnEdge(
      o.via ?? redis,
      {
        stream: o.stream ?? 'streams+alice',
        ip: '198.51.100.7',
        token: o.token ?? token({ sub: 'fan' }),
        sessionId: SESSION(o.session),
        firstCheck: !o.recheck,
      },
      o.now ?? NOW,
    );
  const rule = (v: EdgeVerdict) => `${v.allow ? 'admit' : 'refuse'} ${v.channel === null ? v.why : v.decision.rule}`;

  it("viewer-sessions: the same viewer's next session is refused, another viewer is not, a re-check keeps its place, USER_END frees it", async () => {
    await set((w) => putChannel(w, 'alice', { access: 'paid', viewerSessions: 1 }));
    expect(rule(await admit({ session: 1 }))).toBe('admit entitlement');
    expect(rule(await admit({ session: 2 }))).toBe('refuse viewer-sessions');
    expect(rule(await admit({ session: 3, token: token({ sub: 'other' }) }))).toBe('admit entitlement');
    expect(rule(await admit({ session: 1, recheck: true }))).toBe('admit entitlement');
    expect(await releaseSessionPlaces(redis, ['streams+alice'], SESSION(1), 2000)).toBeGreaterThan(0);
    expect(rule(await admit({ session: 2 }))).toBe('admit entitlement');
  });

  it('the global setting viewer-sessions applies when the channel sets none', async () => {
    await set((w) => putSettings(w, { 'viewer-sessions': '2' }));
    for (const s of [1, 2]) expect(rule(await admit({ session: s }))).toBe('admit entitlement');
    expect(rule(await admit({ session: 3 }))).toBe('refuse viewer-sessions');
  });

  it('evict-oldest admits the new session, names the oldest for stopping (sc:evict) and refuses its re-check', async () => {
    await set((w) => putChannel(w, 'alice', { access: 'paid', viewerSessions: 1, onExcess: 'evict-oldest' }));
    expect((await admit({ session: 1 })).allow).toBe(true);
    const v = await admit({ session: 2 });
    expect(v).toMatchObject({ allow: true, evicted: [SESSION(1)] });
    expect(await pair.writer.call('LRANGE', keys.evict, 0, -1)).toEqual([SESSION(1)]);
    expect(rule(await admit({ session: 1, recheck: true }))).toBe('refuse viewer-sessions');
    expect(rule(await admit({ session: 2, recheck: true }))).toBe('admit entitlement');
  });

  it('N concurrent admissions of one viewer under viewer-sessions k admit exactly k, from separate connections', async () => {
    await set((w) => putChannel(w, 'alice', { access: 'paid', viewerSessions: 3 }));
    const verdicts = await Promise.all(Array.from({ length: 24 }, (_, i) => admit({ session: 100 + i, via: edge() })));
    expect(verdicts.filter((v) => v.allow)).toHaveLength(3);
    expect(verdicts.filter((v) => !v.allow).every((v) => rule(v) === 'refuse viewer-sessions')).toBe(true);
  });

  it('refuses a revoked token id until its revocation ends; other tokens of the viewer play', async () => {
    const revoked = token({ sub: 'fan', jti: 'leaked-1' });
    await set((w) => w.call('HSET', keys.revoked, 'leaked-1', String(NOW + 60_000)));
    expect(rule(await admit({ session: 1, token: revoked }))).toBe('refuse token-revoked');
    expect(rule(await admit({ session: 2, token: token({ sub: 'fan', jti: 'fresh' }) }))).toBe('admit entitlement');
    await set((w) => w.call('HSET', keys.revoked, 'leaked-1', String(NOW - 1)));
    expect(rule(await admit({ session: 1, token: revoked }))).toBe('admit entitlement');
    await set((w) => w.call('HSET', keys.revoked, 'leaked-1', 'soon'));
    await expect(admit({ session: 1, token: revoked })).rejects.toThrow('sc:revoked');
  });

  it('refuses a re-check after the token expired (no clock-skew grace), while a new session with it is still in the skew', async () => {
    const short = token({ sub: 'fan', exp: NOW_S + 20 });
    expect(rule(await admit({ session: 1, token: short }))).toBe('admit entitlement');
    expect(rule(await admit({ session: 1, token: short, recheck: true, now: NOW + 21_000 }))).toBe('refuse token-expired');
  });

  it("names the token's expiry for a session it admits by the token, and none on a public channel or without a token", async () => {
    const exp = NOW_S + 120;
    const admitted = await admit({ session: 50, token: token({ sub: 'fan', exp }) });
    expect(admitted).toMatchObject({ allow: true, tokenExpiresAt: exp * 1000 });
    // A capped public channel runs USER_NEW, but an expired token may play on there: nothing to record.
    await set((w) => putChannel(w, 'open', { viewerCap: 100 }));
    const pub = await admit({ session: 51, stream: 'streams+open', token: token({ sub: 'fan', aud: 'open' }) });
    expect(pub.allow).toBe(true);
    expect(pub).not.toHaveProperty('tokenExpiresAt');
    const refused = await admit({ session: 52, token: 'no-token-here' });
    expect(refused.allow).toBe(false);
    expect(refused).not.toHaveProperty('tokenExpiresAt');
  });

  it('a lowered viewer cap keeps the earliest sessions on re-checks and drops the newest, as on the origin', async () => {
    await set((w) => putChannel(w, 'alice', { access: 'public', viewerCap: 3 }));
    for (const s of [1, 2, 3]) {
      expect((await admit({ session: s, token: '1234' })).allow).toBe(true);
      await new Promise((r) => setTimeout(r, 3)); // distinct opening times on the primary's clock
    }
    await set((w) => putChannel(w, 'alice', { access: 'public', viewerCap: 1 }));
    const rechecks = [];
    for (const s of [3, 2, 1]) rechecks.push((await admit({ session: s, token: '1234', recheck: true })).allow);
    expect(rechecks).toEqual([false, false, true]);
  });

  it("frees a VoD viewer's places when the recording was deleted before its USER_END", async () => {
    await set(async (w) => {
      await putChannel(w, 'alice', { access: 'paid', viewerCap: 1, viewerSessions: 1 });
      await putVod(w, 'abcdefghijklmnop', 'alice');
    });
    expect((await admit({ session: 1, stream: 'vod+abcdefghijklmnop' })).allow).toBe(true);
    await set((w) => w.call('DEL', keys.vod('abcdefghijklmnop')));
    expect(await releaseSessionPlaces(redis, ['vod+abcdefghijklmnop'], SESSION(1), 2000)).toBe(2);
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(0);
    expect(await pair.writer.call('EXISTS', keys.session(SESSION(1)))).toBe(0);
  });
});
