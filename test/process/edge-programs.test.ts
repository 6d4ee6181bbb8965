// The edge's built programs run as MistServer runs them (argv[1] = trigger name, payload on stdin,
// MIST_* in the environment, answer on stdout), against a real Redis primary and its replicas
// (one per "edge"), with no database anywhere. Captured payloads from test/fixtures/mist-captures.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../src/replica/schema';
import { EDGE_TRIGGERS, type EdgeTriggerName } from '../../src/triggers/registry';
import { baseEnv, BIN, fixture, fixtureEnv, ROOT, spawnCollect, tempDir, type RunResult } from '../support/helpers';
import { NO_REDIS, REDIS_SERVER, type TestRedis } from '../support/redis';
import {
  clearReplicated,
  hs256,
  putBan,
  putChannel,
  putGrant,
  putKeys,
  putSettings,
  putVod,
  putVodFile,
  startReplicaPair,
  type ReplicaPair,
} from '../support/replica';
import { waitUntil } from '../support/wait';

if (!REDIS_SERVER) console.log(NO_REDIS);

const SECRET = 'edge-programs-secret-0123456789';
const nowS = () => Math.floor(Date.now() / 1000);
const token = (claims: object, secret = SECRET) => hs256(secret, { exp: nowS() + 600, ...claims });
const SESSION = (n: number) => n.toString(16).padStart(64, 'a');

/** A captured HLS USER_NEW (20b-hls-tkn) with the stream, address, token line and session id replaced. */
function userNewPayload(o: { stream?: string; ip?: string; token?: string; session?: number } = {}): string {
  const lines = fixture('20b-hls-tkn/USER_NEW-1').split('\n');
  if (o.stream !== undefined) lines[0] = o.stream;
  if (o.ip !== undefined) lines[1] = o.ip;
  if (o.token !== undefined) lines[2] = o.token;
  if (o.session !== undefined) lines[5] = SESSION(o.session);
  return lines.join('\n');
}

/** A captured USER_END (36-controller-shutdown) for one stream and session. */
function userEndPayload(stream: string, session: number): string {
  const lines = fixture('36-controller-shutdown/USER_END-1').split('\n');
  lines[1] = stream;
  lines[11] = SESSION(session);
  return lines.join('\n');
}

/** The edges' token-session records (both "edges" share it: session ids differ). */
const SESSIONS_DIR = join(tempDir('streamctl-edge-sessions-'), 'sessions');

interface Edge {
  replica: string;
  primary: string;
}

/** Runs bin/<edge program> as MistServer does, on one edge. */
async function run(
  trigger: EdgeTriggerName,
  payload: string,
  edge: Edge,
  env: Record<string, string> = {},
): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  const programEnv = baseEnv({
    // No installed config is read: everything comes from here.
    STREAMCTL_CONF: join(ROOT, 'no-such-streamctl.conf'),
    STREAMCTL_REDIS_REPLICA: edge.replica,
    STREAMCTL_REDIS_PRIMARY: edge.primary,
    // Where the edge records the sessions it admitted with a token (install.sh: STATE_DIR/sessions).
    STREAMCTL_SESSIONS_DIR: SESSIONS_DIR,
    ...fixtureEnv(trigger === 'USER_END' ? '36-controller-shutdown/USER_END-1' : '20b-hls-tkn/USER_NEW-1'),
    MIST_TRIGGER: trigger,
    ...env,
  });
  const r = await spawnCollect(join(BIN, EDGE_TRIGGERS[trigger].program), [trigger], programEnv, payload);
  return { ...r, ms: Date.now() - started };
}

/** An admission: `true`, nothing on stderr, exit 0. */
function expectAdmitted(r: RunResult): void {
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: 'true', stderr: '', status: 0 });
}

/** A refusal: `false` (no newline), exactly one stderr line naming the trigger, exit 0. */
function expectRefused(r: RunResult, why: RegExp): void {
  expect(r.stdout).toBe('false');
  expect(r.status).toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^streamctl USER_NEW: /);
  expect(lines[0]).toMatch(why);
}

