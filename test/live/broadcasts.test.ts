// Live status in process: STREAM_BUFFER, STREAM_END and USER_END on the captured payloads, then
// delivered shuffled, twice, out of order; read back through `status` and `broadcasts` (CLI in
// process). Concurrent processes and the dispatcher are in test/process/programs.test.ts.
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/open';
import { fixtureEnv } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, rows } from '../support/db';
import { at, captured, deliver, empty, forChannel, full, iso, shuffled } from './deliveries';

const status = (db: Db, user: string) => cliJson(db, ['status', user]);
const broadcasts = (db: Db, user: string): Promise<any[]> => cliJson(db, ['broadcasts', user]);

describe('capture 01: a full broadcast lifecycle', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  const first = fixtureEnv('01-basic-push-alice/STREAM_BUFFER-1');
  const end = fixtureEnv('01-basic-push-alice/STREAM_BUFFER-2');

  it('FULL makes the channel live with the track health, and opens one broadcast', async () => {
    expect(deliver(db, captured('01-basic-push-alice/STREAM_BUFFER-1')).lines).toEqual([]);
    const s = await status(db, 'alice');
    expect(s.state).toBe('live');
    expect(s.since).toBe(iso(Number(first.MIST_TIME)));
    expect(s.health.tracks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'video',
          codec: 'H264',
          width: 640,
          height: 360,
          fps: 25,
          kbits: 369,
          buffer_ms: 4320,
          jitter_ms: 60,
        }),
        expect.objectContaining({ type: 'audio', codec: 'AAC', sample_rate: 48000, channels: 2, kbits: 93 }),
      ]),
    );
    expect((await cliJson(db, ['status'])).map((c: any) => c.user)).toEqual(['alice']);
    const [b] = await broadcasts(db, 'alice');
    expect(b).toMatchObject({ live: true, ended_at: null, ended_cleanly: null });
  });

  it('replays the rest of the capture: EMPTY closes it, USER_END and STREAM_END attach to it, vod is ignored', async () => {
    for (const name of ['USER_END-1', 'STREAM_BUFFER-2', 'USER_END-2', 'STREAM_END-1', 'USER_END-3', 'STREAM_END-2']) {
      expect(deliver(db, captured(`01-basic-push-alice/${name}`)).lines, name).toEqual([]);
    }
    const s = await status(db, 'alice');
    expect(s.state).toBe('offline');
    expect(s.since).toBe(iso(Number(end.MIST_TIME)));
    expect(await cliJson(db, ['status'])).toEqual([]);
    expect((await cliJson(db, ['events', '--kind', 'broadcast'])).map((e: any) => [e.outcome, e.reason, e.user])).toEqual([
      ['offline', 'STREAM_BUFFER EMPTY', 'alice'],
      ['live', 'STREAM_BUFFER FULL', 'alice'],
    ]);
    const list = await broadcasts(db, 'alice');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      started_at: iso(Number(first.MIST_TIME)),
      ended_at: iso(Number(end.MIST_TIME)),
      live: false,
      duration_s: 16,
      ended_cleanly: true,
      unique_viewers: 2,
      total_viewers: 2,
      peak_viewers: 2,
      watch_time_s: 13,
      mist_totals: { bytes_down: 0, bytes_up: 1426133, viewers: 2, inputs: 1, outputs: 1, viewer_seconds: 0 },
    });
    expect((await cli(db, ['broadcasts', 'alice'])).stdout).toMatch(
      /^1\s+2026-11-23 19:24:00Z\s+2026-11-23 19:24:16Z\s+16s\s+2\s+2\s+13s\s+clean$/m,
    );
    expect((await cli(db, ['status', 'alice'])).stdout).toMatch(/state:\s+offline/);
  });

  it('closes each viewer session with its seconds and bytes (no USER_NEW ran) and never stores the token', () => {
    const sessions = rows(
      db,
      'SELECT session_id, closed_at, seconds, bytes_up, bytes_down, broadcast_id, connector, ip FROM viewer_sessions ORDER BY seconds',
    );
    const all = JSON.stringify(rows(db, 'SELECT * FROM viewer_sessions')) + JSON.stringify(rows(db, 'SELECT * FROM session_ends'));
    expect(sessions).toEqual([
      expect.objectContaining({
        session_id: '7025fa2f725c64a39907bf86d5665405173468cee54010985d364c4b811bab84',
        seconds: 6,
        bytes_up: 2316,
        bytes_down: 0,
        connector: 'HLS',
        ip: '127.0.0.1',
      }),
      expect.objectContaining({
        session_id: '6da5ba93cd0c2b4628de475aaef592f75884be0595b97b84ee60f58e218659d2',
        seconds: 7,
        bytes_up: 458276,
        connector: 'HTTPTS',
      }),
    ]);
    expect(sessions.every((r: any) => r.closed_at !== null && r.broadcast_id === 1)).toBe(true);
    expect(all).not.toContain('abc123');
    expect(all).not.toContain('1684129823');
  });

  it('repeated deliveries (same MIST_TUUID) change nothing', async () => {
    const before = JSON.stringify(await broadcasts(db, 'alice'));
    const stored = rows(db, 'SELECT count(*) AS n FROM buffer_events');
    for (const name of ['STREAM_BUFFER-1', 'USER_END-1', 'STREAM_BUFFER-2', 'STREAM_END-1'])
      deliver(db, captured(`01-basic-push-alice/${name}`));
    expect(JSON.stringify(await broadcasts(db, 'alice'))).toBe(before);
    expect(rows(db, 'SELECT count(*) AS n FROM buffer_events')).toEqual(stored);
  });
});

