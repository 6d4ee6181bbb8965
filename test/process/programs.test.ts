// The thin process layer: the built programs run exactly as MistServer runs them (argv[1] = trigger
// name, payload on stdin, MIST_* in the environment, answer on stdout) against a real database
// file. One happy path per trigger program, the dispatcher, failing closed, concurrent processes,
// and the CLI commands that read stdin. Decisions themselves are tested in process (test/triggers/,
// test/live/, test/cli/ ...); setup here uses the CLI in process on the same file.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUARD_REFUSAL } from '../../src/ingest/admit-push';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import { baseEnv, BIN, fixture, fixtureEnv, freshDb, runTrigger, runTriggerAsync, tempDir, type RunResult } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { sqlOnFile } from '../support/db';
import { captured, forChannel, full, shuffled, at, type Delivery } from '../live/deliveries';

const program = (trigger: TriggerName) => TRIGGERS[trigger].program;

/** An answer as MistServer wants it: exactly the text, nothing on stderr, exit 0. */
function expectAnswer(r: RunResult, answer: string): void {
  expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: answer, stderr: '', status: 0 });
}

/** A refusal as the runner gives it: the registry's refusal, no newline, one stderr line, exit 0. */
function expectRefusal(r: RunResult, trigger: TriggerName, why?: RegExp): void {
  expect(r.stdout).toBe(TRIGGERS[trigger].refusal);
  expect(r.status).toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^streamctl ${trigger}: `));
  if (why) expect(lines[0]).toMatch(why);
}

describe('each trigger program, as MistServer runs it', async () => {
  const db = freshDb();
  const root = join(tempDir('streamctl-programs-'), 'recordings');
  mkdirSync(root);
  const key = await addUser(db, 'alice');
  expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
  expect((await cli(db, ['channel', 'set', 'alice', '--record', 'on'])).status).toBe(0);
  const run = (trigger: TriggerName, payload: string, env: Record<string, string> = {}) =>
    runTrigger({ program: program(trigger), trigger, payload, db, env });
  let recordingPath = '';

  it('PUSH_REWRITE answers the stream name for a key (capture 18)', () => {
    const name = '18-srt-push-key/PUSH_REWRITE-1';
    expectAnswer(run('PUSH_REWRITE', fixture(name).replaceAll('KEY_ALICE', key), fixtureEnv(name)), 'streams+alice');
  });

  it('RTMP_PUSH_REWRITE answers the rewritten URL (capture 01)', () => {
    const name = '01-basic-push-alice/RTMP_PUSH_REWRITE-1';
    expectAnswer(
      run('RTMP_PUSH_REWRITE', fixture(name).replaceAll('KEY_ALICE', key), fixtureEnv(name)),
      'rtmp://127.0.0.1:1935/live/streams+alice',
    );
  });

  it('PUSH_OUT_START answers a path under the root from MIST_TIME (capture 32a)', () => {
    const name = '32a-push-start/PUSH_OUT_START-1';
    const r = run('PUSH_OUT_START', fixture(name), fixtureEnv(name));
    recordingPath = join(root, '1', '20261123-193652-090.mkv');
    expectAnswer(r, recordingPath);
  });

  it('STREAM_BUFFER answers nothing and makes the channel live (capture 01)', async () => {
    const name = '01-basic-push-alice/STREAM_BUFFER-1';
    expectAnswer(run('STREAM_BUFFER', fixture(name), fixtureEnv(name)), '');
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('live');
  });

  it('USER_NEW answers exactly "true" (capture 20b)', () => {
    const name = '20b-hls-tkn/USER_NEW-1';
    expectAnswer(run('USER_NEW', fixture(name), fixtureEnv(name)), 'true');
  });

  it('USER_NEW answers exactly "true" for a valid playback token (loads dist/jose.js)', async () => {
    await cliJson(db, ['token', 'secret']);
    const token = (await cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'v1', '--ttl', '10m'])).token;
    const payload = fixture('20b-hls-tkn/USER_NEW-1').replace('\nabc123\n', `\n${token}\n`);
    expect(payload).toContain(token);
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
    expectRefusal(run('USER_NEW', payload), 'USER_NEW', /not-on-allow-list/);
    expect((await cli(db, ['grant', 'add', 'alice', 'v1'])).status).toBe(0);
    expectAnswer(run('USER_NEW', payload.replace(/\n[0-9a-f]{64}\n/, `\n${'ab'.repeat(32)}\n`)), 'true');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'public'])).status).toBe(0);
  });

  it('RECORDING_END answers nothing and catalogues the file', async () => {
    writeFileSync(recordingPath, Buffer.alloc(1024, 1));
    const payload = [
      'streams+alice',
      recordingPath,
      'EBML',
      1024,
      20,
      1795462612,
      1795462632,
      19643,
      0,
      19643,
      'CLEAN_EOF',
      'end of stream',
      '',
    ].join('\n');
    expectAnswer(run('RECORDING_END', payload), '');
    expect(await cliJson(db, ['recordings', 'list', 'alice'])).toEqual([expect.objectContaining({ path: recordingPath, status: 'ok' })]);
  });

  it('STREAM_SOURCE answers the recording file for vod+<id>', async () => {
    const [recording] = await cliJson<any[]>(db, ['recordings', 'list', 'alice']);
    expectAnswer(run('STREAM_SOURCE', `vod+${recording.id}`), recordingPath);
  });

  it('DEFAULT_STREAM answers the configured default for a stream that is no channel (capture 20k)', () => {
    expectAnswer(run('DEFAULT_STREAM', fixture('20k-nonexistent/DEFAULT_STREAM-1')), 'vod');
  });

  it('USER_END and STREAM_END answer nothing (capture 01)', () => {
    for (const file of ['USER_END-1', 'STREAM_END-1']) {
      const name = `01-basic-push-alice/${file}`;
      expectAnswer(run(file.replace(/-\d+$/, '') as TriggerName, fixture(name), fixtureEnv(name)), '');
    }
  });

  it('STREAMCTL_DEBUG in the environment adds debug lines on stderr', () => {
    const r = runTrigger({
      program: 'user-end',
      trigger: 'USER_END',
      payload: fixture('36-controller-shutdown/USER_END-1'),
      db,
      env: { STREAMCTL_DEBUG: '1' },
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^streamctl USER_END: .*not a channel stream/);
  });
});

describe('the mist-trigger dispatcher', async () => {
  const db = freshDb();
  const key = await addUser(db, 'alice');

  it('runs the trigger named in argv[1]: a fresh STREAM_BUFFER event changes the state, each way', async () => {
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('offline');
    const live = full('streams+alice', Date.now() - 60_000, 'dispatcher-full');
    expectAnswer(runTrigger({ trigger: 'STREAM_BUFFER', payload: live.payload, db, env: live.env }), '');
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('live');
    const off = at('STREAM_BUFFER', 'streams+alice\nEMPTY', Date.now() - 30_000, 'dispatcher-empty');
    expectAnswer(runTrigger({ trigger: 'STREAM_BUFFER', payload: off.payload, db, env: off.env }), '');
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('offline');
    expect(await cliJson(db, ['broadcasts', 'alice'])).toEqual([expect.objectContaining({ live: false, ended_cleanly: true })]);
  });

  it("answers blocking triggers with their program's answer", () => {
    expectAnswer(runTrigger({ trigger: 'PUSH_REWRITE', payload: `rtmp://h/live/${key}\n127.0.0.1\n${key}`, db }), 'streams+alice');
    expectAnswer(runTrigger({ trigger: 'USER_NEW', payload: fixture('01-basic-push-alice/USER_NEW-1'), db }), 'true');
  });

  it('takes the trigger name from MIST_TRIGGER when argv[1] is missing', () => {
    const r = spawnSync(join(BIN, 'mist-trigger'), [], {
      input: `rtmp://h/live/${key}\n127.0.0.1\n${key}`,
      env: baseEnv({ STREAMCTL_DB: db, MIST_TRIGGER: 'PUSH_REWRITE' }),
      encoding: 'utf8',
    });
    expect({ stdout: r.stdout, stderr: r.stderr, status: r.status }).toEqual({ stdout: 'streams+alice', stderr: '', status: 0 });
  });

  it('answers empty for a trigger name it does not handle', () => {
    const r = runTrigger({ trigger: 'NO_SUCH_TRIGGER', payload: 'x', db });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('unknown trigger');
  });
});

