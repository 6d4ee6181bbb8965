// Tokens that behave like tickets on the real MistServer, one box: real RTMP pushes,
// real HLS and MPEG-TS viewers (curl). A token that expires mid-session is cut off by the expiry
// job (run here every JOB_PERIOD_MS, as install.sh's timer runs it) while a longer token on the same
// stream keeps playing; viewer-sessions refuses a viewer's extra session or evicts the oldest on
// MistServer (stop_sessid); a revoked token's session is stopped and the token refused after.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cleanEnv, RealMist, runEvery, sleep, waitFor, type Pusher } from './harness';

const run = promisify(execFile);
const mist = new RealMist();
const pushes: Pusher[] = [];
/** The expiry job's period in this test (install.sh's systemd timer: 15 s). */
const JOB_PERIOD_MS = 5000;

async function liveChannel(user: string, ...policy: string[]): Promise<void> {
  const key = mist.user(user);
  mist.ok(['channel', 'set', user, '--access', 'paid', ...policy]);
  pushes.push(mist.push('rtmp', key, 240));
  await waitFor(
    `streams+${user} live`,
    async () => (await mist.active()).includes(`streams+${user}`) && mist.scJson(['status', user]).state === 'live',
    60_000,
  );
  await sleep(2000); // a couple of keyframes before HLS has a segment
}

/** The installed CLI without blocking this process (viewers' exits are timed on its event loop). */
const scAsync = (args: string[]) => run(join(mist.prefix, 'bin', 'streamctl'), args, { env: cleanEnv(), encoding: 'utf8' });

const issue = (channel: string, viewer: string, ttl: string) =>
  mist.scJson<{ token: string; jti: string }>(['token', 'issue', channel, '--viewer', viewer, '--ent', 'paid', '--ttl', ttl]);

/** An HLS player: fetches the media playlist and its newest segment every second; resolves when refused (or at maxMs). */
function hlsPlayer(stream: string, token: string, maxMs: number) {
  let bytes = 0;
  let stopped = false;
  const done = (async () => {
    const started = Date.now();
    const base = `http://127.0.0.1:8080/hls/${stream}/`;
    // A timed-out request is an empty answer (the player simply tries again), not a failure.
    const get = async (url: string) =>
      (
        await run('curl', ['-s', '--max-time', '5', url], { encoding: 'latin1', maxBuffer: 16 << 20 }).catch((e: { stdout?: string }) => ({
          stdout: e.stdout ?? '',
        }))
      ).stdout;
    while (!stopped && Date.now() - started < maxMs) {
      const master = await get(`${base}index.m3u8?tkn=${token}`);
      if (master.includes('#EXT-X-ERROR')) return { refusedAt: Date.now(), bytes };
      const media = master
        .split('\n')
        .find((l) => l.trim() && !l.startsWith('#'))
        ?.trim();
      if (media) {
        const mediaUrl = /^https?:/.test(media) ? media : `${base}${media}`;
        const list = await get(mediaUrl);
        if (list.includes('#EXT-X-ERROR')) return { refusedAt: Date.now(), bytes };
        const segs = list.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
        const seg = segs.at(-1)?.trim();
        if (seg) bytes += (await get(/^https?:/.test(seg) ? seg : `${mediaUrl.slice(0, mediaUrl.lastIndexOf('/') + 1)}${seg}`)).length;
      }
      await sleep(1000);
    }
    return { refusedAt: null as number | null, bytes };
  })();
  return {
    done,
    stop: () => void (stopped = true),
    get bytes() {
      return bytes;
    },
  };
}

beforeAll(async () => {
  await mist.start();
  mist.ok(['token', 'secret']);
});
afterAll(async () => {
  for (const p of pushes) await p.end();
  await mist.stop();
});

describe('an expired token stops playing', () => {
  it('HLS and TS viewers with a ~20 s token are cut off within 20 s + the job period + 5 s; a longer token plays on; a fresh token plays again', async () => {
    await liveChannel('exp');
    const issuedAt = Date.now();
    const shortTs = issue('exp', 'ts-viewer', '20s');
    const shortHls = issue('exp', 'hls-viewer', '20s');
    const long = issue('exp', 'long-viewer', '10m');
    const ts = mist.viewTs('streams+exp', `?tkn=${shortTs.token}`, 90);
    const hls = hlsPlayer('streams+exp', shortHls.token, 90_000);
    // Ends by itself after 45 s (curl prints its byte count only when it ends on its own).
    const longTs = mist.viewTs('streams+exp', `?tkn=${long.token}`, 45);
    // The scheduled job, as the timer runs it.
    const stopJob = runEvery(JOB_PERIOD_MS, () => scAsync(['sessions', 'expire']));
    try {
      const bound = 20_000 + JOB_PERIOD_MS + 5000;
      const tsDone = await ts.done;
      expect(tsDone.code).toBe(200);
      expect(tsDone.bytes).toBeGreaterThan(20_000);
      expect(tsDone.at - issuedAt).toBeGreaterThan(15_000);
      expect(tsDone.at - issuedAt).toBeLessThan(bound);
      const hlsDone = await hls.done;
      expect(hlsDone.refusedAt).not.toBeNull();
      expect(hlsDone.bytes).toBeGreaterThan(10_000);
      expect(hlsDone.refusedAt! - issuedAt).toBeLessThan(bound);
      // The longer token on the same stream is still receiving.
      expect(longTs.proc.exitCode).toBe(null);
      const refused = mist.events('view').filter((e) => e.user === 'exp' && e.outcome === 'refused');
      expect(refused.map((e) => e.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/^token-expired/)]));
      // A player that reconnects with a fresh token plays again.
      const fresh = issue('exp', 'ts-viewer', '10m');
      const again = await mist.viewTs('streams+exp', `?tkn=${fresh.token}`, 8).done;
      expect(again.code).toBe(200);
      expect(again.bytes).toBeGreaterThan(5000);
    } finally {
      await stopJob();
    }
    const longDone = await longTs.done;
    expect(longDone.at - issuedAt).toBeGreaterThan(40_000);
    expect(longDone.bytes).toBeGreaterThan(50_000);
  }, 150_000);
});

