// Viewer access on the real MistServer: real HLS and MPEG-TS viewers (curl, ffmpeg) of live
// channels under each policy, with and without playback tokens; admin changes that drop current
// viewers or the publisher; a viewer cap against concurrent sessions. MistServer's answer to a
// refused viewer: HLS 200 with #EXT-X-ERROR in the playlist, progressive TS 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, sleep, waitFor, type Pusher } from './harness';

const mist = new RealMist();
const pushes = new Map<string, Pusher>();

/** A channel with the given policy, live from a real RTMP push. */
async function liveChannel(user: string, ...policy: string[]): Promise<Pusher> {
  const key = mist.user(user);
  if (policy.length) mist.ok(['channel', 'set', user, ...policy]);
  const p = mist.push('rtmp', key, 240);
  pushes.set(user, p);
  await waitFor(
    `streams+${user} live`,
    async () => (await mist.active()).includes(`streams+${user}`) && mist.scJson(['status', user]).state === 'live',
    20_000,
  );
  // MistServer needs a couple of keyframes before HLS has a segment to serve.
  await sleep(2000);
  return p;
}

const token = (channel: string, viewer: string, ...extra: string[]) =>
  mist.ok(['token', 'issue', channel, '--viewer', viewer, '--ttl', '10m', ...extra]).trim();
const refusals = (user: string) => mist.events('view').filter((e) => e.user === user && e.outcome === 'refused');

beforeAll(async () => {
  await mist.start();
  mist.ok(['token', 'secret']);
});
afterAll(() => mist.stop());

describe('policies', () => {
  it('public: admitted over HLS, TS and by ffmpeg', async () => {
    await liveChannel('pub');
    const hls = mist.hls('streams+pub');
    expect(hls).toMatchObject({ code: 200, error: false });
    expect(hls.segmentBytes).toBeGreaterThan(1000);
    const ts = await mist.viewTs('streams+pub', '', 2).done;
    expect(ts.code).toBe(200);
    expect(ts.bytes).toBeGreaterThan(5000);
    expect(await mist.play('http://127.0.0.1:8080/hls/streams+pub/index.m3u8', 2)).toBeGreaterThan(10);
    expect(refusals('pub')).toEqual([]);
    await pushes.get('pub')!.end();
  });

  it.each([
    [
      'priv',
      'private',
      'no-token',
      'wrong viewer',
      'granted viewer',
      () => token('priv', 'mallory'),
      () => (mist.ok(['grant', 'add', 'priv', 'vic']), token('priv', 'vic')),
    ],
    [
      'paid',
      'paid',
      'no-token',
      'token without ent',
      'token with ent paid',
      () => token('paid', 'pat'),
      () => token('paid', 'pat', '--ent', 'paid'),
    ],
    [
      'adult',
      'age',
      'no-token',
      'token without age',
      'age-verified token',
      () => token('adult', 'ada'),
      () => token('adult', 'ada', '--age-verified'),
    ],
    [
      'pw',
      'password',
      'no-password',
      'token before a password is set',
      'token after it',
      () => token('pw', 'pia'),
      () => (mist.ok(['channel', 'password', 'pw'], 'correct horse'), token('pw', 'pia', '--ttl', '11m')),
    ],
    // pw's good token differs from its bad one (another ttl): minted in the same second with the same
    // claims they would be one string, and MistServer reuses its cached answer for a known tkn.
  ] as const)(
    '%s (%s): refused without a token (%s), %s refused, %s admitted',
    async (user, access, rule, _bad, _good, badToken, goodToken) => {
      const push = await liveChannel(user, '--access', access);
      // No token: MistServer answers HLS with 200 and #EXT-X-ERROR, progressive TS with 404.
      const hls = mist.hls(`streams+${user}`);
      expect(hls.code).toBe(200);
      expect(hls.error).toBe(true);
      expect(hls.segmentBytes).toBe(0);
      const ts = await mist.viewTs(`streams+${user}`, '', 2).done;
      expect(ts.code).toBe(404);
      expect(ts.bytes).toBeLessThan(200);
      // The refused viewer is audited before the answer (MistServer kills USER_NEW after it).
      await waitFor('refusal audited', () => refusals(user).length >= 1, 5000);
      expect(refusals(user)[0]?.reason).toMatch(new RegExp(`^${rule}`));

      const bad = badToken();
      expect((await mist.viewTs(`streams+${user}`, `?tkn=${bad}`, 2).done).code).toBe(404);
      expect(mist.hls(`streams+${user}`, `?tkn=${bad}`).error).toBe(true);
      const good = goodToken();
      const admitted = await mist.viewTs(`streams+${user}`, `?tkn=${good}`, 2).done;
      expect(admitted.code).toBe(200);
      expect(admitted.bytes).toBeGreaterThan(5000);
      const ok = mist.hls(`streams+${user}`, `?tkn=${good}`);
      expect(ok).toMatchObject({ code: 200, error: false });
      expect(ok.segmentBytes).toBeGreaterThan(1000);
      expect(await mist.play(`http://127.0.0.1:8080/${encodeURIComponent(`streams+${user}`)}.ts?tkn=${good}`, 2)).toBeGreaterThan(10);
      // Tokens never reach the audit log.
      expect(JSON.stringify(mist.events())).not.toContain(good.split('.')[2]);
      await push.end();
    },
  );

  it('viewer cap 2 admits exactly 2 of 3 concurrent sessions', async () => {
    await liveChannel('cap', '--viewer-cap', '2');
    // Distinct non-JWT tkn strings: anonymous viewers on a public channel, but three sessions to MistServer.
    const viewers = [1, 2, 3].map((i) => mist.viewTs('streams+cap', `?tkn=viewer${i}`, 4));
    const seen = await Promise.all(viewers.map((v) => v.done));
    expect(seen.map((s) => s.code).sort()).toEqual([200, 200, 404]);
    expect(seen.filter((s) => s.code === 200).every((s) => s.bytes > 5000)).toBe(true);
    expect(refusals('cap').map((e) => e.reason)).toEqual([expect.stringMatching(/^viewer-cap/)]);
    await pushes.get('cap')!.end();
  });
});

