// Tokens that behave like tickets on origin + edges and one viewer count per channel
// wherever the viewer lands, on real MistServers: lab.sh's origin and two edges, real
// RTMP pushes to the origin, curl TS viewers on the edges and the origin. viewer-sessions and the
// cap are counted on the origin's Redis primary by every box; evictions and revocations reach the
// edge that plays the session through the origin's relay.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, RealMist, runEvery, sleep, waitFor, type Pusher } from './harness';
import { Edge, EDGES, Lab, LAN, setConf, type EdgeName } from './lab';

const lab = new Lab();
const origin = new RealMist();
const edges = Object.fromEntries(EDGES.map((n) => [n, new Edge(lab, n)])) as Record<EdgeName, Edge>;
const pushes: Pusher[] = [];
let secret = '';
/** How often the sessions-expire job runs in the expiry test (install.sh's timer: every 15 s). */
const JOB_PERIOD_MS = 5000;

/** A site token with a jti (HS256 with the secret `token secret` made). */
function mint(channel: string, viewer: string, jti = randomBytes(8).toString('hex'), ttlSeconds = 600): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ent: ['paid'], sub: viewer, aud: channel, jti, iat: now, exp: now + ttlSeconds })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

async function liveChannel(user: string, ...policy: string[]): Promise<void> {
  const key = origin.user(user);
  origin.ok(['channel', 'set', user, '--access', 'paid', ...policy]);
  pushes.push(origin.push('rtmp', key, 400));
  await waitFor(
    `streams+${user} live on the origin`,
    async () => (await origin.active()).includes(`streams+${user}`) && origin.scJson(['status', user]).state === 'live',
    60_000,
  );
  // Each edge pulls the stream for its first viewer: warm both up (a warm-up viewer of its own).
  for (const n of EDGES) {
    await waitFor(
      `streams+${user} playing on ${n}`,
      async () => (await origin.viewTs(`streams+${user}`, `?tkn=${mint(user, `warm-${n}`)}`, 4, edges[n].http).done).bytes > 5000,
      60_000,
      1000,
    );
  }
  await waitFor('warm-up places freed', () => lab.redis('origin', 'HLEN', `sc:cap:${user}`) === '0', 60_000, 500);
}

const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!haveRedis) console.log('tickets-edge.test.ts skipped: no redis-server (apt-get install redis-server)');

