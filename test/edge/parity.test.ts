// The edge decides as the origin does: every combination of policy, token and ban below is decided
// by the one-box decideAccess over SQLite and by the edge's admitOnEdge over the same data mirrored
// into a Redis replica by the relay's own publishing code (src/replica/publish.ts), and the two
// must name the same rule; both read stream names alike (case, "+", bases).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideAccess } from '../../src/access/decide';
import { checkToken, playbackJwt, type TokenCheck } from '../../src/access/token';
import { admitOnEdge } from '../../src/edge/admit';
import type { EdgeRedis } from '../../src/edge/edge-redis';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { commandsFor, fullState } from '../../src/replica/publish';
import { channelForStream } from '../../src/live/stream-channel';
import { insertBan } from '../../src/store/bans';
import { updateChannel } from '../../src/store/channels';
import { upsertGrant } from '../../src/store/grants';
import type { Db } from '../../src/store/open';
import { findUserByName } from '../../src/store/users';
import { addUser, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { clearReplicated, hs256, startReplicaPair, type ReplicaPair } from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);

/** Writes the origin's admission data into Redis through the relay's own publishing code (replica/publish.ts). */
async function mirror(db: Db, w: RedisClient): Promise<void> {
  await clearReplicated(w);
  const cmds = [...fullState(db, NOW).values()].flatMap(commandsFor);
  for (const r of await w.pipeline(cmds)) if (r instanceof Error) throw r;
}