describe('failing closed', async () => {
  const db = freshDb();
  await addUser(db, 'alice');
  const names = Object.keys(TRIGGERS) as TriggerName[];

  it('every trigger program answers its refusal with one stderr line when the database is missing, and creates nothing', () => {
    // In a folder that does not exist either: opening must not create it (nor the file).
    const dir = tempDir();
    const missing = join(dir, 'nope', 'none.db');
    // Payloads that parse (the runner parses before it opens the database), so the failure is the database's.
    const parses: Record<TriggerName, string> = {
      PUSH_REWRITE: 'u\n1.2.3.4\nstc_x',
      RTMP_PUSH_REWRITE: 'rtmp://h/live/x\n1.2.3.4',
      USER_NEW: fixture('20b-hls-tkn/USER_NEW-1'),
      PUSH_OUT_START: fixture('01-basic-push-alice/PUSH_OUT_START-1'),
      RECORDING_END: fixture('01-basic-push-alice/RECORDING_END-1'),
      STREAM_SOURCE: 'vod+aaaaaaaaaaaaaaaa',
      DEFAULT_STREAM: fixture('20k-nonexistent/DEFAULT_STREAM-1'),
      STREAM_BUFFER: 'streams+alice\nEMPTY',
      STREAM_END: fixture('01-basic-push-alice/STREAM_END-1'),
      USER_END: fixture('01-basic-push-alice/USER_END-1'),
    };
    expect(Object.keys(parses).sort()).toEqual([...names].sort());
    for (const name of names)
      expectRefusal(runTrigger({ program: program(name), trigger: name, payload: parses[name], db: missing }), name, /does not exist/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
    // Through the dispatcher, and with a folder that does not exist either.
    expectRefusal(
      runTrigger({ trigger: 'PUSH_REWRITE', payload: parses.PUSH_REWRITE, db: '/nonexistent/streamctl.db' }),
      'PUSH_REWRITE',
      /does not exist/,
    );
  });

  it('answers empty when the database exists but was never migrated', () => {
    const path = join(tempDir(), 'empty.db');
    new Database(path).close();
    expectRefusal(
      runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n1.2.3.4\nstc_x', db: path }),
      'PUSH_REWRITE',
      /schema 0, this build needs \d+; run 'streamctl db migrate'/,
    );
  });

  it('answers empty when the database file is not a database', () => {
    const path = join(tempDir(), 'garbage.db');
    writeFileSync(path, 'this is not sqlite'.repeat(100));
    expectRefusal(runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n1.2.3.4\nstc_x', db: path }), 'PUSH_REWRITE');
  });

  it.each([
    ['PUSH_REWRITE', 'too many lines', 'a\nb\nc\nd'],
    ['RTMP_PUSH_REWRITE', 'one line', 'rtmp://h/live/x'],
    ['USER_NEW', 'binary garbage', '\u0000\u0001\u0002'],
    ['PUSH_OUT_START', 'a stream name with a newline (capture 08)', fixture('08-pushrewrite-trailing-newline/PUSH_OUT_START-1')],
    ['RECORDING_END', 'eleven lines', 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n'],
    ['STREAM_SOURCE', 'two lines', 'vod+x\ny'],
    ['DEFAULT_STREAM', 'two lines', 'vod\nstreams+alice'],
    ['STREAM_BUFFER', 'an unknown state', 'streams+alice\nHALF\n{}'],
    ['STREAM_END', 'eight lines (capture 10)', fixture('10-handler-exit1-with-output/STREAM_END-1')],
    ['USER_END', "MistServer's documented 8 lines", 'sid\nstreams+alice\nHLS\n127.0.0.1\n5\n100\n0\n'],
  ] as const)(
    '%s answers its refusal with one stderr line for a malformed payload (%s), and records a trigger error',
    (name, _, payload) => {
      const errors = () =>
        (
          sqlOnFile(db, "SELECT count(*) AS n FROM events WHERE kind = 'trigger' AND outcome = 'error' AND detail = ?", name) as {
            n: number;
          }[]
        )[0]!.n;
      const before = errors();
      expectRefusal(runTrigger({ program: program(name), trigger: name, payload, db }), name, new RegExp(name));
      // The event `streamctl metrics` counts (streamctl_trigger_errors_total).
      expect(errors()).toBe(before + 1);
    },
  );

  // A valid key refused while the database is locked: db-faults.test.ts ("locked"), beside the
  // other locked runs so that their busy timeouts are waited out together.
});

describe('concurrent deliveries', () => {
  it('loses nothing when many trigger processes write one database at once', async () => {
    const db = freshDb();
    const users = ['c1', 'c2', 'c3', 'c4'];
    for (const u of users) await addUser(db, u);
    const lifecycle = [1, 2, 3, 4].map((n) => captured(`23-stream-buffer-dry-recover/STREAM_BUFFER-${n}`));
    const deliveries: Delivery[] = [];
    users.forEach((u, i) => {
      for (const e of lifecycle) {
        const d = {
          ...e,
          payload: forChannel(e.payload, 'buf', `streams+${u}`),
          env: { ...e.env, MIST_TUUID: `${e.env.MIST_TUUID}-${u}` },
        };
        deliveries.push(d, d); // every event twice, as MistServer may deliver it
      }
      for (let s = 0; s < 4; s++) {
        const sid = `${i}${s}`.padStart(64, 'a');
        const t = Number(lifecycle[1]!.env.MIST_TIME) + s * 1000;
        deliveries.push(at('USER_END', `tok\nstreams+${u}\nHLS\n127.0.0.1\n5\n1000\n0\n\n5\n5\n5\n${sid}`, t, `ue-${u}-${s}`));
      }
    });
    const results = await Promise.all(
      shuffled(deliveries, 42).map((d) =>
        runTriggerAsync({ program: program(d.trigger), trigger: d.trigger, payload: d.payload, db, env: d.env }),
      ),
    );
    for (const r of results) expectAnswer(r, '');
    for (const u of users) {
      const list = await cliJson<any[]>(db, ['broadcasts', u]);
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ ended_cleanly: true, unique_viewers: 4, watch_time_s: 20 });
      expect((await cliJson(db, ['status', u])).state).toBe('offline');
    }
    const d = new Database(db, { readonly: true });
    expect((d.prepare('SELECT count(*) AS n FROM viewer_sessions WHERE closed_at IS NOT NULL AND seconds = 5').get() as any).n).toBe(16);
    expect((d.prepare('SELECT count(*) AS n FROM buffer_events').get() as any).n).toBe(16);
    d.close();
  });

  it('lets at most push-guard-failures of 40 concurrent wrong keys from one address reach a lookup', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const wrong = `stc_${'W'.repeat(32)}`;
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        runTriggerAsync({
          program: 'push-rewrite',
          trigger: 'PUSH_REWRITE',
          payload: `srt://h/?streamid=${wrong}\n198.51.100.40\n${wrong}`,
          db,
        }),
      ),
    );
    expect(results.every((r) => r.stdout === '' && r.status === 0)).toBe(true);
    const events = await cliJson<{ outcome: string; reason: string }[]>(db, ['events', '--kind', 'push', '--limit', '1000']);
    expect(events).toHaveLength(40);
    const lookedUp = events.filter((e) => e.outcome === 'refused' && e.reason !== GUARD_REFUSAL).length;
    expect(lookedUp).toBeGreaterThan(0);
    expect(lookedUp).toBeLessThanOrEqual(10);
  });

  it('catalogues a recording once when RECORDING_END runs several times at once', async () => {
    const db = freshDb();
    const root = join(tempDir('streamctl-rec-'), 'recordings');
    await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
    const path = join(root, '1', 'repeat.mkv');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.alloc(1024, 7));
    const start = Math.floor(Date.now() / 1000) - 60;
    const payload = ['streams+alice', path, 'EBML', 1024, 20, start, start + 20, 19643, 0, 19643, 'CLEAN_EOF', 'end of stream', ''].join(
      '\n',
    );
    const results = await Promise.all([0, 1, 2].map(() => runTriggerAsync({ trigger: 'RECORDING_END', payload, db })));
    for (const r of results) expectAnswer(r, '');
    expectAnswer(runTrigger({ trigger: 'RECORDING_END', payload, db }), '');
    expect((await cliJson<any[]>(db, ['recordings', 'list'])).filter((r) => r.path === path)).toHaveLength(1);
  });
});

