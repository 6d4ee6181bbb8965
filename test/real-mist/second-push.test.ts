// A second encoder on a live channel, on the real MistServer: two ffmpeg pushes per
// policy. Encoder A sends 160x120 pictures, B 320x240, so what MistServer offers its viewers (the
// stream's tracks) and what a viewer decodes tell who is live. Asserted: which ffmpeg MistServer
// cut, the input sessions MistServer lists, what a viewer decodes, and the push events.
// MistServer's own behaviour without a policy (both encoders feed the stream) is in docs/ingest.md.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, sleep, waitFor, type Pusher } from './harness';

const mist = new RealMist();

beforeAll(async () => {
  await mist.start();
});
afterAll(() => mist.stop());

const stream = (user: string) => `streams+${user}`;

/** The picture sizes MistServer offers for the stream now (its video tracks). */
async function videoSizes(user: string): Promise<string[]> {
  try {
    const info = (await (await fetch(`http://127.0.0.1:8080/json_${encodeURIComponent(stream(user))}.js`)).json()) as {
      meta?: { tracks?: Record<string, { type?: string; width?: number; height?: number }> };
    };
    return Object.values(info.meta?.tracks ?? {})
      .filter((t) => t.type === 'video')
      .map((t) => `${t.width}x${t.height}`)
      .sort();
  } catch {
    return [];
  }
}

/** The input (publishing) sessions MistServer lists for the stream (seen in the last 2 s), by protocol. */
async function encoders(user: string): Promise<string[]> {
  const c = (
    await mist.api({ clients: { time: Math.floor(Date.now() / 1000) - 2, streams: [stream(user)], fields: ['protocol', 'sessid'] } })
  ).clients as { fields: string[]; data: unknown[][] | null };
  return (c.data ?? [])
    .filter((r) => String(r[c.fields.indexOf('sessid')]).startsWith('I'))
    .map((r) => String(r[c.fields.indexOf('protocol')]));
}

/** A viewer (ffmpeg, progressive TS) for `seconds`: frames decoded and the picture sizes seen. */
function watch(user: string, seconds: number): Promise<{ frames: number; sizes: string[] }> {
  const p = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-rw_timeout',
      '8000000',
      '-i',
      `http://127.0.0.1:8080/${encodeURIComponent(stream(user))}.ts`,
      '-t',
      String(seconds),
      '-map',
      '0:v:0?',
      '-vf',
      'showinfo',
      '-f',
      'null',
      '-',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  mist.track(p);
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) =>
    p.on('exit', () => {
      const frames = [...err.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
      resolve({ frames, sizes: [...new Set([...err.matchAll(/ s:(\d+x\d+)/g)].map((m) => m[1]!))] });
    }),
  );
}

/** A with the user's first key, live (STREAM_BUFFER FULL) with one encoder listed. */
async function liveWith(user: string, key: string): Promise<Pusher> {
  const a = mist.push('rtmp', key, 90, '160x120');
  await waitFor(`${user} live`, () => mist.scJson(['status', user]).state === 'live', 20_000);
  await waitFor(`one encoder on ${stream(user)}`, async () => (await encoders(user)).length === 1);
  return a;
}

const backupKey = (user: string) => mist.scJson<{ key: string }>(['key', 'add', user, '--label', 'backup']).key;
const userEvents = (user: string) => mist.events('push').filter((e) => e.user === user);

describe('--second-push refuse (the default)', () => {
  it.each([
    ['rtmp', 'rita'],
    ['srt', 'sara'],
  ] as const)('RTMP live, then a second encoder over %s: refused; A stays live and viewers keep watching A', async (proto, user) => {
    const a = await liveWith(user, mist.user(user));
    const viewer = watch(user, 12);
    await sleep(2000);
    const b = mist.push(proto, backupKey(user), 30, '320x240');
    await waitFor('the refusal in the events', () => userEvents(user)[0]?.outcome === 'refused', 40_000, 1000).catch((err: Error) => {
      // Seen once in CI and not reproduced: say what the events and MistServer said, so the next one can be read.
      const pushLines = mist
        .log()
        .split('\n')
        .filter((l) => /PUSH_REWRITE|RTMP|SRT|push/i.test(l))
        .slice(-30);
      throw new Error(`${err.message}\npush events of ${user}: ${JSON.stringify(userEvents(user))}\n${pushLines.join('\n')}`);
    });
    await sleep(3000);
    // Who is live: A alone. MistServer never took B's tracks, and A was not cut.
    expect(a.running).toBe(true);
    expect(await videoSizes(user)).toEqual(['160x120']);
    // A loaded MistServer's statistics can lag the clock by seconds (seen in CI: none in the last 2 s).
    await waitFor('A alone among the encoders', async () => JSON.stringify(await encoders(user)) === '["INPUT:RTMP"]', 10_000, 500);
    if (proto === 'rtmp') expect((await b.exited).code).not.toBe(0);
    else await b.end(); // SRT: ffmpeg keeps sending into a connection MistServer closed
    const seen = await viewer;
    expect(seen.sizes).toEqual(['160x120']);
    expect(seen.frames).toBeGreaterThan(12 * 15 * 0.6);
    expect(userEvents(user).slice(0, 2)).toEqual([
      expect.objectContaining({ outcome: 'refused', reason: 'second push: the channel is live (policy refuse)', detail: 'PUSH_REWRITE' }),
      expect.objectContaining({ outcome: 'accepted', reason: 'key "default"' }),
    ]);
    await a.end();
  });
});

