// The trigger programs on a database that is missing, read-only, locked,
// corrupt or full, and killed (SIGKILL) in the middle of writes. Always: exit 0, the trigger's
// refusal (or another safe answer), one stderr line, no stack trace; afterwards the database
// passes integrity_check and nothing that was committed is lost.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import { baseEnv, BIN, ROOT, spawnCollect, tempDir, type RunResult } from '../support/helpers';
import { cli } from '../support/cli';
import { answerProblem, basePayloads, loadTrigger, NAMES, runInProcess, worldDb } from '../property/harness';

const NATIVE = { nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') };

/** Runs a trigger program as MistServer does (optionally as another user); resolves when it exits. */
function trigger(
  name: TriggerName,
  payload: string,
  db: string,
  opts: { uid?: number; env?: Record<string, string>; dist?: string } = {},
): Promise<RunResult> {
  // From a copy of dist/ when given (see readableDist), else the repo's own program.
  const [command, args] = opts.dist
    ? [process.execPath, [join(opts.dist, `${TRIGGERS[name].program}.js`), name]]
    : [join(BIN, TRIGGERS[name].program), [name]];
  const env = baseEnv({ STREAMCTL_DB: db, MIST_TRIGGER: name, MIST_TRIG_DEF: 'false', ...opts.env });
  return spawnCollect(command, args, env, payload, opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : undefined);
}

/** A world database (public alice, capped bob, private carol) and the captured payloads. */
function world() {
  const dir = tempDir('streamctl-faults-');
  const w = worldDb(dir);
  w.db.close();
  return { dir, path: join(dir, 'world.db'), key: w.key, payloads: basePayloads(w.key) };
}

/**
 * A copy of the built programs another user can read: the checkout itself may sit in a folder
 * only its owner can enter (a CI clone under a 0700 mktemp folder), and nobody could run it there.
 */
function readableDist(): string {
  const dir = tempDir('streamctl-dist-');
  chmodSync(dir, 0o755);
  const dist = join(dir, 'dist');
  cpSync(join(ROOT, 'dist'), dist, { recursive: true });
  return dist;
}

/** Every trigger once, in parallel (each may wait out its busy timeout). */
function everyTrigger(path: string, payloads: Record<TriggerName, string[]>, opts: { uid?: number; dist?: string } = {}) {
  return Promise.all(
    NAMES.map(async (name) => ({ name, payload: payloads[name][0]!, r: await trigger(name, payloads[name][0]!, path, opts) })),
  );
}

/** Exit 0, exactly the refusal, and (when anything went wrong) one stderr line without a stack. */
function expectRefusedCleanly(runs: { name: TriggerName; r: RunResult }[], because: RegExp): void {
  for (const { name, r } of runs) {
    expect(r.status, `${name}: ${r.stderr}`).toBe(0);
    expect(r.stdout, name).toBe(TRIGGERS[name].refusal);
    expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
    expect(r.stderr, name).toMatch(because);
    expect(r.stderr, name).not.toMatch(/^\s+at /m);
  }
}

const integrity = (path: string) => {
  const db = new Database(path, { readonly: true, ...NATIVE });
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
};

describe('trigger programs on a faulty database', async () => {
  // A missing database (and folder): test/process/programs.test.ts, "failing closed".

  it('read-only (another user may read, not write): writers refuse, nothing crashes', async () => {
    const { dir, path, payloads, key } = world();
    chmodSync(dir, 0o755);
    chmodSync(path, 0o644);
    // As root, permissions do not stop us: run the programs as nobody instead.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    if (uid === undefined) chmodSync(path, 0o444);
    const runs = await everyTrigger(path, payloads, uid === undefined ? {} : { uid, dist: readableDist() });
    for (const { name, payload, r } of runs) {
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).not.toMatch(/^\s+at /m);
      expect(answerProblem(name, payload, r.stdout, key), name).toBeNull();
    }
    const byName = Object.fromEntries(runs.map((x) => [x.name, x.r]));
    // The push guard must count before a key is looked up: no write, no admission.
    expect(byName.PUSH_REWRITE!.stdout).toBe('');
    expect(byName.RTMP_PUSH_REWRITE!.stdout).toBe('');
    expect(integrity(path)).toBe('ok');
  });

  it('locked: every trigger refuses within its busy timeout; with only the write lock held, a valid key is still refused, and admitted once free', async () => {
    // Two databases, both waited on at once (each program waits out its 2 s busy timeout): one
    // under an exclusive lock (nothing can even be read), one under a writer's lock (readers go on,
    // but the push guard counts before a key is looked up, so a push needs the lock too).
    const { path, payloads } = world();
    const holder = new Database(path, NATIVE);
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.prepare('BEGIN EXCLUSIVE').run();
    holder.prepare("INSERT INTO events (at, kind, outcome, reason) VALUES (0, 'test', 'held', 'lock')").run();
    const writing = world();
    const writer = new Database(writing.path, NATIVE);
    writer.prepare('BEGIN IMMEDIATE').run();
    const push = `u\n192.0.2.77\n${writing.key}`;
    try {
      const [runs, pushed] = await Promise.all([everyTrigger(path, payloads), trigger('PUSH_REWRITE', push, writing.path)]);
      expectRefusedCleanly(runs, /locked|busy/i);
      expectRefusedCleanly([{ name: 'PUSH_REWRITE', r: pushed }], /locked|busy/i);
    } finally {
      holder.prepare('ROLLBACK').run();
      holder.close();
      writer.prepare('ROLLBACK').run();
      writer.close();
    }
    expect(integrity(path)).toBe('ok');
    expect(await trigger('PUSH_REWRITE', push, writing.path)).toEqual({ stdout: 'streams+alice', stderr: '', status: 0 });
  });

  it('corrupt header (not a database): every trigger refuses with one line; the CLI names the problem', async () => {
    const { path, payloads } = world();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    closeSync(fd);
    expectRefusedCleanly(await everyTrigger(path, payloads), /not a database|malformed|corrupt/i);
    const r = await cli(path, ['user', 'list']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('corrupt pages: no crash and no unsafe answer', async () => {
    const { path, payloads, key } = world();
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    // Every page after the first two gets garbage in its middle (the header still says SQLite).
    for (let at = 8192 + 1000; at < size; at += 4096) writeSync(fd, Buffer.alloc(500, 0x5a), 0, 500, at);
    closeSync(fd);
    for (const { name, payload, r } of await everyTrigger(path, payloads)) {
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stderr, name).not.toMatch(/^\s+at /m);
      expect(answerProblem(name, payload, r.stdout, key), name).toBeNull();
    }
  });

  it('full (max_page_count reached): writes fail whole, the runner would refuse, integrity ok, nothing lost', async () => {
    const { path, payloads } = world();
    const db = new Database(path, NATIVE);
    db.pragma('foreign_keys = ON');
    const before = db.prepare('SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM stream_keys) AS k').get();
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    let full = 0;
    for (const name of ['USER_END', 'STREAM_BUFFER', 'RECORDING_END', 'STREAM_END', 'PUSH_REWRITE', 'USER_NEW'] as TriggerName[]) {
      const t = await loadTrigger(name);
      // Many writes, so a table needs a new page sooner or later.
      for (let i = 0; i < 200; i++) {
        const payload = payloads[name][0]!.replace(/[0-9a-f]{64}/, i.toString(16).padStart(64, '0'));
        const o = await runInProcess(t, name, payload, db);
        if (o.unexpected) {
          expect((o.unexpected as { code?: string }).code, `${name}: ${String(o.unexpected)}`).toBe('SQLITE_FULL');
          full++;
        }
        expect(o.answer === TRIGGERS[name].refusal || !o.unexpected).toBe(true);
      }
    }
    expect(full).toBeGreaterThan(0);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM stream_keys) AS k').get()).toEqual(before);
    db.close();
  });

  it('SIGKILL in the middle of writes: integrity ok, every write a finished program committed is there', async () => {
    const { path, payloads } = world();
    const N = 30;
    const runs = Array.from({ length: N }, (_, i) => {
      const session = i.toString(16).padStart(64, 'e');
      const payload = payloads.USER_END[0]!.replace(/[0-9a-f]{64}$/, session);
      const child = spawn(join(BIN, 'user-end'), ['USER_END'], {
        env: baseEnv({ STREAMCTL_DB: path, MIST_TRIGGER: 'USER_END', MIST_TUUID: `kill-${i}`, MIST_TIME: String(Date.now() + i) }),
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.stdin.end(payload);
      // Every other one is killed at some point of its run (start-up, open, transaction, exit).
      if (i % 2 === 0) setTimeout(() => child.kill('SIGKILL'), 20 + ((i * 37) % 180));
      return new Promise<{ session: string; finished: boolean }>((done) =>
        child.on('close', (status) => done({ session, finished: status === 0 })),
      );
    });
    const results = await Promise.all(runs);
    expect(integrity(path)).toBe('ok');
    const db = new Database(path, { readonly: true, ...NATIVE });
    const stored = new Set((db.prepare('SELECT session_id FROM session_ends').all() as { session_id: string }[]).map((r) => r.session_id));
    db.close();
    const finished = results.filter((r) => r.finished);
    expect(finished.length).toBeGreaterThan(N / 2 - 1);
    for (const r of finished) expect(stored.has(r.session), r.session).toBe(true);
  });

  it('SIGKILL during a batched user removal: integrity ok, the user still there with part of its history, a rerun finishes', async () => {
    const { path } = world();
    const db = new Database(path, NATIVE);
    const alice = (db.prepare("SELECT id FROM users WHERE name = 'alice'").get() as { id: number }).id;
    const EVENTS = 100_000;
    // In one statement: row by row from here took ~0.6 s of the test.
    db.prepare(
      `WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < ? - 1)
       INSERT INTO buffer_events (user_id, at, state) SELECT ?, n * 10, CASE n % 2 WHEN 1 THEN 'EMPTY' ELSE 'FULL' END FROM i`,
    ).run(EVENTS, alice);
    const left = db.prepare('SELECT count(*) AS n FROM buffer_events WHERE user_id = ?');
    const child = spawn(join(BIN, 'streamctl'), ['user', 'remove', 'alice', '--yes'], {
      env: baseEnv({ STREAMCTL_DB: path }),
      stdio: 'ignore',
    });
    let exited = false;
    const closed = new Promise((done) => child.on('close', () => done((exited = true))));
    // Killed once the first batches have committed, so surely in the middle of the removal.
    await new Promise<void>((done) => {
      const tick = () => {
        if (exited) return done();
        if ((left.get(alice) as { n: number }).n < EVENTS) {
          child.kill('SIGKILL');
          return done();
        }
        setTimeout(tick, 2);
      };
      tick();
    });
    await closed;
    const remaining = (left.get(alice) as { n: number }).n;
    db.close();
    expect(integrity(path)).toBe('ok');
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(EVENTS);
    const again = await cli(path, ['user', 'remove', 'alice', '--yes']);
    expect(again.status, again.stderr).toBe(0);
    const check = new Database(path, { readonly: true, ...NATIVE });
    expect(check.prepare('SELECT count(*) AS n FROM buffer_events WHERE user_id = ?').get(alice)).toEqual({ n: 0 });
    expect(check.prepare("SELECT count(*) AS n FROM users WHERE name = 'alice'").get()).toEqual({ n: 0 });
    expect(check.pragma('foreign_key_check')).toEqual([]);
    check.close();
  });
});

/**
 * A mount namespace holding a small tmpfs at `mnt` (root only, or where unprivileged user
 * namespaces are allowed): the database's filesystem can really be filled up, as a full disk is.
 * `run` starts a command inside it; the test process reaches its files through /proc/<pid>/root.
 */
async function smallFilesystem(
  mnt: string,
  size: string,
): Promise<{
  run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult>;
  outside(path: string): string;
  stop(): void;
} | null> {
  const asRoot = process.getuid?.() === 0;
  const holder = spawn(
    'unshare',
    [
      ...(asRoot ? ['-m'] : ['-r', '-m']),
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o size="$2" tmpfs "$1" && echo ready && exec sleep 600',
      'sh',
      mnt,
      size,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const ready = await new Promise<boolean>((done) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && done(true));
    holder.on('error', () => done(false));
    holder.on('close', () => done(false));
  });
  if (!ready) return null;
  const enter = ['-t', String(holder.pid), ...(asRoot ? [] : ['-U', '--preserve-credentials']), '-m', '--'];
  return {
    run: (cmd, args, env, input) => spawnCollect('nsenter', [...enter, cmd, ...args], env, input ?? ''),
    outside: (path) => `/proc/${holder.pid}/root${path}`,
    stop: () => void holder.kill('SIGKILL'),
  };
}

describe('the database on a full filesystem', () => {
  it('user-new admits whom it may without a write (public; private with a valid token); a capped channel, a refusal and a push still need their commit', async () => {
    const { dir, path, payloads } = world();
    expect((await cli(path, ['token', 'secret'])).status).toBe(0);
    expect((await cli(path, ['grant', 'add', 'carol', 'v1'])).status).toBe(0);
    const issued = await cli(path, ['token', 'issue', 'carol', '--viewer', 'v1', '--json']);
    const token = (JSON.parse(issued.stdout) as { token: string }).token;
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    const fs = await smallFilesystem(mnt, '4m');
    if (!fs) return void console.warn('skipped: no mount namespace for a small filesystem here (needs root or user namespaces)');
    try {
      const db = join(mnt, 'world.db');
      cpSync(path, fs.outside(db)); // closed cleanly: no -wal or -shm yet
      const env = (name: TriggerName) => baseEnv({ STREAMCTL_DB: db, MIST_TRIGGER: name, MIST_TRIG_DEF: 'false' });
      const run = (name: TriggerName, payload: string) => fs.run(join(BIN, TRIGGERS[name].program), [name], env(name), payload);
      const view = (stream: string, session: string, tkn = '1684129823') =>
        payloads.USER_NEW[0]!.replace(/^streams\+alice/, stream)
          .replace(/[0-9a-f]{64}/, session.repeat(64))
          .split('\n')
          .map((l, i) => (i === 2 ? tkn : l))
          .join('\n');
      // In use before the disk fills, as a live database is: its -wal and -shm exist.
      expect(await run('USER_NEW', view('streams+alice', 'a'))).toMatchObject({ stdout: 'true', status: 0 });
      const filled = await fs.run('sh', ['-c', `cat /dev/zero > "${join(mnt, 'filler')}"; df -k "${mnt}" | tail -1`], baseEnv());
      expect(filled.stdout.trim().split(/\s+/)[3], filled.stdout).toBe('0');

      const [pub, priv, noToken, capped, push] = await Promise.all([
        run('USER_NEW', view('streams+alice', 'b')),
        run('USER_NEW', view('streams+carol', 'c', token)),
        run('USER_NEW', view('streams+carol', 'd')),
        run('USER_NEW', view('streams+bob', 'e')),
        run('PUSH_REWRITE', payloads.PUSH_REWRITE[0]!),
      ]);
      // Admitted, with one line in MistServer's log saying why no session row was written.
      for (const r of [pub, priv]) {
        expect(r.stdout, r.stderr).toBe('true');
        expect(r.stderr).toMatch(/^streamctl USER_NEW: database or disk is full: admitted without a session row/);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      // A refusal's audit row, a cap's count and a push's commit cannot be had: refused, one line.
      expectRefusedCleanly(
        [
          { name: 'USER_NEW', r: noToken },
          { name: 'USER_NEW', r: capped },
          { name: 'PUSH_REWRITE', r: push },
        ],
        /full/i,
      );

      // Room again: the next viewer's session row is written, and nothing was damaged.
      expect((await fs.run('rm', [join(mnt, 'filler')], baseEnv())).status).toBe(0);
      expect(await run('USER_NEW', view('streams+alice', 'f'))).toEqual({ stdout: 'true', stderr: '', status: 0 });
      const check = await fs.run(
        process.execPath,
        [
          '-e',
          `const D=require(${JSON.stringify(join(ROOT, 'node_modules/better-sqlite3'))});const d=new D(${JSON.stringify(db)},${JSON.stringify(NATIVE)});console.log(d.pragma('integrity_check',{simple:true}), d.prepare("SELECT group_concat(substr(session_id,1,1),'') AS s FROM (SELECT session_id FROM viewer_sessions ORDER BY session_id)").get().s)`,
        ],
        baseEnv(),
      );
      expect(check.stdout.trim(), check.stderr).toBe('ok af');
    } finally {
      fs.stop();
    }
  });
});
