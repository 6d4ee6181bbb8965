// STREAM_BUFFER, STREAM_END and USER_END run as MistServer runs them, on the captured payloads,
// then delivered shuffled, twice and all at once; plus `status`, `broadcasts`, `--reconcile` and hooks.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addUser, baseEnv, BIN, cli, cliJson, fixture, fixtureEnv, freshDb, runTrigger, runTriggerAsync, tempDir, type RunResult } from './helpers';

type Trigger = 'STREAM_BUFFER' | 'STREAM_END' | 'USER_END';
const PROGRAM: Record<Trigger, string> = { STREAM_BUFFER: 'stream-buffer', STREAM_END: 'stream-end', USER_END: 'user-end' };

/** The payload with its stream line(s) pointed at another channel. */
const forChannel = (payload: string, from: string, to: string) => payload.split('\n').map((l) => (l === from ? to : l)).join('\n');

/** A captured event, optionally moved to another channel, with its recorded MIST_TIME/MIST_TUUID. */
function captured(name: string, moveTo?: { from: string; to: string }) {
  const trigger = name.split('/')[1]!.replace(/-\d+$/, '') as Trigger;
  const payload = moveTo ? forChannel(fixture(name), moveTo.from, moveTo.to) : fixture(name);
  return { trigger, payload, env: fixtureEnv(name) };
}

type Delivery = { trigger: Trigger; payload: string; env: Record<string, string> };

function deliver(db: string, d: Delivery, viaDispatcher = false): RunResult {
  const r = runTrigger({ program: viaDispatcher ? 'mist-trigger' : PROGRAM[d.trigger], trigger: d.trigger, payload: d.payload, db, env: d.env });
  expect(r.stdout).toBe('');
  return r;
}

/** A synthetic event at a given MIST_TIME with its own MIST_TUUID. */
const at = (trigger: Trigger, payload: string, time: number, id = `${trigger}-${time}-${payload.length}`): Delivery => ({
  trigger,
  payload,
  env: { MIST_TIME: String(time), MIST_TUUID: id },
});

const HEALTH = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;
const full = (stream: string, time: number, id?: string) => at('STREAM_BUFFER', `${stream}\nFULL\n${HEALTH}`, time, id);
const empty = (stream: string, time: number, id?: string) => at('STREAM_BUFFER', `${stream}\nEMPTY`, time, id);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function status(db: string, user: string) {
  return cliJson(db, ['status', user]);
}
function broadcasts(db: string, user: string): any[] {
  return cliJson(db, ['broadcasts', user]);
}
function sqlite(db: string) {
  return new Database(db, { readonly: true });
}