describe.skipIf(!REDIS_SERVER)('the edge programs, as MistServer runs them', () => {
  let pair: ReplicaPair;
  let edge1: Edge;
  let edge2: Edge;
  let replica2: TestRedis;
  beforeAll(async () => {
    pair = await startReplicaPair();
    replica2 = await pair.addReplica();
    edge1 = { replica: pair.replica.socket, primary: pair.primaryTarget };
    edge2 = { replica: replica2.socket, primary: pair.primaryTarget };
  });
  afterAll(async () => {
    await pair?.stop();
  });
  beforeEach(async () => {
    const w = pair.writer;
    await clearReplicated(w);
    await putSettings(w);
    await putKeys(w, [{ id: 1, kind: 'secret', alg: 'HS256', material: SECRET, label: 'secret-1', retiredAt: null }]);
    await putChannel(w, 'alice', { externalId: 'site-alice' });
    await putChannel(w, 'bob', { access: 'private', externalId: 'site-bob' });
    await putChannel(w, 'paid', { access: 'paid' });
    await putChannel(w, 'adult', { access: 'age', minAge: 18 });
    await putChannel(w, 'pw', { access: 'password', passwordSet: true });
    await putGrant(w, 'bob', 'fan', null);
    await pair.synced();
  });

  it('admits the captured HLS viewer of a public channel, and the same payload on a private one is refused', async () => {
    expectAdmitted(await run('USER_NEW', fixture('20b-hls-tkn/USER_NEW-1'), edge1));
    expectRefused(await run('USER_NEW', userNewPayload({ stream: 'streams+bob' }), edge1), /refused 127\.0\.0\.1 on bob \[no-token\]/);
  });

  it('decides private, paid, age and password channels by the token, on either edge', async () => {
    const t = (sub: string, aud: string, extra: object = {}) => token({ sub, aud, ...extra });
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: t('fan', 'bob') }), edge1));
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: t('site-bob', 'bob') }), edge2));
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: t('stranger', 'bob') }), edge2),
      /\[not-on-allow-list\]/,
    );
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+paid', token: t('fan', 'paid', { ent: ['paid'] }) }), edge1));
    expectRefused(await run('USER_NEW', userNewPayload({ stream: 'streams+paid', token: t('fan', 'paid') }), edge1), /\[not-entitled\]/);
    expectAdmitted(
      await run('USER_NEW', userNewPayload({ stream: 'streams+adult', token: t('fan', 'adult', { age_verified: true }) }), edge1),
    );
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+adult', token: t('kid', 'adult', { age_verified: true, age: 15 }) }), edge1),
      /\[age-not-verified\]/,
    );
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+pw', token: t('fan', 'pw') }), edge1));
    // Authorization: Bearer reaches USER_NEW without its first character (capture 20d).
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+pw', token: t('fan', 'pw').slice(1) }), edge1));
  });

  it('refuses forged, expired and other-channel tokens, never printing the token', async () => {
    const forged = token({ sub: 'fan', aud: 'bob' }, 'guessed-secret');
    const r = await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: forged }), edge1);
    expectRefused(r, /\[token-invalid\]: token signature does not verify/);
    expect(r.stderr).not.toContain(forged.split('.')[2]);
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: token({ sub: 'fan', aud: 'bob', exp: nowS() - 300 }) }), edge1),
      /token expired/,
    );
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: token({ sub: 'fan', aud: 'alice' }) }), edge1),
      /token is for another channel/,
    );
  });

  it('refuses viewer, address (CIDR) and global bans as soon as they replicate', async () => {
    const fan = token({ sub: 'fan', aud: 'bob' });
    await putBan(pair.writer, 'bob', 1, { kind: 'viewer', value: 'fan', until: null });
    await pair.synced();
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: fan }), edge2),
      /\[ban-viewer\]: viewer is banned \(channel ban #1\)/,
    );
    await putBan(pair.writer, null, 2, { kind: 'ip', value: '10.20.0.0/16', until: null });
    await pair.synced();
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+alice', ip: '10.20.3.4' }), edge1),
      /\[ban-ip\]: address is banned \(global ban #2\)/,
    );
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+alice', ip: '10.21.3.4' }), edge1));
    await putBan(pair.writer, null, 3, { kind: 'viewer', value: 'site-bob', until: null });
    await pair.synced();
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: token({ sub: 'site-bob', aud: 'bob' }) }), edge1),
      /global ban #3/,
    );
  });

  it('holds a viewer cap of 2 across two edges on one primary, and USER_END frees a place', async () => {
    await putChannel(pair.writer, 'alice', { viewerCap: 2 });
    await pair.synced();
    const view = (edge: Edge, session: number) => run('USER_NEW', userNewPayload({ stream: 'streams+alice', session }), edge);
    expectAdmitted(await view(edge1, 1));
    expectAdmitted(await view(edge1, 2));
    expectRefused(await view(edge2, 3), /\[viewer-cap\]: viewer cap of 2 reached/);
    // Concurrent claims from both edges never take more places than there are.
    await pair.writer.call('DEL', keys.cap('alice'));
    const racing = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => view(n % 2 ? edge1 : edge2, 10 + n)));
    expect(racing.filter((r) => r.stdout === 'true')).toHaveLength(2);
    expect(await pair.writer.call('HLEN', keys.cap('alice'))).toBe(2);

    await pair.writer.call('DEL', keys.cap('alice'));
    expectAdmitted(await view(edge1, 1));
    expectAdmitted(await view(edge1, 2));
    const end = await run('USER_END', userEndPayload('streams+alice', 1), edge1);
    expect({ stdout: end.stdout, stderr: end.stderr, status: end.status }).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(await pair.writer.call('HEXISTS', keys.cap('alice'), SESSION(1))).toBe(0);
    expectAdmitted(await view(edge2, 3));
  });

  it("frees a recording viewer's place through sc:vod", async () => {
    await putChannel(pair.writer, 'alice', { viewerCap: 1 });
    await putVod(pair.writer, 'abcdefghijklmnop', 'alice');
    await pair.synced();
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'vod+abcdefghijklmnop', session: 7 }), edge1));
    expectRefused(await run('USER_NEW', userNewPayload({ stream: 'streams+alice', session: 8 }), edge2), /viewer-cap/);
    expect((await run('USER_END', userEndPayload('vod+abcdefghijklmnop', 7), edge2)).status).toBe(0);
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+alice', session: 8 }), edge2));
  });

  it('refuses when the replica cannot be reached or is not configured, naming it', async () => {
    const missing = join(ROOT, 'no-such-dir', 'replica.sock');
    expectRefused(
      await run('USER_NEW', userNewPayload(), { ...edge1, replica: missing }),
      new RegExp(`redis ${missing.replace(/[.]/g, '\\.')}: ENOENT`),
    );
    expectRefused(await run('USER_NEW', userNewPayload(), { ...edge1, replica: '' }), /no Redis replica configured/);
  });

  it('with the primary stopped, refuses capped channels within the budget and still decides the others from the replica', async () => {
    await putChannel(pair.writer, 'alice', { viewerCap: 5 });
    await pair.synced();
    pair.primary.pause();
    try {
      const capped = await run('USER_NEW', userNewPayload({ stream: 'streams+alice', session: 40 }), edge1);
      expectRefused(capped, /took longer than 300 ms/);
      expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: token({ sub: 'fan', aud: 'bob' }) }), edge1));
      expectRefused(await run('USER_NEW', userNewPayload({ stream: 'streams+bob' }), edge2), /\[no-token\]/);
    } finally {
      pair.primary.resume();
    }
  });

  it("records a token session's expiry before admitting it, USER_END deletes the record, and an unwritable folder refuses", async () => {
    const exp = nowS() + 600;
    const t = token({ sub: 'fan', aud: 'bob', exp });
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: t, session: 70 }), edge1));
    expect(JSON.parse(readFileSync(join(SESSIONS_DIR, SESSION(70)), 'utf8'))).toEqual({ stream: 'streams+bob', exp: exp * 1000 });
    // No token, no record (a public channel's viewer).
    expectAdmitted(await run('USER_NEW', userNewPayload({ stream: 'streams+alice', token: '12345', session: 71 }), edge1));
    expect(existsSync(join(SESSIONS_DIR, SESSION(71)))).toBe(false);
    const end = await run('USER_END', userEndPayload('streams+bob', 70), edge1);
    expect(end.stdout).toBe('');
    expect(existsSync(join(SESSIONS_DIR, SESSION(70)))).toBe(false);
    // A file where the folder should be: the expiry cannot be recorded, so the token viewer is refused.
    const blocked = join(tempDir('streamctl-edge-sessions-'), 'sessions');
    writeFileSync(blocked, 'in the way');
    expectRefused(
      await run('USER_NEW', userNewPayload({ stream: 'streams+bob', token: t, session: 72 }), edge1, { STREAMCTL_SESSIONS_DIR: blocked }),
      /refused .* on bob: could not record the token's expiry: ENOTDIR/,
    );
  });

  it('answers false to a malformed USER_NEW and nothing to a malformed USER_END, with one stderr line', async () => {
    expectRefused(await run('USER_NEW', 'streams+alice\n127.0.0.1', edge1), /USER_NEW payload has 2 line/);
    expectRefused(
      await run('USER_NEW', userNewPayload({ session: 1 }).replace(SESSION(1), 'not-a-session'), edge1),
      /line 6 is not a 64-hex session id/,
    );
    const end = await run('USER_END', 'garbage', edge1);
    expect(end.stdout).toBe('');
    expect(end.stderr).toMatch(/^streamctl USER_END: USER_END payload has 1 line/);
  });

  it("answers STREAM_SOURCE with the recording under the edge's root, and nothing (the placeholder) for an unknown id", async () => {
    // What edge-stream-source decides in every other case: test/edge/vod-source.test.ts.
    const root = tempDir('streamctl-edge-vod-');
    const file = join(root, '3', '20261127-150000-000.mkv');
    mkdirSync(join(root, '3'));
    writeFileSync(file, 'recording');
    await putVod(pair.writer, 'abcdefghijklmnop', 'alice');
    await putVodFile(pair.writer, 'abcdefghijklmnop', '3/20261127-150000-000.mkv');
    await pair.synced();
    const env = { STREAMCTL_RECORDINGS_ROOT: root, ...fixtureEnv('20i-vod-wildcard/STREAM_SOURCE-1') };
    expect(await run('STREAM_SOURCE', 'vod+abcdefghijklmnop', edge1, env)).toMatchObject({ stdout: file, stderr: '', status: 0 });
    const unknown = await run('STREAM_SOURCE', 'vod+qrstuvwxyz234567', edge1, env);
    expect(unknown).toMatchObject({ stdout: '', status: 0 });
    expect(unknown.stderr).toBe(
      'streamctl STREAM_SOURCE: "vod+qrstuvwxyz234567": no recording qrstuvwxyz234567 in the replica; playing the placeholder\n',
    );
  });

  it("tags an open channel's stream at FULL and untags others, over the local UDP API", async () => {
    // Its own port (STREAMCTL_UDP_API_PORT), so datagrams of tests running beside it never mix in;
    // the one-box test (access/open-channel.test.ts) proves the real 4242.
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = String(socket.address().port);
    const got: unknown[] = [];
    socket.on('message', (m) => got.push(JSON.parse(m.toString())));
    try {
      const full = (stream: string, edge = edge1) =>
        run('STREAM_BUFFER', fixture('23-stream-buffer-dry-recover/STREAM_BUFFER-1').replace(/^buf/, stream), edge, {
          STREAMCTL_UDP_API_PORT: port,
        });
      for (const stream of ['streams+alice', 'streams+bob', 'streams+nobody']) expect((await full(stream)).status).toBe(0);
      await putBan(pair.writer, 'alice', 5, { kind: 'ip', value: '192.0.2.1', until: null });
      await pair.synced();
      expect((await full('streams+alice')).status).toBe(0);
      const failed = await full('streams+alice', { ...edge1, replica: join(ROOT, 'no-such.sock') });
      expect(failed.stderr).toMatch(/^streamctl STREAM_BUFFER: untagging "streams\+alice": the replica could not say/);
      await waitUntil('four tag datagrams', () => got.length >= 4);
      expect(got).toEqual([
        { tag_stream: { 'streams+alice': 'open' } },
        { untag_stream: { 'streams+bob': 'open' } },
        { untag_stream: { 'streams+alice': 'open' } },
        { untag_stream: { 'streams+alice': 'open' } },
      ]);
    } finally {
      socket.close();
    }
  });
});

