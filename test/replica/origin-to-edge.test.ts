// Both sides of replication together: the origin's SQLite changed through the CLI, the relay
// publishing to a real Redis primary, a real replica of it (as on an edge), and the edge's
// admission (src/edge/admit.ts) reading that replica. For every case the edge must decide what the
// origin decides (`access explain`): the relay writes exactly the shapes the edge reads.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitOnEdge } from '../../src/edge/admit';
import type { EdgeRedis } from '../../src/edge/edge-redis';
import { edgeVodSource } from '../../src/edge/vod-source';
import streamSourceTrigger from '../../src/triggers/stream-source';
import { tempDir } from '../support/helpers';
import { record } from '../recordings/support';
import { answerSync } from '../support/trigger';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import type { Db } from '../../src/store/open';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row } from '../support/db';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { startReplicaPair, type ReplicaPair } from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

const SESSION = '0'.repeat(63) + '1';

describe.skipIf(!REDIS_SERVER)('origin → relay → replica → edge admission', () => {
  let pair: ReplicaPair;
  let replica: RedisClient;
  let db: Db;
  let edge: EdgeRedis;
  const opened: RedisClient[] = [];

  beforeAll(async () => {
    pair = await startReplicaPair();
    replica = await connectRedis(pair.replica.socket, { timeoutMs: 5000 });
    edge = {
      replica: async () => replica,
      primary: async (timeoutMs) => {
        const c = await connectRedis(pair.primaryTarget, { timeoutMs });
        opened.push(c);
        return c;
      },
    };
    db = memoryDb();
    process.env.STREAMCTL_REDIS_PRIMARY = pair.primaryTarget;
    await addUser(db, 'alice', '--external-id', 'site-alice');
    await addUser(db, 'bob');
    await cliJson(db, ['edge', 'resync']);
  });
  afterAll(async () => {
    delete process.env.STREAMCTL_REDIS_PRIMARY;
    for (const c of opened) c.close();
    replica?.close();
    await pair?.stop();
  });

  async function ok(...args: string[]): Promise<void> {
    const r = await cli(db, args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  }

  /** The origin's rule and the edge's rule for one viewer, after the relay published and the replica caught up. */
  async function both(channel: string, viewer: { ip?: string; token?: string } = {}): Promise<{ origin: string; edge: string }> {
    const ip = viewer.ip ?? '198.51.100.7';
    const explained = await cli(db, [
      'access',
      'explain',
      channel,
      '--ip',
      ip,
      '--json',
      ...(viewer.token ? ['--token', viewer.token] : []),
    ]);
    const o = JSON.parse(explained.stdout) as { decision: string; rule: string };
    const v = await admitOnEdge(
      edge,
      { stream: `streams+${channel}`, ip, token: viewer.token ?? '482388719', sessionId: SESSION },
      Date.now(),
    );
    return {
      origin: `${o.decision} ${o.rule}`,
      edge: `${v.allow ? 'admit' : 'refuse'} ${v.channel === null ? 'not-a-channel' : v.decision.rule}`,
    };
  }

  async function relay(): Promise<void> {
    await ok('edge', 'relay', '--once');
    await pair.synced();
  }

  it('decides like the origin after each change', async () => {
    await ok('token', 'secret');
    await ok('channel', 'set', 'alice', '--access', 'paid');
    await relay();
    const token = async (viewer: string, ...extra: string[]) =>
      (await cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', viewer, ...extra])).token;
    const fan = await token('fan');
    const payer = await token('payer', '--ent', 'paid');
    const owner = await token('site-alice');
    const cases: [string, { ip?: string; token?: string }][] = [
      ['bob', {}],
      ['alice', {}],
      ['alice', { token: fan }],
      ['alice', { token: payer }],
      ['alice', { token: owner }],
      ['alice', { token: fan.slice(0, -4) + 'AAAA' }],
    ];
    const check = async (label: string) => {
      for (const [channel, viewer] of cases) {
        const r = await both(channel, viewer);
        expect(r.edge, `${label}: ${channel} ${viewer.token ? 'with a token' : 'without a token'}`).toBe(r.origin);
      }
    };
    await check('paid channel');
    await ok('grant', 'add', 'alice', 'fan');
    await relay();
    expect((await both('alice', { token: fan })).edge).toBe('admit grant');
    await check('a grant');
    await ok('ban', 'add', '--ip', '198.51.100.0/24');
    await relay();
    expect((await both('bob')).edge).toBe('refuse ban-ip');
    await check('a global address ban');
    await ok('ban', 'remove', '1');
    await ok('ban', 'add', '--viewer', 'fan', '--channel', 'alice');
    await ok('user', 'disable', 'bob');
    await relay();
    expect((await both('alice', { token: fan })).edge).toBe('refuse ban-viewer');
    expect((await both('bob')).edge).toBe('refuse channel-disabled');
    await check('a viewer ban, a disabled user');
    await ok('channel', 'set', 'alice', '--access', 'private');
    await ok('token', 'secret', '--grace', '0s');
    await relay();
    // The secret the tokens were signed with stopped verifying: on both sides.
    expect((await both('alice', { token: owner })).edge).toBe('refuse token-invalid');
    await check('private channel, secret rotated');
    await ok('user', 'remove', 'bob', '--yes');
    await relay();
    expect((await both('alice')).origin).toBe((await both('alice')).edge);
    const gone = await admitOnEdge(edge, { stream: 'streams+bob', ip: '198.51.100.7', token: '1', sessionId: SESSION }, Date.now());
    expect(gone.allow).toBe(false);
    expect((await cli(db, ['edge', 'check'])).status).toBe(0);
  });

  it("plays the origin's recording file on the edge, from the edge's own mount of the folder", async () => {
    // The origin's recordings folder, and the edge's view of it at another path (as an NFS mount is).
    const dir = tempDir('streamctl-o2e-');
    const root = join(dir, 'recordings');
    mkdirSync(root);
    const mount = join(dir, 'mnt');
    symlinkSync(root, mount);
    await ok('config', 'set', 'recordings-root', root);
    const alice = row<{ id: number }>(db, "SELECT id FROM users WHERE name = 'alice'")!.id;
    const rec = record(db, root, alice, Math.floor(Date.now() / 1000) - 60);
    await relay();
    expect(answerSync(streamSourceTrigger, db, `vod+${rec.id}`).answer).toBe(rec.path);
    const file = rec.path.slice(root.length + 1);
    expect(await edgeVodSource(async () => replica, `vod+${rec.id}`, mount)).toEqual({ path: join(mount, file) });
    expect(
      (await admitOnEdge(edge, { stream: `vod+${rec.id}`, ip: '198.51.100.7', token: '1', sessionId: SESSION }, Date.now())).channel,
    ).toBe('alice');
    await ok('recordings', 'delete', rec.id, '--force');
    await relay();
    // Gone on both sides: the origin and the edge keep the placeholder.
    expect(answerSync(streamSourceTrigger, db, `vod+${rec.id}`).answer).toBe('');
    expect(await edgeVodSource(async () => replica, `vod+${rec.id}`, mount)).toEqual({ why: `no recording ${rec.id} in the replica` });
  });
});