/** Deterministic shuffle (a test that fails must fail again). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('capture 01: a full broadcast lifecycle', () => {
  const db = freshDb();
  addUser(db, 'alice');
  const first = fixtureEnv('01-basic-push-alice/STREAM_BUFFER-1');
  const end = fixtureEnv('01-basic-push-alice/STREAM_BUFFER-2');

  it('FULL makes the channel live with the track health, and opens one broadcast', () => {
    deliver(db, captured('01-basic-push-alice/STREAM_BUFFER-1'));
    const s = status(db, 'alice');
    expect(s.state).toBe('live');
    expect(s.since).toBe(iso(Number(first.MIST_TIME)));
    expect(s.health.tracks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'video', codec: 'H264', width: 640, height: 360, fps: 25, kbits: 369, buffer_ms: 4320, jitter_ms: 60 }),
        expect.objectContaining({ type: 'audio', codec: 'AAC', sample_rate: 48000, channels: 2, kbits: 93 }),
      ]),
    );
    expect(cliJson(db, ['status']).map((c: any) => c.user)).toEqual(['alice']);
    const [b] = broadcasts(db, 'alice');
    expect(b).toMatchObject({ live: true, ended_at: null, ended_cleanly: null });
  });

  it('replays the rest of the capture: EMPTY closes it, USER_END and STREAM_END attach to it, vod is ignored', () => {
    for (const name of ['USER_END-1', 'STREAM_BUFFER-2', 'USER_END-2', 'STREAM_END-1', 'USER_END-3', 'STREAM_END-2']) {
      const r = deliver(db, captured(`01-basic-push-alice/${name}`));
      expect(r.stderr).toBe('');
    }
    const s = status(db, 'alice');
    expect(s.state).toBe('offline');
    expect(s.since).toBe(iso(Number(end.MIST_TIME)));
    expect(cliJson(db, ['status'])).toEqual([]);
    expect(cliJson(db, ['events', '--kind', 'broadcast']).map((e: any) => [e.outcome, e.reason, e.user])).toEqual([
      ['offline', 'STREAM_BUFFER EMPTY', 'alice'],
      ['live', 'STREAM_BUFFER FULL', 'alice'],
    ]);
    const list = broadcasts(db, 'alice');
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
    expect(cli(db, ['broadcasts', 'alice']).stdout).toMatch(/^1\s+2026-11-23 19:24:00Z\s+2026-11-23 19:24:16Z\s+16s\s+2\s+2\s+13s\s+clean$/m);
    expect(cli(db, ['status', 'alice']).stdout).toMatch(/state:\s+offline/);
  });

  it('closes each viewer session with its seconds and bytes (no USER_NEW ran) and never stores the token', () => {
    const d = sqlite(db);
    const rows = d.prepare('SELECT session_id, closed_at, seconds, bytes_up, bytes_down, broadcast_id, connector, ip FROM viewer_sessions ORDER BY seconds').all();
    const all = JSON.stringify(d.prepare('SELECT * FROM viewer_sessions').all()) + JSON.stringify(d.prepare('SELECT * FROM session_ends').all());
    d.close();
    expect(rows).toEqual([
      expect.objectContaining({ session_id: '7025fa2f725c64a39907bf86d5665405173468cee54010985d364c4b811bab84', seconds: 6, bytes_up: 2316, bytes_down: 0, connector: 'HLS', ip: '127.0.0.1' }),
      expect.objectContaining({ session_id: '6da5ba93cd0c2b4628de475aaef592f75884be0595b97b84ee60f58e218659d2', seconds: 7, bytes_up: 458276, connector: 'HTTPTS' }),
    ]);
    expect(rows.every((r: any) => r.closed_at !== null && r.broadcast_id === 1)).toBe(true);
    expect(all).not.toContain('abc123');
    expect(all).not.toContain('1684129823');
  });

  it('works the same through the mist-trigger dispatcher, and repeated deliveries change nothing', () => {
    const before = JSON.stringify(broadcasts(db, 'alice'));
    for (const name of ['STREAM_BUFFER-1', 'USER_END-1', 'STREAM_BUFFER-2', 'STREAM_END-1']) deliver(db, captured(`01-basic-push-alice/${name}`), true);
    expect(JSON.stringify(broadcasts(db, 'alice'))).toBe(before);
  });
});

describe('capture 23: DRY and RECOVER', () => {
  const db = freshDb();
  addUser(db, 'alice');
  const step = (n: number) => deliver(db, captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`, { from: 'buf', to: 'streams+alice' }));

  it('goes live, unstable with MistServer\'s reason, live again, then offline', () => {
    step(1);
    expect(status(db, 'alice')).toMatchObject({ state: 'live', issues: null });
    step(2);
    const dry = status(db, 'alice');
    expect(dry.state).toBe('unstable');
    expect(dry.issues).toBe('unstable connection (1 H264 frame(s) in key)! unstable key interval (4900% H264 variance)!');
    expect(dry.health.tracks).toEqual(expect.arrayContaining([expect.objectContaining({ codec: 'H264', width: 320, height: 180, kbits: 237, jitter_ms: 9 })]));
    expect(cliJson(db, ['status'])[0]).toMatchObject({ user: 'alice', state: 'unstable' });
    expect(cli(db, ['status']).stdout).toMatch(/alice\s+unstable.*unstable connection/);
    step(3);
    expect(status(db, 'alice')).toMatchObject({ state: 'live', issues: null });
    step(4);
    expect(status(db, 'alice').state).toBe('offline');
    const list = broadcasts(db, 'alice');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ ended_cleanly: true, duration_s: 86 });
  });
});

describe('out-of-order and repeated deliveries', () => {
  const db = freshDb();
  const events = [1, 2, 3, 4].map((n) => captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`));
  const times = events.map((e) => Number(e.env.MIST_TIME));

  it.each([1, 2, 3, 4, 5, 6])('converges on the in-order result for shuffle #%i with every event delivered twice', (seed) => {
    const user = `shuffle${seed}`;
    addUser(db, user);
    const mine = events.map((e) => ({ ...e, payload: forChannel(e.payload, 'buf', `streams+${user}`), env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-${user}` } }));
    for (const e of shuffled([...mine, ...mine], seed)) deliver(db, e);
    const list = broadcasts(db, user);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ started_at: iso(times[0]!), ended_at: iso(times[3]!), ended_cleanly: true });
    const s = status(db, user);
    expect(s.state).toBe('offline');
    // The newest health is RECOVER's, whatever order it came in.
    expect(s.health.at).toBe(iso(times[2]!));
  });

  it('a stale DRY delivered after RECOVER does not make the channel unstable', () => {
    addUser(db, 'stale');
    const mine = events.map((e) => ({ ...e, payload: forChannel(e.payload, 'buf', 'streams+stale'), env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-stale` } }));
    deliver(db, mine[0]!);
    deliver(db, mine[2]!);
    deliver(db, mine[1]!);
    expect(status(db, 'stale')).toMatchObject({ state: 'live', issues: null });
  });

  it('a duplicate FULL (same MIST_TUUID, or the same event without one) never opens a second broadcast', () => {
    addUser(db, 'dup');
    deliver(db, full('streams+dup', 1_000_000, 'full-dup'));
    deliver(db, full('streams+dup', 1_000_000, 'full-dup'));
    deliver(db, { ...full('streams+dup', 1_000_000), env: { MIST_TIME: '1000000' } });
    deliver(db, full('streams+dup', 1_000_900, 'another-full'));
    expect(broadcasts(db, 'dup')).toHaveLength(1);
    expect(status(db, 'dup').state).toBe('live');
  });

  it('EMPTY without FULL is harmless', () => {
    addUser(db, 'never');
    const r = deliver(db, empty('streams+never', 2_000_000));
    expect(r.stderr).toBe('');
    expect(broadcasts(db, 'never')).toEqual([]);
    expect(status(db, 'never').state).toBe('offline');
  });

  it('a reconnect whose FULL overtakes the previous EMPTY gives two broadcasts and leaves the channel live', () => {
    addUser(db, 'recon');
    deliver(db, full('streams+recon', 3_000_000));
    deliver(db, full('streams+recon', 3_010_000));
    deliver(db, empty('streams+recon', 3_005_000));
    const list = broadcasts(db, 'recon');
    expect(list.map((b) => [b.started_at, b.ended_at])).toEqual([
      [iso(3_010_000), null],
      [iso(3_000_000), iso(3_005_000)],
    ]);
    expect(status(db, 'recon')).toMatchObject({ state: 'live', since: iso(3_010_000) });
  });

  it('two broadcasts delivered in reverse order come out as two broadcasts', () => {
    addUser(db, 'rev');
    for (const e of [empty('streams+rev', 4_015_000), full('streams+rev', 4_010_000), empty('streams+rev', 4_005_000), full('streams+rev', 4_000_000)]) deliver(db, e);
    expect(broadcasts(db, 'rev').map((b) => [b.started_at, b.ended_at, b.ended_cleanly])).toEqual([
      [iso(4_010_000), iso(4_015_000), true],
      [iso(4_000_000), iso(4_005_000), true],
    ]);
  });

  it('a STREAM_END that arrives before the EMPTY still attaches to that broadcast', () => {
    addUser(db, 'late');
    deliver(db, full('streams+late', 5_000_000));
    deliver(db, at('STREAM_END', 'streams+late\n0\n1000\n3\n1\n1\n0', 5_030_000));
    expect(broadcasts(db, 'late')[0].mist_totals).toBeNull();
    deliver(db, empty('streams+late', 5_010_000));
    expect(broadcasts(db, 'late')[0].mist_totals).toMatchObject({ bytes_up: 1000, viewers: 3 });
  });
});

describe('USER_END', () => {
  const db = freshDb();
  addUser(db, 'alice');
  const payload = fixture('32c-push-end/USER_END-1');
  const sessionId = payload.split('\n')[11]!;
  const env = fixtureEnv('32c-push-end/USER_END-1');
  const endTime = Number(env.MIST_TIME);

  it('closes the row USER_NEW opened, keeping its opened_at, and counts for the live broadcast', () => {
    deliver(db, full('streams+alice', endTime - 26_000));
    const w = new Database(db);
    w.prepare(
      `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, ip, connector, opened_at, last_seen_at)
       VALUES (?, (SELECT id FROM users WHERE name = 'alice'), NULL, 'streams+alice', '127.0.0.1', 'HLS', ?, ?)`,
    ).run(sessionId, endTime - 22_000, endTime - 22_000);
    w.close();
    expect(broadcasts(db, 'alice')[0].current_viewers).toBe(1);
    deliver(db, { trigger: 'USER_END', payload, env });
    deliver(db, { trigger: 'USER_END', payload, env });
    const d = sqlite(db);
    const row = d.prepare('SELECT * FROM viewer_sessions WHERE session_id = ?').get(sessionId) as any;
    d.close();
    expect(row).toMatchObject({ opened_at: endTime - 22_000, closed_at: endTime, seconds: 3, bytes_up: 476737, bytes_down: 0 });
    expect(broadcasts(db, 'alice')[0]).toMatchObject({ current_viewers: 0, unique_viewers: 1, watch_time_s: 3 });
  });

  it('adds up a session id that MistServer ends twice (the viewer came back with the same token)', () => {
    deliver(db, { trigger: 'USER_END', payload: payload.replace(/\n3\n476737\n/, '\n10\n1000\n'), env: { MIST_TIME: String(endTime + 60_000), MIST_TUUID: 'second-end' } });
    const d = sqlite(db);
    const row = d.prepare('SELECT closed_at, seconds, bytes_up FROM viewer_sessions WHERE session_id = ?').get(sessionId);
    d.close();
    expect(row).toEqual({ closed_at: endTime + 60_000, seconds: 13, bytes_up: 477737 });
  });

  it('ignores sessions on streams that are not channels, with a debug line only when asked', () => {
    const quiet = deliver(db, captured('36-controller-shutdown/USER_END-1'));
    expect(quiet.stderr).toBe('');
    const r = runTrigger({ program: 'user-end', trigger: 'USER_END', payload: fixture('36-controller-shutdown/USER_END-1'), db, env: { STREAMCTL_DEBUG: '1' } });
    expect(r.stderr).toMatch(/not a channel stream/);
    const d = sqlite(db);
    expect((d.prepare("SELECT count(*) AS n FROM viewer_sessions WHERE stream = 'vod'").get() as any).n).toBe(0);
    d.close();
  });
});

describe('bad input and a missing database', () => {
  const db = freshDb();
  addUser(db, 'alice');

  it('keeps the state change when the health JSON is malformed, with one stderr line', () => {
    const r = deliver(db, at('STREAM_BUFFER', 'streams+alice\nFULL\n{"video_H264":{"codec":', 6_000_000));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/malformed health JSON/);
    expect(status(db, 'alice')).toMatchObject({ state: 'live', health: null });
  });

  it.each([
    ['STREAM_BUFFER', 'an unknown state', 'streams+alice\nHALF\n{}'],
    ['STREAM_BUFFER', 'a stream name with a newline (capture 08)', fixture('08-pushrewrite-trailing-newline/STREAM_BUFFER-1')],
    ['STREAM_END', 'eight lines (capture 10)', fixture('10-handler-exit1-with-output/STREAM_END-1')],
    ['STREAM_END', 'a count that is not a number', 'streams+alice\n0\nlots\n1\n1\n1\n0'],
    ['USER_END', "MistServer's documented 8 lines", 'sid\nstreams+alice\nHLS\n127.0.0.1\n5\n100\n0\n'],
  ] as const)('answers nothing to %s with %s, with one stderr line', (trigger, _, payload) => {
    const r = runTrigger({ program: PROGRAM[trigger], trigger, payload, db });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(trigger);
  });

  it('answers nothing when the database is missing', () => {
    const r = runTrigger({ program: 'stream-buffer', trigger: 'STREAM_BUFFER', payload: 'streams+alice\nEMPTY', db: join(tempDir(), 'none.db') });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/does not exist/);
  });
});

describe('concurrent deliveries', () => {
  it('loses nothing when many trigger processes write one database at once', async () => {
    const db = freshDb();
    const users = ['c1', 'c2', 'c3', 'c4'];
    for (const u of users) addUser(db, u);
    const base = 7_000_000;
    const lifecycle = [1, 2, 3, 4].map((n) => captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`));
    const deliveries: Delivery[] = [];
    users.forEach((u, i) => {
      for (const e of lifecycle) {
        const d = { ...e, payload: forChannel(e.payload, 'buf', `streams+${u}`), env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-${u}` } };
        deliveries.push(d, d); // every event twice, as MistServer may deliver it
      }
      for (let s = 0; s < 4; s++) {
        const sid = `${i}${s}`.padStart(64, 'a');
        const t = Number(lifecycle[1]!.env.MIST_TIME) + s * 1000;
        deliveries.push(at('USER_END', `tok\nstreams+${u}\nHLS\n127.0.0.1\n5\n1000\n0\n\n5\n5\n5\n${sid}`, t, `ue-${u}-${s}`));
      }
    });
    const results = await Promise.all(
      shuffled(deliveries, 42).map((d) => runTriggerAsync({ program: PROGRAM[d.trigger], trigger: d.trigger, payload: d.payload, db, env: d.env })),
    );
    for (const r of results) {
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
    }
    for (const u of users) {
      const list = broadcasts(db, u);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ ended_cleanly: true, unique_viewers: 4, watch_time_s: 20 });
      expect(status(db, u).state).toBe('offline');
    }
    const d = sqlite(db);
    expect((d.prepare('SELECT count(*) AS n FROM viewer_sessions WHERE closed_at IS NOT NULL AND seconds = 5').get() as any).n).toBe(16);
    expect((d.prepare('SELECT count(*) AS n FROM buffer_events').get() as any).n).toBe(16);
    d.close();
  });
});

/** A hook script in a temp dir that appends its stdin, one event per line, to a file next to it. */
function recordingHook(dir: string, name: string): { program: string; events: () => any[] } {
  const program = join(dir, name);
  const out = join(dir, `${name}.jsonl`);
  writeFileSync(program, `#!/bin/sh\ncat >> "${out}"\necho >> "${out}"\n`);
  chmodSync(program, 0o755);
  return {
    program,
    events: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
  };
}

