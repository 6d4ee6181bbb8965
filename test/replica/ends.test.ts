// Viewer session ends from the edges: the edge's USER_END (in process, real capture 32c) appends
// the totals to sc:ends on a real Redis, the origin's relay stores them in viewer_sessions like the
// one-box USER_END, trims the list only after storing, stores a replay once, and skips a malformed
// entry with a line instead of blocking the list.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { drainSessionEnds, readSessionEnd, sessionEndCommand } from '../../src/replica/ends';
import { keys } from '../../src/replica/schema';
import type { Db } from '../../src/store/open';
import edgeUserEnd from '../../src/triggers/edge-user-end';
import { parseUserEnd } from '../../src/triggers/user-end-payload';
import { fixture, fixtureEnv } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row, rows } from '../support/db';
import { NO_REDIS, REDIS_SERVER, startRedis, type TestRedis } from '../support/redis';

if (!REDIS_SERVER) console.log(NO_REDIS);

const payload = fixture('32c-push-end/USER_END-1');
const env = fixtureEnv('32c-push-end/USER_END-1');
const endTime = Number(env.MIST_TIME);
const sessionId = payload.split('\n')[11]!;

describe.skipIf(!REDIS_SERVER)('session ends from the edges', () => {
  let redis: TestRedis;
  let client: RedisClient;
  let db: Db;
  beforeAll(async () => {
    redis = await startRedis();
    client = await connectRedis(redis.socket, { timeoutMs: 5000 });
  });
  afterAll(async () => {
    delete process.env.STREAMCTL_REDIS_PRIMARY;
    client?.close();
    await redis?.stop();
  });
  beforeEach(async () => {
    await client.call('DEL', keys.sessionEnds);
    db = memoryDb();
    await addUser(db, 'alice');
    process.env.STREAMCTL_REDIS_PRIMARY = redis.socket;
  });

  /** The edge's USER_END as its runner runs it: parse, decide, then the background work. */
  async function edgeEnd(text: string, time: number, eventId: string): Promise<string[]> {
    const work: Promise<unknown>[] = [];
    const lines: string[] = [];
    edgeUserEnd.decide(edgeUserEnd.parse(text), {
      now: Date.now(),
      eventTime: time,
      eventId,
      log: (l) => void lines.push(l),
      debug: () => {},
      background: (w) => void work.push(w),
      redis: { replica: async () => client, primary: async () => client },
    });
    await Promise.all(work);
    return lines;
  }

  it("the edge appends the session's totals (never its token); the relay stores them and empties the list", async () => {
    expect(await edgeEnd(payload, endTime, env.MIST_TUUID ?? 'end-1')).toEqual([]);
    const [entry] = (await client.call('LRANGE', keys.sessionEnds, 0, -1)) as string[];
    const token = payload.split('\n')[0]!;
    expect(token.length).toBeGreaterThan(3);
    expect(entry).not.toContain(token);
    expect(readSessionEnd(entry!)).toMatchObject({ sessionId, seconds: 3, bytesUp: 476737, time: endTime });

    const out = await cliJson(db, ['edge', 'relay', '--once']);
    expect(out).toMatchObject({ session_ends: 1, failures: 0 });
    expect(row(db, 'SELECT closed_at, seconds, bytes_up, stream FROM viewer_sessions WHERE session_id = ?', sessionId)).toEqual({
      closed_at: endTime,
      seconds: 3,
      bytes_up: 476737,
      stream: 'streams+alice',
    });
    expect(await client.call('LLEN', keys.sessionEnds)).toBe(0);
  });

  it('a replay (the relay died before trimming, or the edge sent it twice) is stored once', async () => {
    const value = { ...parseUserEnd(payload), time: endTime, eventId: 'end-1' };
    await client.pipeline([sessionEndCommand(value), sessionEndCommand(value)]);
    await cliJson(db, ['edge', 'relay', '--once']);
    await client.call(...sessionEndCommand(value));
    await cliJson(db, ['edge', 'relay', '--once']);
    expect(rows(db, 'SELECT session_id FROM session_ends')).toHaveLength(1);
    expect(row(db, 'SELECT seconds FROM viewer_sessions WHERE session_id = ?', sessionId)).toEqual({ seconds: 3 });
  });

  it('entries stay in Redis when storing fails, and entries added meanwhile are kept by the trim', async () => {
    const value = { ...parseUserEnd(payload), time: endTime, eventId: 'end-1' };
    await client.call(...sessionEndCommand(value));
    await expect(
      drainSessionEnds(client, () => {
        throw new Error('database is locked');
      }),
    ).rejects.toThrow('locked');
    expect(await client.call('LLEN', keys.sessionEnds)).toBe(1);
    const later = { ...value, eventId: 'end-2', time: endTime + 1000 };
    const n = await drainSessionEnds(client, () => void client.call(...sessionEndCommand(later)));
    expect(n).toBe(1);
    expect(((await client.call('LRANGE', keys.sessionEnds, 0, -1)) as string[]).map((e) => readSessionEnd(e)?.eventId)).toEqual(['end-2']);
  });

  it('a malformed entry is skipped with one line, the rest stored', async () => {
    const value = { ...parseUserEnd(payload), time: endTime, eventId: 'end-1' };
    await client.pipeline([
      ['RPUSH', keys.sessionEnds, 'not json'],
      ['RPUSH', keys.sessionEnds, JSON.stringify({ ...value, seconds: -1 })],
      sessionEndCommand(value),
    ]);
    const r = await cli(db, ['edge', 'relay', '--once']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('skipped 2 malformed session end(s) from the edges');
    expect(rows(db, 'SELECT session_id FROM session_ends')).toHaveLength(1);
    expect(await client.call('LLEN', keys.sessionEnds)).toBe(0);
  });

  it('resync and check leave the list alone', async () => {
    await client.call(...sessionEndCommand({ ...parseUserEnd(payload), time: endTime, eventId: 'end-1' }));
    await cliJson(db, ['edge', 'resync']);
    expect(await client.call('LLEN', keys.sessionEnds)).toBe(1);
    expect((await cli(db, ['edge', 'check'])).status).toBe(0);
  });
});