describe('capture 23: DRY and RECOVER', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  const step = (n: number) =>
    deliver(db, captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`, { from: 'buf', to: 'streams+alice' }));

  it("goes live, unstable with MistServer's reason, live again, then offline", async () => {
    step(1);
    expect(await status(db, 'alice')).toMatchObject({ state: 'live', issues: null });
    step(2);
    const dry = await status(db, 'alice');
    expect(dry.state).toBe('unstable');
    expect(dry.issues).toBe('unstable connection (1 H264 frame(s) in key)! unstable key interval (4900% H264 variance)!');
    expect(dry.health.tracks).toEqual(
      expect.arrayContaining([expect.objectContaining({ codec: 'H264', width: 320, height: 180, kbits: 237, jitter_ms: 9 })]),
    );
    expect((await cliJson(db, ['status']))[0]).toMatchObject({ user: 'alice', state: 'unstable' });
    expect((await cli(db, ['status'])).stdout).toMatch(/alice\s+unstable.*unstable connection/);
    step(3);
    expect(await status(db, 'alice')).toMatchObject({ state: 'live', issues: null });
    step(4);
    expect((await status(db, 'alice')).state).toBe('offline');
    const list = await broadcasts(db, 'alice');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ ended_cleanly: true, duration_s: 86 });
  });
});

describe('out-of-order and repeated deliveries', () => {
  const db = memoryDb();
  const events = [1, 2, 3, 4].map((n) => captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`));
  const times = events.map((e) => Number(e.env.MIST_TIME));

  it.each([1, 2, 3, 4, 5, 6])('converges on the in-order result for shuffle #%i with every event delivered twice', async (seed) => {
    const user = `shuffle${seed}`;
    await addUser(db, user);
    const mine = events.map((e) => ({
      ...e,
      payload: forChannel(e.payload, 'buf', `streams+${user}`),
      env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-${user}` },
    }));
    for (const e of shuffled([...mine, ...mine], seed)) deliver(db, e);
    const list = await broadcasts(db, user);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ started_at: iso(times[0]!), ended_at: iso(times[3]!), ended_cleanly: true });
    const s = await status(db, user);
    expect(s.state).toBe('offline');
    // The newest health is RECOVER's, whatever order it came in.
    expect(s.health.at).toBe(iso(times[2]!));
  });

  it('a stale DRY delivered after RECOVER does not make the channel unstable', async () => {
    await addUser(db, 'stale');
    const mine = events.map((e) => ({
      ...e,
      payload: forChannel(e.payload, 'buf', 'streams+stale'),
      env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-stale` },
    }));
    deliver(db, mine[0]!);
    deliver(db, mine[2]!);
    deliver(db, mine[1]!);
    expect(await status(db, 'stale')).toMatchObject({ state: 'live', issues: null });
  });

  it('a duplicate FULL (same MIST_TUUID, or the same event without one) never opens a second broadcast', async () => {
    await addUser(db, 'dup');
    deliver(db, full('streams+dup', 1_000_000, 'full-dup'));
    deliver(db, full('streams+dup', 1_000_000, 'full-dup'));
    deliver(db, { ...full('streams+dup', 1_000_000), env: { MIST_TIME: '1000000' } });
    deliver(db, full('streams+dup', 1_000_900, 'another-full'));
    expect(await broadcasts(db, 'dup')).toHaveLength(1);
    expect((await status(db, 'dup')).state).toBe('live');
  });

  it('EMPTY without FULL is harmless', async () => {
    await addUser(db, 'never');
    expect(deliver(db, empty('streams+never', 2_000_000)).lines).toEqual([]);
    expect(await broadcasts(db, 'never')).toEqual([]);
    expect((await status(db, 'never')).state).toBe('offline');
  });

  it('a reconnect whose FULL overtakes the previous EMPTY gives two broadcasts and leaves the channel live', async () => {
    await addUser(db, 'recon');
    deliver(db, full('streams+recon', 3_000_000));
    deliver(db, full('streams+recon', 3_010_000));
    deliver(db, empty('streams+recon', 3_005_000));
    const list = await broadcasts(db, 'recon');
    expect(list.map((b) => [b.started_at, b.ended_at])).toEqual([
      [iso(3_010_000), null],
      [iso(3_000_000), iso(3_005_000)],
    ]);
    expect(await status(db, 'recon')).toMatchObject({ state: 'live', since: iso(3_010_000) });
  });

  it('two broadcasts delivered in reverse order come out as two broadcasts', async () => {
    await addUser(db, 'rev');
    for (const e of [
      empty('streams+rev', 4_015_000),
      full('streams+rev', 4_010_000),
      empty('streams+rev', 4_005_000),
      full('streams+rev', 4_000_000),
    ])
      deliver(db, e);
    expect((await broadcasts(db, 'rev')).map((b) => [b.started_at, b.ended_at, b.ended_cleanly])).toEqual([
      [iso(4_010_000), iso(4_015_000), true],
      [iso(4_000_000), iso(4_005_000), true],
    ]);
  });

  it('a STREAM_END that arrives before the EMPTY still attaches to that broadcast', async () => {
    await addUser(db, 'late');
    deliver(db, full('streams+late', 5_000_000));
    deliver(db, at('STREAM_END', 'streams+late\n0\n1000\n3\n1\n1\n0', 5_030_000));
    expect((await broadcasts(db, 'late'))[0].mist_totals).toBeNull();
    deliver(db, empty('streams+late', 5_010_000));
    expect((await broadcasts(db, 'late'))[0].mist_totals).toMatchObject({ bytes_up: 1000, viewers: 3 });
  });
});