describe('hooks', () => {
  const db = freshDb();
  addUser(db, 'alice');
  const dir = tempDir();
  const live = recordingHook(dir, 'on-live');
  const offline = recordingHook(dir, 'on-offline');

  it('sets, lists and unsets hooks; refuses a program that is not executable', () => {
    expect(cli(db, ['hook', 'set', 'live', live.program]).status).toBe(0);
    expect(cli(db, ['hook', 'set', 'offline', offline.program]).status).toBe(0);
    expect(cliJson(db, ['hook', 'list']).map((h: any) => [h.event, h.program])).toEqual([
      ['live', live.program],
      ['offline', offline.program],
    ]);
    const bad = cli(db, ['hook', 'set', 'live', join(dir, 'missing')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli(db, ['hook', 'set', 'online', live.program]).stderr).toMatch(/invalid hook event/);
  });

  it('runs the live hook once when the channel goes live and the offline hook once when it ends', () => {
    deliver(db, full('streams+alice', 8_000_000));
    deliver(db, full('streams+alice', 8_000_000));
    deliver(db, at('STREAM_BUFFER', `streams+alice\nDRY\n${HEALTH}`, 8_001_000));
    expect(live.events()).toEqual([
      expect.objectContaining({ event: 'live', channel: 'alice', stream: 'streams+alice', state: 'live', at: new Date(8_000_000).toISOString() }),
    ]);
    expect(live.events()[0].broadcast).toMatchObject({ ended_at: null, started_at: new Date(8_000_000).toISOString() });
    deliver(db, empty('streams+alice', 8_002_000));
    deliver(db, empty('streams+alice', 8_002_000));
    expect(offline.events()).toEqual([expect.objectContaining({ event: 'offline', channel: 'alice', state: 'offline' })]);
    expect(offline.events()[0].broadcast).toMatchObject({ ended_at: new Date(8_002_000).toISOString(), ended_cleanly: true });
    expect(live.events()).toHaveLength(1);
  });

  it('kills a hanging hook at the bound, so the trigger ends long before the hook would', async () => {
    const hang = join(dir, 'hang');
    writeFileSync(hang, '#!/bin/sh\nsleep 60\n');
    chmodSync(hang, 0o755);
    expect(cli(db, ['hook', 'set', 'live', hang]).status).toBe(0);
    const started = Date.now();
    const r = runTrigger({ program: 'stream-buffer', trigger: 'STREAM_BUFFER', payload: `streams+alice\nFULL\n${HEALTH}`, db, env: { MIST_TIME: '9000000' } });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ran longer than 5 s and was killed/);
    expect(status(db, 'alice').state).toBe('live');
    expect(cli(db, ['hook', 'unset', 'live']).status).toBe(0);
    expect(cli(db, ['hook', 'unset', 'live']).status).not.toBe(0);
  });
});

