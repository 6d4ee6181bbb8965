// One count per channel wherever the viewer lands: the origin's own USER_NEW claims
// viewer-cap and viewer-sessions places on the Redis primary, in the same hashes as the edges', and
// its USER_END frees them there. In process: the origin's SQLite in memory, a real primary + replica.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitOnEdge, type EdgeRedis } from '../../src/edge/admit';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys } from '../../src/replica/schema';
import userEnd from '../../src/triggers/user-end';
import userNew from '../../src/triggers/user-new';
import { addUser, cli } from '../support/cli';
import { memoryDb } from '../support/db';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { clearReplicated, putChannel, putSettings, startReplicaPair, type ReplicaPair } from '../support/replica';
import { answer, fakeContext } from '../support/trigger';

if (!REDIS_SERVER) console.log(NO_REDIS);

const sid = () => randomBytes(32).toString('hex');
const payload = (session: string, lines: 6 | 7 = 7) =>
  ['streams+alice', '127.0.0.1', '1234', 'HLS', 'http://x/hls/streams+alice/index.m3u8', session, ...(lines === 7 ? ['false'] : [])].join(
    '\n',
  );

describe.skipIf(!REDIS_SERVER)('the viewer cap on an origin with edges', () => {
  let pair: ReplicaPair;
  const opened: Promise<RedisClient>[] = [];
  let edge: EdgeRedis;
  const saved = { role: process.env.STREAMCTL_ROLE, primary: process.env.STREAMCTL_REDIS_PRIMARY };
  beforeAll(async () => {
    pair = await startReplicaPair();
    edge = {
      replica: () => (opened.push(connectRedis(pair.replica.socket)), opened.at(-1)!),
      primary: (timeoutMs) => (opened.push(connectRedis(pair.primaryTarget, { timeoutMs: Math.max(timeoutMs, 2000) })), opened.at(-1)!),
    };
    process.env.STREAMCTL_ROLE = 'origin';
    process.env.STREAMCTL_REDIS_PRIMARY = pair.primaryTarget;
  });
  afterAll(async () => {
    for (const [k, v] of [
      ['STREAMCTL_ROLE', saved.role],
      ['STREAMCTL_REDIS_PRIMARY', saved.primary],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    for (const c of opened) (await c.catch(() => undefined))?.close();
    await pair?.stop();
  });

  it("counts the origin's and the edges' viewers once (cap 2: 2 in all), a re-check after lowering the cap keeps the earliest, USER_END frees the place", async () => {
    const db = memoryDb();
    await addUser(db, 'alice');
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '2'])).status).toBe(0);
    await clearReplicated(pair.writer);
    await putSettings(pair.writer);
    await putChannel(pair.writer, 'alice', { viewerCap: 2 });
    await pair.synced();
    const [a, b] = [sid(), sid()];
    expect((await answer(userNew, db, payload(a))).answer).toBe('true');
    await new Promise((r) => setTimeout(r, 3));
    const onEdge = await admitOnEdge(edge, { stream: 'streams+alice', ip: '198.51.100.7', token: '99', sessionId: b }, Date.now());
    expect(onEdge.allow).toBe(true);
    // Full: the origin refuses the third, the edge a fourth.
    const third = await answer(userNew, db, payload(sid()));
    expect(third.answer).toBe('false');
    expect(third.lines).toEqual([expect.stringMatching(/\[viewer-cap\]/)]);
    expect(
      (await admitOnEdge(edge, { stream: 'streams+alice', ip: '198.51.100.8', token: '98', sessionId: sid() }, Date.now())).allow,
    ).toBe(false);
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(2);
    // Lowered to 1 and re-checked: the earliest (on the origin) stays, the newest (on the edge) goes.
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '1'])).status).toBe(0);
    await putChannel(pair.writer, 'alice', { viewerCap: 1 });
    await pair.synced();
    expect((await answer(userNew, db, payload(a, 6))).answer).toBe('true');
    expect(
      (await admitOnEdge(edge, { stream: 'streams+alice', ip: '198.51.100.7', token: '99', sessionId: b, firstCheck: false }, Date.now()))
        .allow,
    ).toBe(false);
    // USER_END on the origin frees its place on the primary.
    const ctx = fakeContext(db);
    const work: Promise<unknown>[] = [];
    ctx.background = (w) => void work.push(w);
    const end = ['tkn', 'streams+alice', 'HLS', '127.0.0.1', '30', '1000', '10', '[UA:curl]', '30', '30', '30', a].join('\n');
    await userEnd.decide(userEnd.parse(end), ctx);
    await Promise.all(work);
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(0);
  });

  it('refuses when the primary cannot be reached (fail closed)', async () => {
    const db = memoryDb();
    await addUser(db, 'alice');
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '5'])).status).toBe(0);
    process.env.STREAMCTL_REDIS_PRIMARY = '127.0.0.1:9';
    try {
      const r = await answer(userNew, db, payload(sid()));
      expect(r.answer).toBe('false');
      expect(r.lines.join('\n')).toMatch(/Redis primary/);
    } finally {
      process.env.STREAMCTL_REDIS_PRIMARY = pair.primaryTarget;
    }
  });
});