describe.skipIf(!REDIS_SERVER)('the edge and the origin decide alike', () => {
  let pair: ReplicaPair;
  let replica: RedisClient;
  let redis: EdgeRedis;
  beforeAll(async () => {
    pair = await startReplicaPair();
    replica = await connectRedis(pair.replica.socket);
    redis = { replica: async () => replica, primary: async () => pair.writer };
  });
  afterAll(async () => {
    replica?.close();
    await pair?.stop();
  });

  it('names the same rule for every policy × token × ban combination', async () => {
    const db = memoryDb();
    await addUser(db, 'alice', '--external-id', 'site-alice');
    const alice = findUserByName(db, 'alice')!;
    const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
    upsertGrant(db, { userId: alice.id, viewer: 'fan', until: null, now: NOW });
    upsertGrant(db, { userId: alice.id, viewer: 'lapsed', until: NOW - 1000, now: NOW });

    const t = (claims: object, key = secret) => hs256(key, { aud: 'alice', exp: NOW_S + 600, ...claims });
    const tokens: Record<string, string> = {
      none: '482388719',
      owner: t({ sub: 'site-alice' }),
      'owner by name': t({ sub: 'alice' }),
      fan: t({ sub: 'fan' }),
      lapsed: t({ sub: 'lapsed' }),
      paying: t({ sub: 'stranger', ent: ['paid'] }),
      adult: t({ sub: 'stranger', age_verified: true, age: 30 }),
      'bare age_verified': t({ sub: 'stranger', age_verified: true }),
      kid: t({ sub: 'kid', age_verified: true, age: 15 }),
      forged: t({ sub: 'fan' }, 'not-the-secret'),
      expired: t({ sub: 'fan', exp: NOW_S - 300 }),
      'other channel': t({ sub: 'fan', aud: 'bob' }),
      'too long': t({ sub: 'fan', exp: NOW_S + 30 * 86400 }),
    };
    const policies: [string, () => void][] = [
      ['public', () => updateChannel(db, alice.id, { access: 'public', passwordHash: null }, NOW)],
      ['password, none set', () => updateChannel(db, alice.id, { access: 'password', passwordHash: null }, NOW)],
      ['password', () => updateChannel(db, alice.id, { access: 'password', passwordHash: 'scrypt$stand-in' }, NOW)],
      ['paid', () => updateChannel(db, alice.id, { access: 'paid' }, NOW)],
      ['age 21', () => updateChannel(db, alice.id, { access: 'age', minAge: 21 }, NOW)],
      ['age default', () => updateChannel(db, alice.id, { access: 'age', minAge: null }, NOW)],
      ['private', () => updateChannel(db, alice.id, { access: 'private' }, NOW)],
    ];
    const bans: [string, () => void][] = [
      ['no ban', () => db.prepare('DELETE FROM bans').run()],
      ['address ban', () => insertBan(db, { userId: alice.id, kind: 'ip', value: '198.51.100.0/24', reason: null, until: null, now: NOW })],
      [
        'global viewer ban on fan',
        () => insertBan(db, { userId: null, kind: 'viewer', value: 'fan', reason: null, until: NOW + 60_000, now: NOW }),
      ],
      [
        'ended ban on the owner',
        () => insertBan(db, { userId: alice.id, kind: 'viewer', value: 'site-alice', reason: null, until: NOW - 1, now: NOW }),
      ],
    ];

    const mismatches: string[] = [];
    const seen = new Set<string>();
    let compared = 0;
    for (const [policyName, setPolicy] of policies) {
      setPolicy();
      for (const [banName, addBan] of bans) {
        db.prepare('DELETE FROM bans').run();
        addBan();
        await mirror(db, pair.writer);
        await pair.synced();
        for (const [tokenName, line] of Object.entries(tokens)) {
          for (const ip of ['198.51.100.7', '203.0.113.9']) {
            const found = playbackJwt(line);
            const token: TokenCheck = found ? await checkToken(db, found.jwt, 'alice', NOW) : { state: 'none' };
            const origin = decideAccess(db, { channel: { userId: alice.id, userName: 'alice', disabled: false }, ip, token, now: NOW });
            const edge = await admitOnEdge(redis, { stream: 'streams+alice', ip, token: line, sessionId: 'e'.repeat(64) }, NOW);
            const o = `${origin.allow ? 'admit' : 'refuse'} ${origin.rule}: ${origin.reason}`;
            const e =
              edge.channel === null
                ? `not a channel: ${edge.why}`
                : `${edge.allow ? 'admit' : 'refuse'} ${edge.decision.rule}: ${edge.decision.reason}`;
            if (o !== e) mismatches.push(`${policyName} / ${banName} / ${tokenName} / ${ip}: origin "${o}", edge "${e}"`);
            seen.add(origin.rule);
            compared++;
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBe(policies.length * bans.length * Object.keys(tokens).length * 2);
    // The table reaches every rule it is meant to compare (a table that only ever admits proves little).
    expect([...seen].sort()).toEqual(
      [
        'age-not-verified',
        'age-verified',
        'ban-ip',
        'ban-viewer',
        'entitlement',
        'grant',
        'no-password',
        'no-token',
        'not-entitled',
        'not-on-allow-list',
        'owner',
        'public',
        'token',
        'token-invalid',
      ].sort(),
    );
  });

  it('reads the same channel from every spelling of a stream name', async () => {
    const db = memoryDb();
    await addUser(db, 'alice');
    await addUser(db, 'bob_2');
    await mirror(db, pair.writer);
    await pair.synced();
    const streams = [
      'streams+alice',
      'Streams+alice',
      'STREAMS+ALICE',
      'streams+Bob_2',
      'streams+alice+x',
      'streams+',
      'streams',
      '+alice',
      'other+alice',
      'streams+nobody',
      'streams+al.ice',
      `streams+${'a'.repeat(33)}`,
      'vod+alice',
    ];
    const mismatches: string[] = [];
    for (const stream of streams) {
      const origin = channelForStream(db, stream, 'streams')?.userName ?? null;
      const edge = (await admitOnEdge(redis, { stream, ip: '203.0.113.9', token: '1', sessionId: 'e'.repeat(64) }, NOW)).channel;
      if (origin !== edge) mismatches.push(`${JSON.stringify(stream)}: origin ${origin}, edge ${edge}`);
    }
    expect(mismatches).toEqual([]);
    expect(streams.filter((st) => channelForStream(db, st, 'streams') !== null)).toEqual([
      'streams+alice',
      'Streams+alice',
      'STREAMS+ALICE',
      'streams+Bob_2',
    ]);
  });
});
