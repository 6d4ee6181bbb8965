// The operator's commands: `metrics` (parsed with a strict exposition-format parser),
// `db backup` while another process writes, `db check` on a good and a damaged database.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/store/events';
import { openForCli } from '../../src/store/open';
import { freshDb, ROOT, tempDir } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { parsePrometheusText } from '../support/prometheus-text';
import { runInProcess } from '../support/trigger';

function write(dbPath: string, statement: string, ...args: unknown[]): void {
  const db = new Database(dbPath);
  try {
    db.prepare(statement).run(...args);
  } finally {
    db.close();
  }
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = parsePrometheusText(text).get(name);
  return f?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

describe('the exposition parser used below', async () => {
  it('rejects what node_exporter rejects (a parser that accepted anything would prove nothing)', async () => {
    expect(() => parsePrometheusText('a 1')).toThrow(/newline/);
    expect(() => parsePrometheusText('a 1\nb 2\na 3\n')).toThrow(/appears again/);
    expect(() => parsePrometheusText('a{x="1"} 1\na{x="1"} 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheusText('a 1\n# TYPE a gauge\n')).toThrow(/after its samples/);
    expect(() => parsePrometheusText('a{x="\\q"} 1\n')).toThrow(/label set/);
    expect(() => parsePrometheusText('a one\n')).toThrow(/bad value/);
    expect(() => parsePrometheusText('1a 1\n')).toThrow(/not a sample/);
    expect(parsePrometheusText('# HELP a x\\ny\n# TYPE a gauge\na{b="q\\"",c="d"} +Inf 123\n').get('a')).toEqual({
      name: 'a',
      help: 'x\ny',
      type: 'gauge',
      samples: [{ name: 'a', labels: { b: 'q"', c: 'd' }, value: Infinity }],
    });
  });
});

describe('streamctl metrics', async () => {
  const db = freshDb();
  const key = await addUser(db, 'alice');
  await addUser(db, 'bob');
  await cli(db, ['config', 'set', 'push-guard-failures', '2']);
  const push = (payload: string) => runInProcess({ trigger: 'PUSH_REWRITE', payload, db });
  expect((await push(`rtmp://h/live/${key}\n198.51.100.1\n${key}`)).stdout).toBe('streams+alice');
  for (let i = 0; i < 3; i++) await push('rtmp://h/live/x\n203.0.113.9\nnot-a-key-at-all');
  // A failed run, as the runner records one (that it does: test/process/programs.test.ts).
  const handle = openForCli(db);
  recordEvent(handle, { at: Date.now(), kind: 'trigger', outcome: 'error', reason: 'malformed USER_NEW payload', detail: 'USER_NEW' });
  handle.close();
  const now = Date.now();
  write(db, 'INSERT INTO broadcasts (user_id, started_at) VALUES (1, ?)', now - 60_000);
  for (const s of ['s1', 's2'])
    write(
      db,
      "INSERT INTO viewer_sessions (session_id, user_id, stream, opened_at, last_seen_at) VALUES (?, 1, 'streams+alice', ?, ?)",
      s,
      now,
      now,
    );
  write(
    db,
    "INSERT INTO viewer_sessions (session_id, user_id, stream, opened_at, last_seen_at, closed_at) VALUES ('s3', 2, 'streams+bob', ?, ?, ?)",
    now,
    now,
    now,
  );
  for (const [id, bytes] of [
    ['aaaaaaaaaaaaaaaa', 1000],
    ['bbbbbbbbbbbbbbbb', 2500],
  ] as const) {
    write(
      db,
      "INSERT INTO recordings (id, user_id, path, format, bytes, duration_ms, started_at, ended_at, status, exit_code, exit_reason, created_at) VALUES (?, 1, ?, 'EBML', ?, 1, 1, 2, 'ok', 'CLEAN_EOF', '', 1)",
      id,
      `/rec/1/${id}.mkv`,
      bytes,
    );
  }

  it('prints every figure in the text format, each family with HELP and TYPE', async () => {
    const r = await cli(db, ['metrics']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const families = parsePrometheusText(r.stdout);
    for (const f of families.values()) {
      expect(f.help, f.name).toBeTruthy();
      expect(f.type, f.name).toBe('gauge');
      expect(f.name).toMatch(/^streamctl_/);
    }
    expect(value(r.stdout, 'streamctl_channels_live')).toBe(1);
    expect(value(r.stdout, 'streamctl_viewers', { channel: 'alice' })).toBe(2);
    expect(value(r.stdout, 'streamctl_viewers', { channel: 'bob' })).toBeUndefined(); // closed session
    expect(value(r.stdout, 'streamctl_viewers_total_open')).toBe(2);
    expect(value(r.stdout, 'streamctl_push_attempts', { outcome: 'accepted' })).toBe(1);
    expect(value(r.stdout, 'streamctl_push_attempts', { outcome: 'refused' })).toBe(3);
    expect(value(r.stdout, 'streamctl_guard_blocks')).toBe(1);
    expect(value(r.stdout, 'streamctl_guard_blocked_sources')).toBe(1);
    expect(value(r.stdout, 'streamctl_recordings')).toBe(2);
    expect(value(r.stdout, 'streamctl_recordings_bytes')).toBe(3500);
    expect(value(r.stdout, 'streamctl_trigger_errors', { trigger: 'USER_NEW' })).toBe(1);
    expect(value(r.stdout, 'streamctl_metrics_window_seconds')).toBe(300);
  });

  it('counts events only inside --window', async () => {
    write(db, 'UPDATE events SET at = at - 7200000');
    const r = await cli(db, ['metrics', '--window', '1h']);
    expect(value(r.stdout, 'streamctl_push_attempts', { outcome: 'refused' })).toBe(0);
    expect(value(r.stdout, 'streamctl_trigger_errors', { trigger: 'USER_NEW' })).toBeUndefined();
    expect(value(r.stdout, 'streamctl_metrics_window_seconds')).toBe(3600);
    expect(value((await cli(db, ['metrics', '--window', '3h'])).stdout, 'streamctl_push_attempts', { outcome: 'refused' })).toBe(3);
    const bad = await cli(db, ['metrics', '--window', 'soon']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('streamctl: invalid --window "soon": expected a duration such as 5m\n');
  });

  it('-o writes the file the collector reads (0644, complete, no temp file left)', async () => {
    const dir = tempDir();
    const out = join(dir, 'streamctl.prom');
    const r = await cli(db, ['metrics', '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o644);
    expect(parsePrometheusText(readFileSync(out, 'utf8')).has('streamctl_recordings_bytes')).toBe(true);
    expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout).toBe('streamctl.prom\n');
    const missing = await cli(db, ['metrics', '-o', join(dir, 'no', 'such', 'x.prom')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^streamctl: cannot write .*x\.prom: ENOENT/);
  });
});

describe('streamctl db backup', async () => {
  it('copies a consistent database while another process keeps writing; the copy is 0600', async () => {
    const db = freshDb();
    // Enough rows that the copy takes a while.
    const filler = new Database(db);
    const insert = filler.prepare("INSERT INTO events (at, kind, outcome, reason, detail) VALUES (?, 'test', 'ok', 'filler', ?)");
    filler.transaction(() => {
      for (let i = 0; i < 40_000; i++) insert.run(i, 'x'.repeat(200));
    })();
    filler.close();

    // The writer: one small transaction after another until killed, like trigger runs.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3'))});
         const db = new D(process.argv[1]);
         db.pragma('busy_timeout = 2000');
         const ins = db.prepare("INSERT INTO events (at, kind, outcome, reason) VALUES (?, 'writer', 'ok', 'concurrent')");
         let n = 0;
         process.stdout.write('ready\\n');
         for (;;) { ins.run(Date.now()); n++; }`,
        db,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let writerErr = '';
    writer.stderr.on('data', (d: Buffer) => (writerErr += d.toString()));
    await new Promise<void>((ok) => writer.stdout.once('data', () => ok()));
    await new Promise((ok) => setTimeout(ok, 100));

    const count = () => {
      const h = new Database(db, { readonly: true });
      try {
        return (h.prepare("SELECT count(*) AS n FROM events WHERE kind = 'writer'").get() as { n: number }).n;
      } finally {
        h.close();
      }
    };
    const before = count();
    const target = join(tempDir(), 'backup.db');
    const r = await cli(db, ['db', 'backup', target, '--json']);
    const after = count();
    writer.kill();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(writerErr).toBe(''); // the writer was never refused the lock
    expect(after).toBeGreaterThan(before); // it kept writing while the backup ran

    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(JSON.parse(r.stdout)).toMatchObject({ database: db, backup: target });
    const copied = new Database(target, { readonly: true });
    expect(copied.pragma('integrity_check', { simple: true })).toBe('ok');
    const inCopy = (copied.prepare("SELECT count(*) AS n FROM events WHERE kind = 'writer'").get() as { n: number }).n;
    expect((copied.prepare("SELECT count(*) AS n FROM events WHERE kind = 'test'").get() as { n: number }).n).toBe(40_000);
    copied.close();
    expect(inCopy).toBeGreaterThanOrEqual(before);
    expect(inCopy).toBeLessThanOrEqual(after);

    // The copy is a working database: db check (and any command) runs on it.
    expect((await cli(target, ['db', 'check'])).status).toBe(0);
  }, 60_000);

  it('never overwrites a file, and names the problem', async () => {
    const db = freshDb();
    const target = join(tempDir(), 'exists.db');
    writeFileSync(target, 'keep me');
    const r = await cli(db, ['db', 'backup', target]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`streamctl: ${target} already exists; choose a new file\n`);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect((await cli(db, ['db', 'backup', db])).stderr).toBe(`streamctl: ${db} is the database itself\n`);
  });
});

describe('streamctl db check', async () => {
  it('says ok on a sound database', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const r = await cli(db, ['db', 'check']);
    expect(r.stdout).toBe(`${db}: ok (integrity_check, foreign_key_check)\n`);
    expect(r.status).toBe(0);
  });

  it('exits 1 on a dangling foreign key and names the row', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const h = new Database(db);
    h.pragma('foreign_keys = OFF');
    h.prepare("INSERT INTO stream_keys (user_id, label, prefix, digest, created_at) VALUES (99, 'x', 'p', 'd', 1)").run();
    h.close();
    const r = await cli(db, ['db', 'check', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, integrity: [], foreign_keys: [{ table: 'stream_keys', parent: 'users' }] });
    expect(r.stderr).toMatch(/^streamctl: .*0 integrity problem\(s\), 1 dangling foreign key\(s\)/);
  });

  it('exits non-zero on a damaged file, with one line and no stack trace', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const h = new Database(db);
    h.pragma('wal_checkpoint(TRUNCATE)');
    h.close();
    const bytes = readFileSync(db);
    bytes.fill(0x55, 4096 * 2, 4096 * 6); // overwrite pages 3-6 (schema tables' b-trees)
    writeFileSync(db, bytes);
    const r = await cli(db, ['db', 'check']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^streamctl: /);
    expect(r.stderr).not.toMatch(/\bat \S+ \(/);
  });
});