describe.skipIf(!REDIS_SERVER)('an edge whose replica lost its primary', () => {
  it('refuses every non-public decision (the replica answers MASTERDOWN, never stale data)', async () => {
    const pair = await startReplicaPair();
    try {
      await putSettings(pair.writer);
      await putChannel(pair.writer, 'alice');
      await pair.synced();
      const edge = { replica: pair.replica.socket, primary: pair.primaryTarget };
      expectAdmitted(await run('USER_NEW', userNewPayload(), edge));
      await pair.primary.stop();
      // The replica notices the closed link at once (a cut cable takes repl-timeout instead).
      let r = await run('USER_NEW', userNewPayload(), edge);
      for (let i = 0; i < 20 && r.stdout === 'true'; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await run('USER_NEW', userNewPayload(), edge);
      }
      expectRefused(r, /MASTERDOWN/);
    } finally {
      await pair.stop();
    }
  });
});

describe('the edge bundles', () => {
  it('load no SQLite: better-sqlite3 is not in them (an edge has no database)', () => {
    for (const spec of Object.values(EDGE_TRIGGERS)) {
      const text = readFileSync(join(ROOT, 'dist', `${spec.program}.js`), 'utf8');
      expect([spec.program, /better[-_]sqlite3|\.node['"]/.test(text)]).toEqual([spec.program, false]);
    }
    // The check can fail: the one-box USER_NEW does contain it.
    expect(readFileSync(join(ROOT, 'dist', 'user-new.js'), 'utf8')).toMatch(/better[-_]sqlite3/);
  });
});

describe.skipIf(!REDIS_SERVER)('mist-trigger on an edge', () => {
  it('dispatches to the edge program when role=edge, and refuses when the role is unknown', async () => {
    const pair = await startReplicaPair();
    try {
      await putSettings(pair.writer);
      await putChannel(pair.writer, 'alice', { access: 'private' });
      await pair.synced();
      const dispatch = (role: string) =>
        new Promise<RunResult>((resolve) => {
          const child = spawn(join(BIN, 'mist-trigger'), ['USER_NEW'], {
            env: baseEnv({
              STREAMCTL_CONF: join(ROOT, 'no-such-streamctl.conf'),
              STREAMCTL_ROLE: role,
              STREAMCTL_REDIS_REPLICA: pair.replica.socket,
              STREAMCTL_DB: join(ROOT, 'no-such.db'),
            }),
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('close', (status) => resolve({ stdout, stderr, status }));
          child.stdin.end(userNewPayload());
        });
      // The edge program read the replica (no database exists): refused by the private policy.
      expectRefused(await dispatch('edge'), /refused 127\.0\.0\.1 on alice \[no-token\]/);
      // The one-box program looked for the database.
      expectRefused(await dispatch('single'), /no-such\.db/);
      const bad = await dispatch('edgy');
      expect(bad.stdout).toBe('false');
      expect(bad.stderr).toMatch(/^streamctl mist-trigger: unknown role "edgy" in STREAMCTL_ROLE/);
    } finally {
      await pair.stop();
    }
  });
});