describe('admin changes reach current sessions within seconds', () => {
  /** A TS viewer that would watch for 30 s; resolves when MistServer ends it. */
  async function watching(user: string) {
    const v = mist.viewTs(`streams+${user}`, '', 30);
    await v.receives();
    expect(v.running).toBe(true);
    return v;
  }

  it('a policy change drops the current viewers', async () => {
    await liveChannel('flip');
    const v = await watching('flip');
    const at = Date.now();
    mist.ok(['channel', 'set', 'flip', '--access', 'private']);
    const done = await v.done;
    expect(done.code).toBe(200);
    expect(done.bytes).toBeGreaterThan(5000);
    expect(done.at - at).toBeLessThan(10_000);
    expect((await mist.viewTs('streams+flip', '', 2).done).code).toBe(404);
    await pushes.get('flip')!.end();
  });

  it('a ban drops the current viewer', async () => {
    await liveChannel('banme');
    const v = await watching('banme');
    const at = Date.now();
    mist.ok(['ban', 'add', '--ip', '127.0.0.1', '--channel', 'banme', '--reason', 'test']);
    const done = await v.done;
    expect(done.bytes).toBeGreaterThan(5000);
    expect(done.at - at).toBeLessThan(10_000);
    expect((await mist.viewTs('streams+banme', '?tkn=another', 2).done).code).toBe(404);
    expect(refusals('banme')[0]?.reason).toMatch(/^ban-ip/);
    await pushes.get('banme')!.end();
  });

  it('a key revocation drops the publisher', async () => {
    const p = await liveChannel('kick');
    const at = Date.now();
    mist.ok(['key', 'revoke', 'kick', 'default']);
    const ended = await Promise.race([p.exited, sleep(15_000).then(() => null)]);
    expect(ended).not.toBe(null);
    expect(ended!.at - at).toBeLessThan(10_000);
    expect(ended!.code).not.toBe(0);
  });
});
