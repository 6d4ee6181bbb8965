// The origin's relay and resync against a real redis-server (unix socket in a temp dir): changes
// made through the CLI reach Redis as src/replica/schema.ts lays them out, Redis then equals
// SQLite (compare.ts), resync is idempotent and removes what is gone, a replay after a crash
// between EXEC and the outbox delete changes nothing, and changes made while Redis is down arrive
// once it is back.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { compareWithRedis } from '../../src/replica/compare';
import { publishPending, PublishConflict, resync, runRelay } from '../../src/replica/relay';
import { UNTAG_SETTLE_MS, untagSettle } from '../../src/mist/stream-tags';
import { keys } from '../../src/replica/schema';
import { openForCli, type Db } from '../../src/store/open';
import { applyEdgeEffects, EdgeRetryQueue, retryEdgeEffects } from '../../src/live/edge-session-effects';
import { startFakeMist } from '../support/fake-mist';
import { record } from '../recordings/support';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row, rows } from '../support/db';
import { NO_REDIS, REDIS_SERVER, startRedis, type TestRedis } from '../support/redis';
import { waitUntil } from '../support/wait';
import { baseEnv, BIN, freshDb } from '../support/helpers';
import { watchTransactions } from '../support/transactions';
import { syncSite } from '../../src/site/sync';

/** A redis-server on a fixed socket path that can be stopped and started again on it. */
class Server {
  readonly dir = mkdtempSync(join(tmpdir(), 'streamctl-relay-'));
  readonly socket = join(this.dir, 'r.sock');
  private redis: TestRedis | undefined;

  async start(): Promise<void> {
    this.redis = await startRedis([], this.dir);
  }

  async stop(): Promise<void> {
    await this.redis?.kill();
  }

  async destroy(): Promise<void> {
    await this.redis?.stop();
  }
}

