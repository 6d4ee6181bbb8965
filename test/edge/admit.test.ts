// The edge's admission in process (src/edge/admit.ts) against a real primary + replica pair holding
// the origin's data by the layout of src/replica/schema.ts: the same rules as the one-box USER_NEW
// (policies, tokens, bans, recordings, unknown streams), the cap claimed on the primary, and every
// data problem an error (the trigger refuses). The built programs: test/process/edge-programs.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeVerdict } from '../../src/edge/admit';
import type { EdgeRedis } from '../../src/edge/edge-redis';
import { admitOnEdge, unverifiedSubject } from '../../src/edge/admit';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys } from '../../src/replica/schema';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import {
  clearReplicated,
  hs256,
  putBan,
  putChannel,
  putGrant,
  putKeys,
  putSettings,
  putVod,
  startReplicaPair,
  type ReplicaPair,
} from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);
const SECRET = 'edge-test-secret-0123456789abcdef';
const SESSION = (n: number) => n.toString(16).padStart(64, '0');
const token = (claims: object, secret = SECRET) => hs256(secret, { exp: NOW_S + 600, ...claims });

describe.skipIf(!REDIS_SERVER)('admission on an edge', () => {
  let pair: ReplicaPair;
  const opened: Promise<RedisClient>[] = [];
  /** The edge's view: its replica, and the primary for the cap. */
  let redis: EdgeRedis;
  beforeAll(async () => {
    pair = await startReplicaPair();
    let replica: Promise<RedisClient> | undefined;
    let primary: Promise<RedisClient> | undefined;
    redis = {
      replica: () => (replica ??= (opened.push(connectRedis(pair.replica.socket)), opened.at(-1)!)),
      primary: (timeoutMs) => (primary ??= (opened.push(connectRedis(pair.primaryTarget, { timeoutMs })), opened.at(-1)!)),
    };
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
    await putChannel(w, 'alice', { externalId: 'site-alice' });
    await pair.synced();
  });

  const admit = (stream: string, over: { ip?: string; token?: string; session?: number } = {}) =>
    admitOnEdge(
      redis,
      { stream, ip: over.ip ?? '198.51.100.7', token: over.token ?? '482388719', sessionId: SESSION(over.session ?? 1) },
      NOW,
    );
  /** "admit <rule>" / "refuse <rule>", as the one-box tests say it. */
  const rule = (v: EdgeVerdict) => `${v.allow ? 'admit' : 'refuse'} ${v.channel === null ? `(not a channel: ${v.why})` : v.decision.rule}`;
  const set = async (fn: (w: RedisClient) => Promise<void>) => {
    await fn(pair.writer);
    await pair.synced();
  };

  it('admits on a public channel, ignoring an invalid token', async () => {
    expect(rule(await admit('streams+alice'))).toBe('admit public');
    const v = await admit('streams+ALICE', { token: token({ sub: 'fan', aud: 'alice' }, 'wrong-secret') });
    expect(rule(v)).toBe('admit public');
    expect(v.channel === null ? '' : v.decision.reason).toContain('token signature does not verify');
  });

  it('private: the owner (by external id) and viewers with a working grant, nobody else', async () => {
    await set((w) => putChannel(w, 'alice', { externalId: 'site-alice', access: 'private' }));
    expect(rule(await admit('streams+alice'))).toBe('refuse no-token');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'site-alice', aud: 'alice' }) }))).toBe('admit owner');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('refuse not-on-allow-list');
    await set((w) => putGrant(w, 'alice', 'fan', null));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('admit grant');
    await set((w) => putGrant(w, 'alice', 'old-fan', NOW - 1));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'old-fan', aud: 'alice' }) }))).toBe('refuse not-on-allow-list');
    await set((w) => putGrant(w, 'alice', 'new-fan', NOW + 60_000));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'new-fan', aud: 'alice' }) }))).toBe('admit grant');
  });

  it("never lets a forged sub borrow a grant: only the verified viewer's grant counts", async () => {
    await set(async (w) => {
      await putChannel(w, 'alice', { access: 'private' });
      await putGrant(w, 'alice', 'fan', null);
    });
    // Signed by another secret, claiming the granted viewer: invalid, the fetched grant unused.
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }, 'not-the-secret') }))).toBe(
      'refuse token-invalid',
    );
    expect(unverifiedSubject(token({ sub: 'fan' }))).toBe('fan');
    expect(unverifiedSubject('x.!!!.y')).toBeNull();
  });

  it('paid, age and password channels decide as on the origin', async () => {
    await set((w) => putChannel(w, 'alice', { externalId: 'site-alice', access: 'paid' }));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('refuse not-entitled');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice', ent: ['paid'] }) }))).toBe('admit entitlement');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'site-alice', aud: 'alice' }) }))).toBe('admit owner');
    await set((w) => putGrant(w, 'alice', 'fan', null));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('admit grant');

    await set((w) => putChannel(w, 'alice', { access: 'age', minAge: 21 }));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('refuse age-not-verified');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice', age_verified: true }) }))).toBe(
      'refuse age-not-verified',
    );
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice', age_verified: true, age: 30 }) }))).toBe(
      'admit age-verified',
    );

    await set((w) => putChannel(w, 'alice', { access: 'password', passwordSet: false }));
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('refuse no-password');
    await set((w) => putChannel(w, 'alice', { access: 'password', passwordSet: true }));
    expect(rule(await admit('streams+alice'))).toBe('refuse no-token');
    expect(rule(await admit('streams+alice', { token: token({ sub: 'fan', aud: 'alice' }) }))).toBe('admit token');
  });

  it('refuses forged, expired, other-channel and over-long tokens, and keys past their grace', async () => {
    await set((w) => putChannel(w, 'alice', { access: 'password', passwordSet: true }));
    const reason = async (t: string) => {
      const v = await admit('streams+alice', { token: t });
      return v.channel === null ? v.why : `${v.decision.rule}: ${v.decision.reason}`;
    };
    expect(await reason(token({ sub: 'fan', aud: 'alice' }, 'forged'))).toBe('token-invalid: token signature does not verify');
    expect(await reason(token({ sub: 'fan', aud: 'alice', exp: NOW_S - 120 }))).toBe('token-invalid: token expired');
    expect(await reason(token({ sub: 'fan', aud: 'bob' }))).toBe('token-invalid: token is for another channel');
    expect(await reason(token({ sub: 'fan', aud: 'alice', exp: NOW_S + 3 * 86400 }))).toBe(
      'token-invalid: token lifetime is longer than token-max-ttl',
    );
    // A token MistServer passed without its first character (Authorization: Bearer) still verifies.
    expect(await reason(token({ sub: 'fan', aud: 'alice' }).slice(1))).toBe(
      'token: password channel: valid playback token for this channel',
    );
    // token-max-ttl comes from the replicated settings.
    await set((w) => putSettings(w, { 'token-max-ttl': '5m' }));
    expect(await reason(token({ sub: 'fan', aud: 'alice' }))).toBe('token-invalid: token lifetime is longer than token-max-ttl');
    // A rotated secret verifies until its grace ends; the new one from the start.
    await set((w) =>
      putKeys(w, [
        { id: 1, kind: 'secret', alg: 'HS256', material: SECRET, label: 'secret-1', retiredAt: NOW - 1 },
        { id: 2, kind: 'secret', alg: 'HS256', material: 'the-new-secret', label: 'secret-2', retiredAt: null },
      ]),
    );
    await set((w) => putSettings(w));
    expect(await reason(token({ sub: 'fan', aud: 'alice' }))).toBe('token-invalid: token signature does not verify');
    expect(await reason(token({ sub: 'fan', aud: 'alice' }, 'the-new-secret'))).toBe(
      'token: password channel: valid playback token for this channel',
    );
    await set((w) => putKeys(w, []));
    expect(await reason(token({ sub: 'fan', aud: 'alice' }))).toMatch(/^token-invalid: no HS256 key is configured/);
  });

  it('refuses banned viewers and addresses (channel and global), ignoring bans that ended', async () => {
    await set((w) => putChannel(w, 'alice', { access: 'private', externalId: 'site-alice' }));
    const owner = token({ sub: 'site-alice', aud: 'alice' });
    await set((w) => putBan(w, 'alice', 7, { kind: 'ip', value: '192.0.2.0/24', until: null }));
    expect(rule(await admit('streams+alice', { token: owner, ip: '192.0.2.200' }))).toBe('refuse ban-ip');
    expect(rule(await admit('streams+alice', { token: owner, ip: '198.51.100.1' }))).toBe('admit owner');
    const unparsable = await admit('streams+alice', { token: owner, ip: 'not-an-address' });
    expect(rule(unparsable)).toBe('refuse ban-ip');
    await set((w) => putBan(w, null, 9, { kind: 'viewer', value: 'site-alice', until: null }));
    const v = await admit('streams+alice', { token: owner, ip: '198.51.100.1' });
    expect(rule(v)).toBe('refuse ban-viewer');
    expect(v.channel === null ? '' : v.decision.reason).toBe('viewer is banned (global ban #9)');
    await set((w) => putBan(w, null, 9, { kind: 'viewer', value: 'site-alice', until: NOW - 1 }));
    expect(rule(await admit('streams+alice', { token: owner, ip: '198.51.100.1' }))).toBe('admit owner');
    await set((w) => putBan(w, null, 10, { kind: 'ip', value: '2001:db8::/32', until: NOW + 60_000 }));
    expect(rule(await admit('streams+alice', { ip: '2001:db8::1' }))).toBe('refuse ban-ip');
  });

  it('keeps IPv4 viewers out of an IPv6 ban, and refuses while a replicated ban range does not parse', async () => {
    await set((w) => putBan(w, null, 11, { kind: 'ip', value: '::/0', until: null }));
    expect(rule(await admit('streams+alice', { ip: '2001:db8::1' }))).toBe('refuse ban-ip');
    expect(rule(await admit('streams+alice', { ip: '192.0.2.1' }))).toBe('admit public');
    await set((w) => putBan(w, 'alice', 12, { kind: 'ip', value: '192.0.2.0/33', until: null }));
    const v = await admit('streams+alice', { ip: '192.0.2.1' });
    expect(rule(v)).toBe('refuse ban-ip');
    expect(v.channel === null ? '' : v.decision.reason).toBe("channel ban #12 holds an invalid address range; see 'streamctl ban list'");
  });

  it('refuses a disabled user, and a channel whose policy row is missing on the origin', async () => {
    await set((w) => putChannel(w, 'alice', { disabled: true }));
    expect(rule(await admit('streams+alice'))).toBe('refuse channel-disabled');
    await set((w) => putChannel(w, 'alice', { access: null }));
    expect(rule(await admit('streams+alice'))).toBe('refuse no-policy');
  });

  it("plays recordings under their channel's policy (vod+<id> looked up first)", async () => {
    await set(async (w) => {
      await putChannel(w, 'alice', { access: 'private', externalId: 'site-alice' });
      await putVod(w, 'abcdefghijklmnop', 'alice');
    });
    expect(rule(await admit('vod+abcdefghijklmnop'))).toBe('refuse no-token');
    expect(rule(await admit('vod+ABCDEFGHIJKLMNOP', { token: token({ sub: 'site-alice', aud: 'alice' }) }))).toBe('admit owner');
    // A recording not (or no longer) replicated is not a channel: unknown-stream-access decides.
    expect(rule(await admit('vod+zzzzzzzzzzzzzzzz'))).toBe('refuse (not a channel: not a channel (unknown-stream-access is refuse))');
  });

  it('treats streams that are not channels like the origin: placeholders admitted, the rest by unknown-stream-access', async () => {
    expect(rule(await admit('streams+nobody'))).toBe('refuse (not a channel: not a channel (unknown-stream-access is refuse))');
    expect(rule(await admit('other+alice'))).toBe('refuse (not a channel: not a channel (unknown-stream-access is refuse))');
    expect(rule(await admit('vod'))).toBe('admit (not a channel: a placeholder stream)');
    await set((w) => putSettings(w, { 'offline-stream': 'offline', 'unknown-stream-access': 'allow', 'stream-base': 'live' }));
    expect(rule(await admit('offline'))).toBe('admit (not a channel: a placeholder stream)');
    expect(rule(await admit('live+alice'))).toBe('admit public');
    expect(rule(await admit('streams+alice'))).toBe('admit (not a channel: not a channel (unknown-stream-access is allow))');
  });

  it('claims places under the viewer cap on the primary: a session keeps its place, stale places stop counting', async () => {
    await set((w) => putChannel(w, 'alice', { viewerCap: 2 }));
    expect(rule(await admit('streams+alice', { session: 1 }))).toBe('admit public');
    expect(rule(await admit('streams+alice', { session: 2 }))).toBe('admit public');
    expect(rule(await admit('streams+alice', { session: 3 }))).toBe('refuse viewer-cap');
    expect(rule(await admit('streams+alice', { session: 1 }))).toBe('admit public'); // a re-check
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(2);
    // A place not seen for viewer-session-stale (a lost USER_END) is removed by the next claim.
    await pair.writer.call('HSET', keys.cap('alice'), SESSION(2), String(NOW - 7 * 3600_000));
    expect(rule(await admit('streams+alice', { session: 3 }))).toBe('admit public');
    expect(((await pair.writer.call('HKEYS', keys.cap('alice'))) as string[]).sort()).toEqual([SESSION(1), SESSION(3)]);
    // Refused sessions never take a place.
    await set((w) => putBan(w, 'alice', 1, { kind: 'ip', value: '203.0.113.0/24', until: null }));
    await pair.writer.call('DEL', keys.cap('alice'));
    expect(rule(await admit('streams+alice', { session: 4, ip: '203.0.113.5' }))).toBe('refuse ban-ip');
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(0);
  });

  it('throws (so the trigger refuses) when the replica holds no settings or a value of the wrong shape', async () => {
    await set((w) => w.call('DEL', keys.settings).then(() => undefined));
    await expect(admit('streams+alice')).rejects.toThrow(
      "replicated sc:settings is missing (never synced? run 'streamctl edge resync' on the origin)",
    );
    await set(async (w) => {
      await putSettings(w);
      await w.call('SET', keys.channel('alice'), '{"broken"');
    });
    await expect(admit('streams+alice')).rejects.toThrow('replicated sc:chan:alice is not JSON');
    await set(async (w) => {
      await putChannel(w, 'alice', { access: 'private' });
      await w.call('HSET', keys.channelBans('alice'), '3', '{"kind":"everything"}');
    });
    await expect(admit('streams+alice')).rejects.toThrow('replicated sc:bans:alice field 3 is not a ban');
  });
});