describe.skipIf(!haveRedis)('tickets on origin + edges (lab.sh)', () => {
  beforeAll(async () => {
    lab.up();
    origin.install({ ROLE: 'origin', REDIS_PRIMARY: lab.redisSocket('origin') });
    const pw = join(lab.dir, 'mist-api-password');
    writeFileSync(pw, 'mistpw\n', { mode: 0o600 });
    setConf(origin.prefix, { mist_api_user: 'admin', mist_api_password_file: pw });
    await origin.startMist();
    secret = origin.scJson<{ secret: string }>(['token', 'secret', '--show']).secret;
    origin.ok(['config', 'set', 'edges', EDGES.map((n) => edges[n].api).join(',')]);
    origin.ok(['config', 'set', 'replication', 'redis']);
    const relay = spawn(join(origin.prefix, 'bin', 'streamctl'), ['edge', 'relay'], {
      env: cleanEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    relay.stderr!.on('data', (d) => process.stderr.write(`relay: ${d}`));
    origin.track(relay);
    for (const n of EDGES) {
      edges[n].install(origin.recordings);
      edges[n].ok(['mist', 'apply', '--role', 'edge', '--origin', LAN.origin]);
    }
    await waitFor('both replicas synced', () => EDGES.every((n) => lab.redis(n, 'EXISTS', 'sc:settings') === '1'), 30_000);
  }, 400_000);

  afterAll(async () => {
    for (const p of pushes) await p.end();
    await origin.stop();
    lab.down();
  });

  it('viewer-sessions 1: the same viewer is refused on the other edge and on the origin; another viewer plays', async () => {
    await liveChannel('one', '--viewer-sessions', '1');
    const first = origin.viewTs('streams+one', `?tkn=${mint('one', 'fan')}`, 30, edges.edge1.http);
    await waitFor('the first session counted on the primary', () => lab.redis('origin', 'HLEN', 'sc:vs:one:fan') === '1', 20_000, 250);
    expect((await origin.viewTs('streams+one', `?tkn=${mint('one', 'fan')}`, 10, edges.edge2.http).done).code).toBe(404);
    expect((await origin.viewTs('streams+one', `?tkn=${mint('one', 'fan')}`, 10).done).code).toBe(404);
    expect((await origin.viewTs('streams+one', `?tkn=${mint('one', 'other')}`, 6, edges.edge2.http).done).bytes).toBeGreaterThan(5000);
    expect(origin.events('view').some((e) => e.user === 'one' && e.reason.startsWith('viewer-sessions'))).toBe(true);
    expect((await first.done).bytes).toBeGreaterThan(20_000);
  }, 300_000);

  it('evict-oldest: a second screen on edge2 plays and the first, on edge1, is stopped within seconds (sc:evict → relay → stop_sessid)', async () => {
    await liveChannel('evict', '--viewer-sessions', '1', '--on-excess', 'evict-oldest');
    const oldest = origin.viewTs('streams+evict', `?tkn=${mint('evict', 'fan')}`, 60, edges.edge1.http);
    await waitFor('the first session counted', () => lab.redis('origin', 'HLEN', 'sc:vs:evict:fan') === '1', 20_000, 250);
    const at = Date.now();
    const newest = origin.viewTs('streams+evict', `?tkn=${mint('evict', 'fan')}`, 25, edges.edge2.http);
    const stopped = await oldest.done;
    expect(stopped.bytes).toBeGreaterThan(10_000);
    expect(stopped.at - at).toBeLessThan(15_000);
    const played = await newest.done;
    expect(played.at - at).toBeGreaterThan(20_000);
    expect(played.bytes).toBeGreaterThan(20_000);
  }, 300_000);

  it('a viewer cap of 2 is one count: one viewer on the origin and one on edge1 fill it, edge2 refuses the third', async () => {
    await liveChannel('cap', '--viewer-cap', '2');
    const a = origin.viewTs('streams+cap', `?tkn=${mint('cap', 'a')}`, 30);
    const b = origin.viewTs('streams+cap', `?tkn=${mint('cap', 'b')}`, 30, edges.edge1.http);
    await waitFor('two places on the primary', () => lab.redis('origin', 'HLEN', 'sc:cap:cap') === '2', 20_000, 250);
    expect((await origin.viewTs('streams+cap', `?tkn=${mint('cap', 'c')}`, 10, edges.edge2.http).done).code).toBe(404);
    expect((await origin.viewTs('streams+cap', `?tkn=${mint('cap', 'd')}`, 10).done).code).toBe(404);
    expect((await a.done).bytes).toBeGreaterThan(20_000);
    expect((await b.done).bytes).toBeGreaterThan(20_000);
  }, 300_000);

  it('token revoke on the origin stops the session it admitted on an edge within seconds and refuses the token on every box', async () => {
    await liveChannel('rev');
    const jti = 'leaked-token-1';
    const token = mint('rev', 'fan', jti);
    const viewer = origin.viewTs('streams+rev', `?tkn=${token}`, 60, edges.edge1.http);
    await sleep(4000);
    expect(viewer.proc.exitCode).toBe(null);
    const at = Date.now();
    origin.ok(['token', 'revoke', jti]);
    await waitFor('sc:revoked on the edges', () => EDGES.every((n) => lab.redis(n, 'HEXISTS', 'sc:revoked', jti) === '1'), 10_000, 100);
    const done = await viewer.done;
    expect(done.bytes).toBeGreaterThan(10_000);
    expect(done.at - at).toBeLessThan(15_000);
    // Another address makes another session: refused on the other edge too.
    const again = spawnSync(
      'curl',
      [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '10',
        `${edges.edge2.http}/${encodeURIComponent('streams+rev')}.ts?tkn=${token}`,
      ],
      { encoding: 'utf8' },
    );
    expect(again.stdout).toBe('404');
  }, 600_000);

  it("an edge viewer's ~20 s token stops playing within 20 s + the job period + 5 s, by the edge's own sessions-expire job; a longer token plays on", async () => {
    await liveChannel('exp');
    const rejections = () => edges.edge1.log().split('Session (re-sync) rejected by USER_NEW').length - 1;
    const rejectedBefore = rejections();
    const issuedAt = Date.now();
    const short = origin.viewTs('streams+exp', `?tkn=${mint('exp', 'short', undefined, 20)}`, 90, edges.edge1.http);
    // Ends by itself after 45 s (curl prints its byte count only when it ends on its own).
    const long = origin.viewTs('streams+exp', `?tkn=${mint('exp', 'long')}`, 45, edges.edge1.http);
    // The edge's USER_NEW recorded both sessions' expiry in its STATE_DIR/sessions.
    const records = join(edges.edge1.prefix, 'var', 'lib', 'streamctl', 'sessions');
    /** The expiries (unix ms) edge1 holds for streams+exp's sessions (warm-ups' and earlier tests' records aside). */
    const expiries = () =>
      readdirSync(records).flatMap((name) => {
        try {
          const r = JSON.parse(readFileSync(join(records, name), 'utf8')) as { stream: string; exp: number };
          return r.stream === 'streams+exp' ? [r.exp] : [];
        } catch {
          return []; // deleted since the listing
        }
      });
    const shortRecorded = () => expiries().some((exp) => exp < issuedAt + 60_000);
    const longRecorded = () => expiries().some((exp) => exp > issuedAt + 300_000);
    await waitFor('both sessions recorded on edge1', () => shortRecorded() && longRecorded(), 20_000, 250);
    // The scheduled job, as edge1's timer runs it, inside edge1's namespace (its own MistServer).
    const stopJob = runEvery(JOB_PERIOD_MS, () => edges.edge1.sc(['sessions', 'expire']));
    try {
      const done = await short.done;
      expect(done.code).toBe(200);
      expect(done.bytes).toBeGreaterThan(20_000);
      expect(done.at - issuedAt).toBeGreaterThan(15_000);
      expect(done.at - issuedAt).toBeLessThan(20_000 + JOB_PERIOD_MS + 5000);
      expect(long.proc.exitCode).toBe(null);
      // MistServer's own word for it: the re-check's USER_NEW refused the session.
      expect(rejections()).toBeGreaterThan(rejectedBefore);
      // The job deleted the record it handled; the longer token's stays.
      expect({ short: shortRecorded(), long: longRecorded() }).toEqual({ short: false, long: true });
    } finally {
      await stopJob();
    }
    const longDone = await long.done;
    expect(longDone.at - issuedAt).toBeGreaterThan(40_000);
    expect(longDone.bytes).toBeGreaterThan(50_000);
  }, 300_000);
});