describe('CLI commands that read stdin', async () => {
  const db = freshDb();
  await addUser(db, 'alice');
  const streamctl = (args: string[], input: string): RunResult => {
    const r = spawnSync(join(BIN, 'streamctl'), args, { input, env: baseEnv({ STREAMCTL_DB: db }), encoding: 'utf8' });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
  };

  it('channel password: hashed, checked through stdin, never stored or printed in clear', async () => {
    // A wrong or too short password from stdin: test/cli/contract.test.ts (in process, same command).
    const pw = 'correct horse battery';
    const set = streamctl(['channel', 'password', 'alice'], pw + '\n');
    expect(set.status).toBe(0);
    expect(set.stdout + set.stderr).not.toContain(pw);
    expect(streamctl(['channel', 'check-password', 'alice'], pw).status).toBe(0);
    const sqlite = new Database(db, { readonly: true });
    const stored = sqlite.prepare('SELECT password_hash FROM channels').get() as { password_hash: string };
    sqlite.close();
    expect(stored.password_hash).toMatch(/^scrypt\$/);
    expect(stored.password_hash).not.toContain(pw);
    expect((await cliJson(db, ['channel', 'show', 'alice'])).has_password).toBe(true);
  });

  it('sync - reads the document from stdin', () => {
    const r = streamctl(['sync', '-', '--json'], JSON.stringify({ users: [{ name: 'dora' }] }));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).summary.users_created).toBe(1);
  });

  it('access explain --token - reads the token from stdin', async () => {
    const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
    expect(secret).toBeTruthy();
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'paid'])).status).toBe(0);
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'fan', aud: 'alice', exp: Math.floor(Date.now() / 1000) - 100 })}`;
    const expired = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    const fromStdin = streamctl(['access', 'explain', 'alice', '--token', '-', '--json'], expired + '\n');
    expect(fromStdin.status).toBe(1); // a refusal is a negative answer (docs/json.md)
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ rule: 'token-invalid', token_problem: 'token expired' });
  });
});