async function ok(db: Db, ...args: string[]): Promise<string> {
  const r = await cli(db, args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function hgetall(c: RedisClient, key: string): Promise<Record<string, string>> {
  const flat = (await c.call('HGETALL', key)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

const pendingCount = (db: Db) => row<{ n: number }>(db, 'SELECT count(*) AS n FROM replication_outbox')!.n;

describe.skipIf(!REDIS_SERVER)('relay and resync against a real Redis', () => {
  const server = new Server();
  let client: RedisClient;
  let db: Db;
  afterAll(() => server.destroy());

  beforeEach(async () => {
    await server.start();
    client = await connectRedis(server.socket, { timeoutMs: 5000 });
    db = memoryDb();
    // The test's CLI runs find the primary as an installed origin would.
    process.env.STREAMCTL_REDIS_PRIMARY = server.socket;
  });
  afterEach(async () => {
    delete process.env.STREAMCTL_REDIS_PRIMARY;
    client.close();
    await server.stop();
  });

  /** A channel database with something of every entity, replication on and resynced. */
  async function populated(): Promise<void> {
    await addUser(db, 'alice', '--external-id', 'site-1');
    await addUser(db, 'bob');
    await ok(db, 'channel', 'set', 'alice', '--access', 'paid', '--viewer-cap', '2');
    await ok(db, 'grant', 'add', 'alice', 'v1');
    await ok(db, 'ban', 'add', '--ip', '203.0.113.0/24');
    await ok(db, 'ban', 'add', '--viewer', 'troll', '--channel', 'bob');
    await ok(db, 'token', 'secret');
    await ok(db, 'config', 'set', 'token-max-ttl', '2h');
    expect(await cliJson(db, ['edge', 'resync'])).toMatchObject({ replication_turned_on: true, deleted: 0 });
  }

  it('changes made through the CLI reach Redis as the key layout says, and Redis then equals SQLite', async () => {
    await populated();
    expect(pendingCount(db)).toBe(0);
    await ok(db, 'user', 'disable', 'bob');
    await ok(db, 'ban', 'add', '--viewer', 'spammer', '--channel', 'alice', '--until', '1h');
    await ok(db, 'grant', 'add', 'alice', 'v2', '--until', '7d');
    await ok(db, 'config', 'set', 'unknown-stream-access', 'allow');
    expect(pendingCount(db)).toBe(4);
    expect((await compareWithRedis(db, client, Date.now())).same).toBe(false);

    const out = await cliJson(db, ['edge', 'relay', '--once']);
    expect(out).toMatchObject({ rows: 4, entities: 4, failures: 0 });
    expect(pendingCount(db)).toBe(0);

    const bob = JSON.parse((await client.call('GET', keys.channel('bob'))) as string);
    expect(bob).toMatchObject({ name: 'bob', disabled: true, access: 'public', viewerCap: null, passwordSet: false });
    const alice = JSON.parse((await client.call('GET', keys.channel('alice'))) as string);
    expect(alice).toMatchObject({ name: 'alice', externalId: 'site-1', access: 'paid', viewerCap: 2, disabled: false });
    const aliceBans = Object.values(await hgetall(client, keys.channelBans('alice'))).map((v) => JSON.parse(v));
    expect(aliceBans).toEqual([{ kind: 'viewer', value: 'spammer', until: expect.any(Number) }]);
    expect(Object.values(await hgetall(client, keys.globalBans)).map((v) => JSON.parse(v))).toEqual([
      { kind: 'ip', value: '203.0.113.0/24', until: null },
    ]);
    expect(Object.keys(await hgetall(client, keys.grants('alice'))).sort()).toEqual(['v1', 'v2']);
    expect(JSON.parse((await client.call('GET', keys.settings)) as string)).toMatchObject({
      'unknown-stream-access': 'allow',
      'token-max-ttl': '2h',
    });
    const tokenKeys = JSON.parse((await client.call('GET', keys.tokenKeys)) as string);
    expect(tokenKeys).toEqual([expect.objectContaining({ kind: 'secret', alg: 'HS256', retiredAt: null })]);
    expect(await hgetall(client, keys.meta)).toMatchObject({ outbox: expect.stringMatching(/^\d+$/) });

    const cmp = await compareWithRedis(db, client, Date.now());
    expect(cmp.differences).toEqual([]);
    expect(cmp.sqlite.digest).toBe(cmp.redis.digest);
    expect(cmp.sqlite.counts).toEqual({ settings: 1, keys: 1, channels: 2, bans: 3, grants: 2, recordings: 0 });
    expect((await cli(db, ['edge', 'check'])).status).toBe(0);
  });

  it("a sync staging a big channel's grants: the relay run while the next set is built publishes the current set, after the switch the new one", async () => {
    // A database file, so that the real relay program can run between the sync's transactions.
    const path = freshDb();
    const file = openForCli(path);
    try {
      await addUser(file, 'alice');
      await ok(file, 'grant', 'add', 'alice', 'v1');
      await ok(file, 'edge', 'resync');
      await ok(file, 'grant', 'add', 'alice', 'v2'); // queued, not yet published
      const relay = () => {
        const r = spawnSync(join(BIN, 'streamctl'), ['edge', 'relay', '--once'], {
          env: baseEnv({ STREAMCTL_DB: path, STREAMCTL_REDIS_PRIMARY: server.socket }),
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
      };
      // After the sync's third transaction (the first staged batch) and its fourth: a relay runs.
      watchTransactions(file, (n) => (n === 3 || n === 4) && relay());
      const grants = Array.from({ length: 300 }, (_, i) => ({ viewer: `w${i}` }));
      syncSite(file, { channels: [{ user: 'alice', grants }] }, { now: Date.now(), batchRows: 100 });
      // What the edges got meanwhile: the current set, never a part of the next one.
      expect(Object.keys(await hgetall(client, keys.grants('alice'))).sort()).toEqual(['v1', 'v2']);
      relay();
      expect(Object.keys(await hgetall(client, keys.grants('alice'))).sort()).toEqual(grants.map((g) => g.viewer).sort());
      expect((await compareWithRedis(file, client, Date.now())).same).toBe(true);
    } finally {
      file.close();
    }
  });

  it('a removed user, a lifted ban, a removed grant and a retired key leave Redis too', async () => {
    await populated();
    await ok(db, 'grant', 'add', 'alice', 'v3');
    await ok(db, 'edge', 'relay', '--once');
    await ok(db, 'user', 'remove', 'bob', '--yes');
    await ok(db, 'ban', 'remove', '1');
    await ok(db, 'grant', 'remove', 'alice', 'v1');
    await ok(db, 'token', 'secret', '--grace', '0s');
    await ok(db, 'edge', 'relay', '--once');
    for (const key of [keys.channel('bob'), keys.channelBans('bob'), keys.globalBans])
      expect(await client.call('EXISTS', key), key).toBe(0);
    // The hash is rewritten whole: the removed viewer's field does not survive beside the other.
    expect(await hgetall(client, keys.grants('alice'))).toEqual({ v3: '' });
    // The old secret stopped verifying at once: only the new one is replicated.
    const tokenKeys = JSON.parse((await client.call('GET', keys.tokenKeys)) as string) as { id: number }[];
    expect(tokenKeys.map((k) => k.id)).toEqual([2]);
    expect((await compareWithRedis(db, client, Date.now())).same).toBe(true);
  });

  it('bans and grants that ended are left out; once ended in Redis too they are no difference, and resync drops them', async () => {
    await populated();
    // Ends a minute from now (the relay publishes it however slow the machine); "after it ended" is
    // a clock handed to the comparison and the resync, not a wall-clock wait.
    const soon = Date.now() + 60_000;
    const alice = row<{ id: number }>(db, "SELECT id FROM users WHERE name = 'alice'")!.id;
    db.prepare("INSERT INTO bans (user_id, kind, value, until, created_at) VALUES (?, 'viewer', 'brief', ?, 0)").run(alice, soon);
    db.prepare("INSERT INTO bans (user_id, kind, value, until, created_at) VALUES (?, 'viewer', 'over', ?, 0)").run(alice, Date.now() - 1);
    db.prepare("INSERT INTO access_grants (user_id, viewer, until, created_at) VALUES (?, 'gone', ?, 0)").run(alice, Date.now() - 1);
    await ok(db, 'edge', 'relay', '--once');
    expect(Object.values(await hgetall(client, keys.channelBans('alice'))).map((v) => JSON.parse(v).value)).toEqual(['brief']);
    expect(Object.keys(await hgetall(client, keys.grants('alice')))).toEqual(['v1']);
    const later = soon + 20;
    expect(await client.call('HLEN', keys.channelBans('alice'))).toBe(1);
    expect((await compareWithRedis(db, client, later)).same).toBe(true);
    await resync(db, client, () => later);
    expect(await client.call('EXISTS', keys.channelBans('alice'))).toBe(0);
  });

  it('resync is idempotent (same digest twice) and removes keys of entities gone, never the cap hashes', async () => {
    await populated();
    const first = await compareWithRedis(db, client, Date.now());
    expect(first.same).toBe(true);
    await client.pipeline([
      ['SET', keys.channel('ghost'), '{}'],
      ['HSET', keys.channelBans('ghost'), '9', '{}'],
      ['SET', keys.vod('aaaaaaaaaaaaaaaa'), 'ghost'],
      ['HSET', keys.cap('alice'), 'f'.repeat(64), String(Date.now())],
    ]);
    const dirty = await compareWithRedis(db, client, Date.now());
    expect(dirty.differences).toEqual([
      { key: keys.channelBans('ghost'), problem: 'not in SQLite' },
      { key: keys.channel('ghost'), problem: 'not in SQLite' },
      { key: keys.vod('aaaaaaaaaaaaaaaa'), problem: 'not in SQLite' },
    ]);
    const check = await cli(db, ['edge', 'check']);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('sc:chan:ghost: not in SQLite');

    const again = await cliJson(db, ['edge', 'resync']);
    expect(again).toMatchObject({ replication_turned_on: false, deleted: 3 });
    const second = await compareWithRedis(db, client, Date.now());
    expect(second.same).toBe(true);
    expect(second.redis.digest).toBe(first.redis.digest);
    expect(await client.call('HLEN', keys.cap('alice'))).toBe(1);
    const third = await cliJson(db, ['edge', 'resync']);
    expect(third).toMatchObject({ deleted: 0, written: again.written });
    expect((await compareWithRedis(db, client, Date.now())).redis.digest).toBe(first.redis.digest);
  });

  it('a recording reaches Redis as its channel (sc:vod) and its file relative to recordings-root (sc:vodfile), and leaves with it', async () => {
    await addUser(db, 'alice');
    const root = join(server.dir, 'recordings');
    await ok(db, 'config', 'set', 'recordings-root', root);
    await cliJson(db, ['edge', 'resync']);
    const alice = row<{ id: number }>(db, "SELECT id FROM users WHERE name = 'alice'")!.id;
    const rec = record(db, root, alice, Math.floor(Date.now() / 1000) - 60);
    await publishPending(db, client, Date.now, () => []);
    expect(await client.call('GET', keys.vod(rec.id))).toBe('alice');
    expect(await client.call('GET', keys.vodFile(rec.id))).toBe(`${alice}/${rec.path.split('/').at(-1)}`);
    expect((await compareWithRedis(db, client, Date.now())).same).toBe(true);
    // The same from a resync (an edge that missed the relay's write).
    await client.call('DEL', keys.vodFile(rec.id));
    expect((await compareWithRedis(db, client, Date.now())).differences).toEqual([
      { key: keys.vodFile(rec.id), problem: 'missing in Redis' },
    ]);
    expect(await cliJson(db, ['edge', 'resync'])).toMatchObject({ keys: expect.objectContaining({ vod: 1, vodfile: 1 }) });
    expect(await client.call('GET', keys.vodFile(rec.id))).toBe(`${alice}/${rec.path.split('/').at(-1)}`);
    await ok(db, 'recordings', 'delete', rec.id, '--force');
    await publishPending(db, client, Date.now, () => []);
    expect(
      await client.pipeline([
        ['EXISTS', keys.vod(rec.id)],
        ['EXISTS', keys.vodFile(rec.id)],
      ]),
    ).toEqual([0, 0]);
  });

  it('a crash between EXEC and the outbox delete: publishing the same rows again changes nothing', async () => {
    await populated();
    await ok(db, 'channel', 'set', 'alice', '--access', 'private');
    await ok(db, 'ban', 'add', '--viewer', 'x', '--channel', 'alice');
    const queued = rows<{ id: number; entity: string; ref: string; at: number }>(db, 'SELECT * FROM replication_outbox ORDER BY id');
    expect(queued).toHaveLength(2);
    expect(await publishPending(db, client, Date.now, () => [])).toMatchObject({ rows: 2, entities: 2 });
    const after = await compareWithRedis(db, client, Date.now());
    // As if the process died after EXEC: the rows are still there.
    const put = db.prepare('INSERT INTO replication_outbox (id, entity, ref, at) VALUES (@id, @entity, @ref, @at)');
    for (const q of queued) put.run(q);
    expect(await publishPending(db, client, Date.now, () => [])).toMatchObject({ rows: 2 });
    const replayed = await compareWithRedis(db, client, Date.now());
    expect(replayed.same).toBe(true);
    expect(replayed.redis.digest).toBe(after.redis.digest);
    expect(pendingCount(db)).toBe(0);
  });

  it('a publish another publisher overtook is aborted by Redis and redone, never half applied', async () => {
    await populated();
    await ok(db, 'user', 'disable', 'alice');
    const other = await connectRedis(server.socket);
    // Another publisher's EXEC lands between this one's WATCH and EXEC.
    const sneaky: RedisClient = {
      call: (...a) => client.call(...a),
      pipeline: async (cmds) => {
        await other.call('HSET', keys.meta, 'outbox', '0');
        return client.pipeline(cmds);
      },
      close: () => {},
    };
    await expect(publishPending(db, sneaky, Date.now, () => [])).rejects.toBeInstanceOf(PublishConflict);
    other.close();
    expect(JSON.parse((await client.call('GET', keys.channel('alice'))) as string).disabled).toBe(false);
    expect(pendingCount(db)).toBe(1);
    expect(await publishPending(db, client, Date.now, () => [])).toMatchObject({ rows: 1 });
    expect(JSON.parse((await client.call('GET', keys.channel('alice'))) as string).disabled).toBe(true);
  });

  it('changes made while Redis is down stay queued and arrive once it is back', async () => {
    await populated();
    client.close();
    await server.stop();
    await ok(db, 'ban', 'add', '--viewer', 'late', '--channel', 'alice');
    await ok(db, 'channel', 'set', 'bob', '--access', 'private');
    // --once cannot wait: it fails, naming the problem, and loses nothing.
    const once = await cli(db, ['edge', 'relay', '--once']);
    expect(once.status).toBe(1);
    expect(once.stderr).toMatch(/could not publish to Redis .*stay queued/);
    expect(pendingCount(db)).toBe(2);

    // The long-running relay retries with a backoff while Redis is down.
    const stop = new AbortController();
    const log: string[] = [];
    const relay = runRelay({
      db,
      connect: () => connectRedis(server.socket, { timeoutMs: 2000 }),
      now: Date.now,
      liveChannels: () => [],
      log: (l) => log.push(l),
      signal: stop.signal,
      pollMs: 20,
    });
    await waitUntil('the relay to say the changes stay queued', () => log.some((l) => l.includes('stay queued')));
    expect(pendingCount(db)).toBe(2);
    expect(log.filter((l) => l.includes('stay queued'))).toHaveLength(1);
    // Redis comes back empty (it persisted nothing): only the queued changes arrive, and the check
    // says the rest is missing until a resync.
    await server.start();
    const deadline = Date.now() + 10_000;
    while (pendingCount(db) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    const totals = await relay;
    expect(pendingCount(db)).toBe(0);
    expect(totals.failures).toBeGreaterThan(0);
    expect(log.some((l) => l.includes('reachable again'))).toBe(true);
    client = await connectRedis(server.socket, { timeoutMs: 5000 });
    expect(Object.values(await hgetall(client, keys.channelBans('alice'))).map((v) => JSON.parse(v).value)).toEqual(['late']);
    expect(JSON.parse((await client.call('GET', keys.channel('bob'))) as string).access).toBe('private');
    await resync(db, client, Date.now);
    expect((await compareWithRedis(db, client, Date.now())).same).toBe(true);
  });

  it('turning replication on through config queues a full resync that the relay performs', async () => {
    await addUser(db, 'alice');
    await client.call('SET', keys.channel('stale'), '{}');
    await ok(db, 'config', 'set', 'replication', 'redis');
    expect(await cliJson(db, ['edge', 'relay', '--once'])).toMatchObject({ batches: 1, failures: 0 });
    expect(await client.call('EXISTS', keys.channel('stale'))).toBe(0);
    expect((await compareWithRedis(db, client, Date.now())).same).toBe(true);
  });

  it('edge status reports the queue and sc:meta', async () => {
    await populated();
    await ok(db, 'user', 'disable', 'alice');
    const s = await cliJson(db, ['edge', 'status']);
    expect(s).toMatchObject({
      replication: 'redis',
      redis: { reachable: true, error: null },
      outbox: { pending: 1 },
      meta: { synced_at: expect.any(String) },
    });
    expect(s.outbox.oldest_age_ms).toBeGreaterThanOrEqual(0);
  });

  it('after a ban the relay has each edge untag the channel, then re-check its viewers; a dead edge is logged', async () => {
    await populated();
    const edge = await startFakeMist();
    await ok(db, 'config', 'set', 'edges', `${edge.url}/api, http://127.0.0.1:9/api`);
    // bob is public and uncapped: before its ban it was open (tagged on the edges).
    await ok(db, 'ban', 'remove', '2');
    await ok(db, 'ban', 'remove', '1');
    await ok(db, 'edge', 'relay', '--once');
    edge.requests.length = 0;
    const started = Date.now();
    await ok(db, 'ban', 'add', '--viewer', 'troll', '--channel', 'bob');
    const r = await cli(db, ['edge', 'relay', '--once']);
    expect(r.status).toBe(0);
    expect(edge.requests.map((q) => Object.keys(q).filter((k) => k !== 'authorize'))).toEqual([['untag_stream'], ['invalidate_sessions']]);
    expect(edge.requests[0]!.untag_stream).toEqual({ 'streams+bob': 'open' });
    expect(edge.requests[1]!.invalidate_sessions).toBe('streams+bob');
    // The untag settles before the re-check (as on one box; test/support/setup.ts shortens the wait).
    expect(Date.now() - started).toBeGreaterThanOrEqual(untagSettle.ms);
    expect(UNTAG_SETTLE_MS).toBe(1000);
    expect(r.stderr).toMatch(/edge http:\/\/127\.0\.0\.1:9\/api: not applied to live sessions of streams\+bob/);
    // A policy change untags too (the channel may have been open whatever it is now).
    edge.requests.length = 0;
    await ok(db, 'channel', 'set', 'bob', '--access', 'private');
    await ok(db, 'edge', 'relay', '--once');
    expect(edge.requests.map((q) => Object.keys(q).filter((k) => k !== 'authorize'))).toEqual([['untag_stream'], ['invalidate_sessions']]);
    // A removed grant changes no openness: a re-check only, no tag and no wait. A new one admits
    // no one by itself: nothing is sent.
    const sent = () =>
      edge.requests.flatMap((q) =>
        Object.keys(q)
          .filter((k) => k !== 'authorize')
          .map((k) => `${k} ${JSON.stringify(q[k])}`),
      );
    edge.requests.length = 0;
    await ok(db, 'grant', 'add', 'alice', 'v9');
    await ok(db, 'edge', 'relay', '--once');
    expect(sent()).toEqual([]);
    await ok(db, 'grant', 'remove', 'alice', 'v1');
    await ok(db, 'edge', 'relay', '--once');
    expect(sent()).toEqual(['invalidate_sessions "streams+alice"']);
    // Token keys reach every channel live now, and only when one stopped verifying.
    db.prepare("INSERT INTO broadcasts (user_id, started_at) SELECT id, ? FROM users WHERE name = 'alice'").run(Date.now());
    edge.requests.length = 0;
    await ok(db, 'token', 'secret', '--grace', '1h');
    await ok(db, 'edge', 'relay', '--once');
    expect(sent()).toEqual([]);
    await ok(db, 'token', 'secret', '--grace', '0s');
    await ok(db, 'edge', 'relay', '--once');
    expect(sent()).toEqual(['invalidate_sessions "streams+alice"']);
  });
});

// A failed call to an edge is not dropped. The running relay keeps what an edge did not
// take and sends it again (re-planned then, merged with later changes) until the edge answers.
describe('an edge that did not take a re-check', () => {
  it('gets it again, merged with later ones, once it answers; an edge no longer in `edges` is dropped', async () => {
    const db = memoryDb();
    await addUser(db, 'bob');
    await addUser(db, 'carol');
    const edge = await startFakeMist();
    // A login it cannot give: the relay's call is refused, as when the edge's API is out of reach.
    edge.account = { username: 'admin', password: 'not-configured-here' };
    await ok(db, 'config', 'set', 'edges', `${edge.url}/api`);
    const lines: string[] = [];
    const queue = new EdgeRetryQueue();
    await ok(db, 'channel', 'set', 'bob', '--access', 'private');
    await applyEdgeEffects(
      db,
      [{ user: 'bob', reason: 'channel changed', retag: true, policyChanged: true }],
      Date.now(),
      (l) => lines.push(l),
      queue,
    );
    expect(lines.at(-1)).toMatch(/not applied to live sessions of streams\+bob: .*wants a login.*; kept, sent again until it answers$/);
    expect(queue.edges).toBe(1);
    // Still refused: kept; a later change to another channel joins it.
    await retryEdgeEffects(db, queue, Date.now(), (l) => lines.push(l));
    queue.add(`${edge.url}/api`, [{ user: 'carol', reason: 'bans changed', retag: true, policyChanged: false }]);
    expect(queue.edges).toBe(1);
    delete edge.account;
    edge.requests.length = 0;
    await retryEdgeEffects(db, queue, Date.now(), (l) => lines.push(l));
    const sent = edge.requests.flatMap((q) =>
      Object.keys(q)
        .filter((k) => k !== 'authorize')
        .map((k) => `${k} ${JSON.stringify(q[k])}`),
    );
    expect(sent).toEqual([
      'untag_stream {"streams+bob":"open"}',
      'tag_stream {"streams+carol":"open"}',
      'invalidate_sessions "streams+bob"',
      'invalidate_sessions "streams+carol"',
    ]);
    expect(queue.edges).toBe(0);
    // Dropped from `edges` meanwhile: nothing is sent to it.
    edge.account = { username: 'admin', password: 'x' };
    await applyEdgeEffects(db, [{ user: 'bob', reason: 'channel changed', retag: true, policyChanged: true }], Date.now(), () => {}, queue);
    await ok(db, 'config', 'set', 'edges', '');
    delete edge.account;
    edge.requests.length = 0;
    await retryEdgeEffects(db, queue, Date.now(), () => {});
    expect(edge.requests).toEqual([]);
    expect(queue.edges).toBe(0);
  });
});

describe.skipIf(REDIS_SERVER)('relay and resync against a real Redis', () => {
  it.skip(NO_REDIS, () => {});
});