describe('--second-push takeover', () => {
  it.each([
    ['rtmp', 'tom'],
    ['srt', 'tess'],
  ] as const)('RTMP live, then a second encoder over %s: A is cut, B is live, new viewers get B', async (proto, user) => {
    const a = await liveWith(user, mist.user(user));
    mist.ok(['channel', 'set', user, '--second-push', 'takeover']);
    const during = watch(user, 25);
    await sleep(2000);
    const b = mist.push(proto, backupKey(user), 60, '320x240');
    // Who was cut: A's ffmpeg, by MistServer (stop_sessid), within seconds.
    const cut = await Promise.race([a.exited, sleep(30_000).then(() => null)]);
    expect(cut, JSON.stringify(userEvents(user).slice(0, 3))).not.toBeNull();
    expect(b.running).toBe(true);
    await waitFor(
      'B alone on the stream',
      async () => {
        const seen = { sizes: await videoSizes(user), encoders: await encoders(user) };
        return JSON.stringify(seen.sizes) === '["320x240"]' || console.log(`${user}: ${JSON.stringify(seen)}`);
      },
      30_000,
      1000,
    );
    await waitFor(
      "B alone in MistServer's sessions",
      async () => JSON.stringify(await encoders(user)) === JSON.stringify([proto === 'rtmp' ? 'INPUT:RTMP' : 'INPUT:TSSRT']),
      30_000,
      1000,
    );
    await waitFor(`${user} live`, () => mist.scJson(['status', user]).state === 'live', 20_000);
    const after = await watch(user, 4);
    expect(after.sizes).toEqual(['320x240']);
    expect(after.frames).toBeGreaterThan(15);
    const seen = await during;
    // What a viewer connected before the takeover saw: A's pictures, then whatever MistServer gave it
    // after A's tracks went (logged for docs/ingest.md, not asserted: it depends on the moment).
    console.log(`takeover ${proto}: viewer from before saw ${seen.frames} frames, sizes ${seen.sizes.join(',')}`);
    expect(seen.sizes[0]).toBe('160x120');
    const events = userEvents(user);
    expect(events.slice(0, 3)).toEqual([
      expect.objectContaining({
        outcome: 'accepted',
        reason: expect.stringMatching(/^key "backup"; took over from 127\.0\.0\.1 \(1 encoder session\(s\) stopped\)$/),
      }),
      expect.objectContaining({
        outcome: 'stopped',
        reason: expect.stringMatching(/^taken over by a push from .*127\.0\.0\.1 \(policy takeover\)$/),
        ip: '127.0.0.1',
      }),
      expect.objectContaining({ outcome: 'accepted', reason: 'key "default"' }),
    ]);
    await b.end();
  });
});

describe('--reconnect-grace', () => {
  it('after the live encoder dropped, another key is refused within the grace and the same key goes live again', async () => {
    const user = 'gina';
    const key = mist.user(user);
    mist.ok(['channel', 'set', user, '--reconnect-grace', '2m']);
    const a = await liveWith(user, key);
    await a.end();
    // The grace runs from A's drop: STREAM_BUFFER's EMPTY (MistServer lists A's session ~20 s longer).
    await waitFor(`${user} offline`, () => mist.scJson(['status', user]).state === 'offline', 30_000, 1000);
    const b = mist.push('rtmp', backupKey(user), 20, '320x240');
    expect((await b.exited).code).not.toBe(0);
    expect(userEvents(user)[0]).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/^reconnect grace: only the key that was live may publish for \d+ s more$/),
    });
    const again = mist.push('rtmp', key, 60, '160x120');
    await waitFor('A back on the stream', async () => (await encoders(user)).length >= 1, 30_000, 1000);
    expect(again.running).toBe(true);
    await waitFor('A live again', async () => JSON.stringify(await videoSizes(user)) === '["160x120"]', 20_000);
    expect(userEvents(user)[0]).toMatchObject({ outcome: 'accepted', reason: 'key "default"' });
    await again.end();
  });
});
