// doctor's Redis checks against real redis-servers: a primary on loopback TCP (replicaof takes
// host:port) and an edge's replica on a unix socket, set up as install.sh's replica.conf sets it, or not.
import { createServer } from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../src/replica/schema';
import { redisChecks, type RedisCheckInput } from '../../src/doctor/role-checks';
import { connectRedis } from '../../src/lib/resp';
import { startFakeMist } from '../support/fake-mist';
import { freshDb } from '../support/helpers';
import { cli } from '../support/cli';
import { NO_REDIS, REDIS_SERVER, startRedis, type TestRedis } from '../support/redis';

if (!REDIS_SERVER) console.log(NO_REDIS);

/** A free loopback TCP port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const started: TestRedis[] = [];
afterAll(async () => {
  for (const r of started) await r.stop();
});
async function redis(args: string[]): Promise<TestRedis> {
  const r = await startRedis(args);
  started.push(r);
  // The socket file appears a moment before Redis accepts on it.
  for (let i = 0; ; i++) {
    try {
      (await connectRedis(r.socket)).close();
      return r;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

async function waitForLink(socket: string): Promise<void> {
  const c = await connectRedis(socket);
  try {
    for (let i = 0; i < 300; i++) {
      if (/master_link_status:up/.test(String(await c.call('INFO', 'replication')))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('replica never linked');
  } finally {
    c.close();
  }
}

const base = { base: 'streams', vodBase: 'vod' };

describe.skipIf(!REDIS_SERVER)('redis checks', () => {
  it('passes an edge whose replica refuses stale data and notices a cut link within seconds', async () => {
    const port = await freePort();
    // No 5 s wait before the first full sync (Redis's default diskless-sync delay).
    const primary = await redis(['--port', String(port), '--bind', '127.0.0.1', '--repl-diskless-sync-delay', '0']);
    const c = await connectRedis(primary.socket);
    await c.call('SET', keys.settings, JSON.stringify({ 'stream-base': 'streams', 'vod-base': 'vod' }));
    c.close();
    const replica = await redis(['--replicaof', '127.0.0.1', String(port), '--replica-serve-stale-data', 'no', '--repl-timeout', '5']);
    await waitForLink(replica.socket);
    const input: RedisCheckInput = { role: 'edge', replica: replica.socket, primary: `127.0.0.1:${port}`, ...base };
    const findings = await redisChecks(input);
    expect(findings.map((f) => [f.check, f.status])).toEqual([
      ['redis replica', 'ok'],
      ['redis replica config', 'ok'],
      ['stream names', 'ok'],
      ['redis primary', 'ok'],
    ]);
    expect(findings[3]!.message).toContain('1 replica(s) connected');

    // The edge named its streams differently from the origin: every pull would ask for the wrong name.
    const renamed = await redisChecks({ ...input, base: 'live' });
    expect(renamed.find((f) => f.check === 'stream names')).toMatchObject({
      status: 'fail',
      message: 'stream-base is live here but streams on the origin',
    });

    // The origin: only its primary (and one box: nothing at all).
    expect((await redisChecks({ ...input, role: 'origin' })).map((f) => [f.check, f.status])).toEqual([['redis primary', 'ok']]);
    expect(await redisChecks({ ...input, role: 'single' })).toEqual([]);
  });

  it("fails a replica that would serve stale data or wait Redis's default 60 s, and one whose link is down", async () => {
    const port = await freePort();
    // Nothing listens on `port`: the replica's link stays down.
    const replica = await redis(['--replicaof', '127.0.0.1', String(port)]);
    const findings = await redisChecks({ role: 'edge', replica: replica.socket, primary: `127.0.0.1:${port}`, timeoutMs: 500, ...base });
    const by = (check: string) => findings.find((f) => f.check === check)!;
    expect(by('redis replica')).toMatchObject({ status: 'fail', message: expect.stringContaining('link to the primary 127.0.0.1') });
    expect(by('redis replica config').status).toBe('fail');
    expect(by('redis replica config').message).toContain('replica-serve-stale-data is yes');
    expect(by('redis replica config').message).toContain('repl-timeout is 60');
    expect(by('redis primary')).toMatchObject({ status: 'fail', message: expect.stringContaining('capped channels refuse') });
  });

  it('fails a replica that is a primary, and a missing or unreachable replica', async () => {
    const lone = await redis([]);
    const findings = await redisChecks({ role: 'edge', replica: lone.socket, primary: lone.socket, ...base });
    expect(findings[0]).toMatchObject({ check: 'redis replica', status: 'fail', message: expect.stringContaining('not a replica') });
    expect((await redisChecks({ role: 'edge', primary: lone.socket, ...base }))[0]).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('no redis_replica='),
    });
    const gone = await redisChecks({ role: 'edge', replica: `${lone.dir}/nothing.sock`, primary: lone.socket, ...base });
    expect(gone[0]).toMatchObject({
      check: 'redis replica',
      status: 'fail',
      message: expect.stringContaining('refuses every non-public viewer'),
    });
    expect((await redisChecks({ role: 'origin', ...base }))[0]).toMatchObject({
      check: 'redis primary',
      status: 'fail',
      message: expect.stringContaining('no redis_primary='),
    });
  });
});

describe.skipIf(!REDIS_SERVER)('doctor on an origin', () => {
  afterEach(() => void vi.unstubAllEnvs());

  it('checks the primary, that the outbox drains and that Redis matches SQLite', async () => {
    const primary = await redis([]);
    const file = freshDb();
    vi.stubEnv('STREAMCTL_ROLE', 'origin');
    vi.stubEnv('STREAMCTL_REDIS_PRIMARY', primary.socket);
    const doctor = async (now = Date.now()) => {
      const r = await cli(file, ['doctor', '--json', '--api', 'http://127.0.0.1:9'], { now: () => now });
      const checks = (JSON.parse(r.stdout) as { checks: { check: string; status: string; message: string }[] }).checks;
      return (name: string) => checks.find((c) => c.check === name);
    };
    let by = await doctor();
    expect(by('redis primary')).toMatchObject({ status: 'ok' });
    expect(by('replication')).toMatchObject({ status: 'warn', message: expect.stringContaining('replication is off') });

    expect((await cli(file, ['edge', 'resync'])).status).toBe(0);
    by = await doctor();
    expect(by('outbox')).toMatchObject({ status: 'ok' });
    expect(by('replication')).toMatchObject({ status: 'ok', message: expect.stringContaining('Redis matches SQLite') });

    // A change the relay never published: queued, and after a minute the outbox counts as stuck.
    expect((await cli(file, ['user', 'add', 'alice'])).status).toBe(0);
    by = await doctor(Date.now() + 120_000);
    expect(by('outbox')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^1 change\(s\) queued, the oldest 1[12]\d s ago/),
    });
    expect(by('replication')!.status).toBe('warn');

    // The edges the relay re-checks viewers on: none listed, one answering, one not.
    expect(by('edges')).toMatchObject({ status: 'warn', message: expect.stringContaining('edges setting is empty') });
    const edge = await startFakeMist();
    expect((await cli(file, ['config', 'set', 'edges', `${edge.url}/api`])).status).toBe(0);
    expect((await doctor())('edges')).toMatchObject({ status: 'ok', message: '1 edge API(s) answer' });
    expect((await cli(file, ['config', 'set', 'edges', `${edge.url}/api,http://127.0.0.1:9/api`])).status).toBe(0);
    expect((await doctor())('edges')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^http:\/\/127\.0\.0\.1:9\/api: .*not re-checked/),
    });
  });
});