/** Runs the CLI without blocking this process (the fake MistServer API below lives in it). */
function cliAsync(db: string, args: string[]): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(join(BIN, 'streamctl'), args, { env: baseEnv({ STREAMCTL_DB: db }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolvePromise({ stdout, stderr, status }));
  });
}

describe('status --reconcile', () => {
  it('closes broadcasts MistServer no longer has, as not ended cleanly, and leaves the others', async () => {
    const db = freshDb();
    for (const u of ['alice', 'bob']) addUser(db, u);
    const dir = tempDir();
    const offline = recordingHook(dir, 'on-offline');
    cli(db, ['hook', 'set', 'offline', offline.program]);
    const long = Date.now() - 3_600_000;
    deliver(db, full('streams+alice', long));
    deliver(db, full('streams+bob', long));
    const requests: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push(JSON.parse(body));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ active_streams: ['streams+bob', 'vod'] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await cliAsync(db, ['status', '--reconcile', '--api', api, '--json']);
      expect(r.status).toBe(0);
      expect(requests).toEqual([{ active_streams: true }]);
      expect(JSON.parse(r.stdout)).toMatchObject({ active_streams: 2, closed: [{ user: 'alice' }] });
      expect(status(db, 'alice').state).toBe('offline');
      expect(broadcasts(db, 'alice')[0]).toMatchObject({ live: false, ended_cleanly: false });
      expect(status(db, 'bob').state).toBe('live');
      expect(offline.events()).toEqual([expect.objectContaining({ event: 'offline', channel: 'alice' })]);
      expect(cliJson(db, ['events', '--kind', 'broadcast', '--user', 'alice'])[0]).toMatchObject({ outcome: 'offline', reason: 'MistServer no longer has the stream' });
      const again = await cliAsync(db, ['status', '--reconcile', '--api', api]);
      expect(again.stdout).toMatch(/nothing to close/);
      // A late EMPTY from MistServer still dates the end and marks it clean.
      deliver(db, empty('streams+alice', long + 60_000));
      expect(broadcasts(db, 'alice')[0]).toMatchObject({ ended_at: iso(long + 60_000), ended_cleanly: true });
    } finally {
      server.close();
    }
  });

  it('fails with one line when MistServer cannot be reached', () => {
    const db = freshDb();
    const r = cli(db, ['status', '--reconcile', '--api', 'http://127.0.0.1:9']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reconcile/);
  });
});