describe('one paid login, one screen', () => {
  it("viewer-sessions 1 refuses the same viewer's second session with the reason viewer-sessions", async () => {
    await liveChannel('one', '--viewer-sessions', '1');
    const first = mist.viewTs('streams+one', `?tkn=${issue('one', 'fan', '10m').token}`, 25);
    await sleep(2500);
    expect(first.proc.exitCode).toBe(null);
    const second = await mist.viewTs('streams+one', `?tkn=${issue('one', 'fan', '11m').token}`, 10).done;
    expect(second.code).toBe(404);
    const other = await mist.viewTs('streams+one', `?tkn=${issue('one', 'someone-else', '10m').token}`, 6).done;
    expect(other.bytes).toBeGreaterThan(5000);
    await waitFor(
      'refusal audited',
      () => mist.events('view').some((e) => e.user === 'one' && e.reason.startsWith('viewer-sessions')),
      5000,
    );
    const explained = mist.sc(['access', 'explain', 'one', '--token', issue('one', 'fan', '12m').token, '--json']);
    expect(explained.status).toBe(1);
    expect(JSON.parse(explained.stdout).rule).toBe('viewer-sessions');
    expect((await first.done).bytes).toBeGreaterThan(20_000);
  }, 150_000);

  it('with --on-excess evict-oldest the new session plays and the oldest is stopped on MistServer within seconds', async () => {
    await liveChannel('evict', '--viewer-sessions', '1', '--on-excess', 'evict-oldest');
    const [first, second] = [issue('evict', 'fan', '10m').token, issue('evict', 'fan', '11m').token];
    const oldest = mist.viewTs('streams+evict', `?tkn=${first}`, 40);
    await sleep(3000);
    expect(oldest.proc.exitCode).toBe(null);
    const at = Date.now();
    const newest = mist.viewTs('streams+evict', `?tkn=${second}`, 15);
    const stopped = await oldest.done;
    expect(stopped.bytes).toBeGreaterThan(10_000);
    expect(stopped.at - at).toBeLessThan(8000);
    expect(newest.proc.exitCode).toBe(null);
    const played = await newest.done;
    expect(played.at - at).toBeGreaterThan(13_000);
    expect(played.bytes).toBeGreaterThan(20_000);
    expect(mist.events('view').some((e) => e.user === 'evict' && e.outcome === 'stopped' && e.reason.startsWith('viewer-sessions'))).toBe(
      true,
    );
  }, 150_000);

  it('token revoke stops the session the token admitted within seconds and refuses the token after', async () => {
    await liveChannel('rev');
    const t = issue('rev', 'fan', '10m');
    const other = issue('rev', 'fan2', '10m');
    const viewer = mist.viewTs('streams+rev', `?tkn=${t.token}`, 40);
    const bystander = mist.viewTs('streams+rev', `?tkn=${other.token}`, 20);
    await sleep(3000);
    expect(viewer.proc.exitCode).toBe(null);
    const at = Date.now();
    const revoked = JSON.parse((await scAsync(['token', 'revoke', t.jti, '--json'])).stdout) as { jti: string };
    expect(revoked.jti).toBe(t.jti);
    const done = await viewer.done;
    expect(done.bytes).toBeGreaterThan(10_000);
    expect(done.at - at).toBeLessThan(8000);
    expect(bystander.proc.exitCode).toBe(null);
    // A new session with the revoked token: refused (another address, so MistServer makes a new session).
    const again = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--interface',
      '127.0.0.2',
      '--max-time',
      '10',
      `http://127.0.0.1:8080/${encodeURIComponent('streams+rev')}.ts?tkn=${t.token}`,
    ]).catch((e: { stdout: string }) => e);
    expect(again.stdout).toBe('404');
    expect((await bystander.done).bytes).toBeGreaterThan(20_000);
  }, 150_000);
});
