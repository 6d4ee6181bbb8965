// Live status on the real MistServer: a push goes live within seconds and offline after it ends,
// its broadcast gets MistServer's STREAM_END totals and the real viewers who watched it, and
// `status --reconcile` agrees with MistServer's active_streams, also after an input crashed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, sleep, waitFor, type Pusher } from './harness';

const mist = new RealMist();
let bobPush: Pusher;
let bobLiveAt = 0;

beforeAll(async () => {
  await mist.start();
  // MistServer leaves connections from loopback and private ranges out of a stream's byte and
  // viewer-second totals (its default bandwidth "exceptions", src/controller/controller_storage.cpp
  // and controller_statistics.cpp): with them every STREAM_END figure here would be 0. An
  // exception matching nothing (TEST-NET-1) makes this server count like one facing the internet.
  await mist.api({ bandwidth: { exceptions: ['192.0.2.0/24'] } });
  mist.user('alice');
  // bob is live through the whole file: the reconcile scenario at the end needs a broadcast
  // older than reconcile's 30 s grace.
  bobPush = mist.push('rtmp', mist.user('bob'), 300);
  await waitFor('bob live', () => mist.scJson(['status', 'bob']).state === 'live', 20_000);
  bobLiveAt = Date.now();
});
afterAll(() => mist.stop());

const broadcast = (user: string) => mist.scJson<any[]>(['broadcasts', user])[0];

describe('a broadcast, as MistServer reports it', () => {
  let push: Pusher;

  it('is live within seconds of the push', async () => {
    const key = mist.scJson<{ key: string }>(['key', 'rotate', 'alice']).key;
    const started = Date.now();
    push = mist.push('rtmp', key, 120);
    await waitFor('alice live', () => mist.scJson(['status', 'alice']).state === 'live', 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await mist.active()).toContain('streams+alice');
    const status = mist.scJson(['status', 'alice']);
    expect(status.broadcast_id).toBe(broadcast('alice').id);
    expect(status.health?.tracks?.map((t: { type: string }) => t.type)).toEqual(expect.arrayContaining(['audio', 'video']));
  });

  it('real viewers play it and are counted', async () => {
    const ts = mist.viewTs('streams+alice', '', 4);
    const frames = await mist.play('http://127.0.0.1:8080/hls/streams+alice/index.m3u8', 3);
    const seen = await ts.done;
    expect(seen.code).toBe(200);
    expect(seen.bytes).toBeGreaterThan(10_000);
    expect(frames).toBeGreaterThan(10);
  });

  it('status --reconcile agrees with active_streams while it is live', async () => {
    const r = mist.scJson(['status', '--reconcile']);
    expect(r.closed).toEqual([]);
    expect(r.active_streams).toBe((await mist.active()).length);
    expect(
      mist
        .scJson<any[]>(['status'])
        .map((c) => c.user)
        .sort(),
    ).toEqual(['alice', 'bob']);
  });

  it('is offline soon after the push ends, with clean end, STREAM_END totals and its viewers', async () => {
    await push.end();
    const ended = Date.now();
    await waitFor('alice offline', () => mist.scJson(['status', 'alice']).state === 'offline', 60_000, 500);
    const offlineAfter = Date.now() - ended;
    expect(offlineAfter).toBeLessThan(60_000);
    // MistServer keeps the stream loaded for a while after its buffer emptied.
    await waitFor('streams+alice unloaded', async () => !(await mist.active()).includes('streams+alice'), 60_000, 500);
    // STREAM_END and USER_END are asynchronous and come late (15 s or more).
    const b = await waitFor(
      'STREAM_END totals and viewers',
      () => {
        const x = broadcast('alice');
        return x.mist_totals && x.unique_viewers >= 2 ? x : null;
      },
      60_000,
      1000,
    );
    expect(b).toMatchObject({ live: false, ended_cleanly: true });
    // MistServer's totals for it, in the payload's order (down, up: controller_statistics.cpp): down
    // is what the push sent it, up what it sent the viewers (seen: 167 kB down, 280 kB up, 40 s).
    expect(b.mist_totals.inputs).toBeGreaterThanOrEqual(1); // 1 in most runs, 2 seen once under load (cause not established)
    expect(b.mist_totals.bytes_down).toBeGreaterThan(10_000);
    expect(b.mist_totals.bytes_up).toBeGreaterThan(10_000);
    expect(b.mist_totals.viewer_seconds).toBeGreaterThan(0);
    expect(b.mist_totals.viewers).toBeGreaterThanOrEqual(2);
    expect(b.total_viewers).toBeGreaterThanOrEqual(2);
    expect(b.watch_time_s).toBeGreaterThanOrEqual(2);
    expect(
      mist
        .events('broadcast')
        .filter((e) => e.user === 'alice')
        .map((e) => e.outcome),
    ).toEqual(['offline', 'live']);
  });
});

describe('status --reconcile', () => {
  it('after MistServer crashed and came back, closes the broadcast it lost, not cleanly', async () => {
    expect(await mist.active()).toContain('streams+bob');
    await sleep(Math.max(0, bobLiveAt + 31_000 - Date.now()));
    // MistServer dies with bob live: no EMPTY, no STREAM_END. It comes back (blank config, apply)
    // with its shared memory gone, as after a reboot. (Restarted over the crashed server's
    // /dev/shm/Mst* pages, it listed streams+bob in active_streams for over 90 s.)
    mist.crash();
    // The encoder notices the dead connection; never wait on it for ever (a hung test tells nothing).
    await Promise.race([bobPush.exited, sleep(15_000)]);
    if (bobPush.running) bobPush.proc.kill('SIGKILL');
    mist.clearShm();
    await mist.startMist();
    expect(mist.scJson(['status', 'bob']).state).toBe('live');
    expect(await mist.active()).toEqual([]);
    const r = mist.scJson(['status', '--reconcile']);
    expect(r).toEqual({ active_streams: 0, closed: [expect.objectContaining({ user: 'bob' })] });
    expect(mist.scJson(['status', 'bob']).state).toBe('offline');
    expect(broadcast('bob')).toMatchObject({ live: false, ended_cleanly: false });
    expect(mist.events('broadcast').filter((e) => e.user === 'bob')[0]?.outcome).toBe('offline');
    // Run again (cron): nothing left to close.
    expect(mist.scJson(['status', '--reconcile']).closed).toEqual([]);
  }, 240_000); // a crash, a restart and 30 s of reconcile grace: slow on a loaded machine
});
