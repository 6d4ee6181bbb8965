// Recording and VoD: PUSH_OUT_START, RECORDING_END, STREAM_SOURCE and DEFAULT_STREAM run as
// MistServer runs them on the captured payloads, with real files in temp folders, and the
// `recordings` CLI (list, show, pin, delete, prune, scan) against the same database.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addUser, cli, cliJson, fixture, fixtureEnv, freshDb, ROOT, runTrigger, runTriggerAsync, tempDir } from './helpers';

/** Direct SQL on the test database, for facts other engineers' triggers would write (broadcasts). */
function sql<T = unknown>(dbPath: string, statement: string, ...args: unknown[]): T {
  const db = new Database(dbPath, { nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
  try {
    const stmt = db.prepare(statement);
    return (stmt.reader ? stmt.all(...args) : stmt.run(...args)) as T;
  } finally {
    db.close();
  }
}

function userId(db: string, name: string): number {
  return sql<{ id: number }[]>(db, 'SELECT id FROM users WHERE name = ?', name)[0]!.id;
}

/** A channel database with recordings-root set and alice recording. */
function setup(): { db: string; root: string; alice: number } {
  const db = freshDb();
  const root = join(tempDir('streamctl-rec-'), 'recordings');
  mkdirSync(root);
  addUser(db, 'alice');
  expect(cli(db, ['config', 'set', 'recordings-root', root]).status).toBe(0);
  expect(cli(db, ['channel', 'set', 'alice', '--record', 'on']).status).toBe(0);
  return { db, root, alice: userId(db, 'alice') };
}

interface EndPayload {
  stream?: string;
  path: string;
  bytes?: number;
  startSec: number;
  seconds?: number;
  code?: string;
  text?: string;
}

/** A RECORDING_END payload shaped exactly like capture 01 (12 lines, each ending in "\n"). */
function recordingEnd(p: EndPayload): string {
  const seconds = p.seconds ?? 20;
  return [p.stream ?? 'streams+alice', p.path, 'EBML', p.bytes ?? 1426133, seconds, p.startSec, p.startSec + seconds, seconds * 1000 - 357, 0, seconds * 1000 - 357, p.code ?? 'CLEAN_EOF', p.text ?? 'end of stream']
    .map((l) => `${l}\n`)
    .join('');
}

/** Writes a small real file where MistServer would have, and catalogues it through RECORDING_END. */
function record(db: string, root: string, owner: number, startSec: number, extra: Partial<EndPayload> = {}): { id: string; path: string } {
  const path = extra.path ?? join(root, String(owner), `${startSec}.mkv`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.alloc(1024, 7));
  const stream = `streams+${sql<{ name: string }[]>(db, 'SELECT name FROM users WHERE id = ?', owner)[0]!.name}`;
  const r = runTrigger({ trigger: 'RECORDING_END', payload: recordingEnd({ stream, path, startSec, ...extra }), db });
  expect(r.stdout).toBe('');
  const row = sql<{ id: string }[]>(db, 'SELECT id FROM recordings WHERE path = ?', resolve(path))[0];
  if (!row) throw new Error(`not catalogued: ${r.stderr}`);
  return { id: row.id, path };
}

const nowSec = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;

describe('PUSH_OUT_START', () => {
  const { db, root, alice } = setup();
  const pushOut = (payload: string, env: Record<string, string> = {}) => runTrigger({ program: 'push-out-start', trigger: 'PUSH_OUT_START', payload, db, env });

  it('answers a path under the root from the user id and MIST_TIME, never the wildcard text (capture 32a)', () => {
    const name = '32a-push-start/PUSH_OUT_START-1';
    const r = pushOut(fixture(name), fixtureEnv(name));
    // MIST_TIME=1795462612090 → 2026-11-23 19:36:52.090 UTC
    expect(r.stdout).toBe(join(root, String(alice), '20261123-193652-090.mkv'));
    expect(r.stdout).not.toContain('$');
    expect(statSync(dirname(r.stdout)).isDirectory()).toBe(true);
  });

  it('never reuses the name of an existing file', () => {
    const env = { MIST_TIME: '1795461837090' };
    const first = pushOut(fixture('01-basic-push-alice/PUSH_OUT_START-1'), env).stdout;
    writeFileSync(first, 'x');
    const second = pushOut(fixture('01-basic-push-alice/PUSH_OUT_START-1'), env).stdout;
    expect(second).toBe(join(root, String(alice), '20261123-192357-091.mkv'));
  });

  it.each([
    ['flv', '/x/$wildcard/$datetime.flv', 'flv'],
    ['ts with options (dropped)', '/x/$wildcard.ts?split=60', 'ts'],
    ['mp4 in upper case', '/x/$wildcard/$datetime.MP4', 'mp4'],
    ['a file:// URL', 'file:///x/$wildcard.mkv', 'mkv'],
  ])('keeps the container of the configured target: %s', (_, target, ext) => {
    const r = pushOut(`streams+alice\n${target}`, { MIST_TIME: '1795461837000' });
    expect(r.stdout.startsWith(root + sep)).toBe(true);
    expect(r.stdout.endsWith(`.${ext}`)).toBe(true);
  });

  it('refuses a container it cannot play back', () => {
    const r = pushOut('streams+alice\n/x/$wildcard/$datetime.webm');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('.mkv, .flv, .ts or .mp4');
  });

  it.each([
    ['rtmp', 'rtmp://restream.example/live/$wildcard'],
    ['srt', 'srt://10.0.0.1:9000?streamid=$stream'],
    ['s3', 's3+https://bucket/$wildcard.mkv'],
  ])('passes %s restreams through unchanged', (_, target) => {
    expect(pushOut(`streams+alice\n${target}`).stdout).toBe(target);
  });

  it('aborts the recording (empty answer) when the channel does not record', () => {
    addUser(db, 'bob');
    expect(pushOut('streams+bob\n/x/$wildcard/$datetime.mkv').stdout).toBe('');
    expect(cli(db, ['channel', 'set', 'bob', '--record', 'on']).status).toBe(0);
    expect(pushOut('streams+bob\n/x/$wildcard/$datetime.mkv').stdout).toContain(join(root, String(userId(db, 'bob'))));
    expect(cli(db, ['channel', 'set', 'bob', '--record', 'off']).status).toBe(0);
    expect(pushOut('streams+bob\n/x/$wildcard/$datetime.mkv').stdout).toBe('');
  });

  it('keeps file pushes of configured streams without "+" (names MistServer sanitised)', () => {
    expect(pushOut('vod\n/media/export/$datetime.mkv').stdout).toBe('/media/export/$datetime.mkv');
  });

  it.each([
    ['a path-walking name', 'streams+../../etc'],
    ['a name of dots', 'streams+..'],
    ['a very long name', `streams+${'a'.repeat(5000)}`],
    ['a unicode name', 'streams+ålice☃'],
    ['a slash in the name', 'streams+alice/../../root'],
    ['another wildcard stream', 'other+alice'],
    ['a VoD stream', 'vod+aaaaaaaaaaaaaaaa'],
    ['an unknown channel', 'streams+nobody'],
  ])('answers empty for %s, never a path', (_, stream) => {
    const r = pushOut(`${stream}\n${root}/$wildcard/$datetime.mkv`);
    expect(r.stdout).toBe('');
  });

  it('refuses a stream name with a newline (capture 08: three lines) with one stderr line', () => {
    const r = pushOut(fixture('08-pushrewrite-trailing-newline/PUSH_OUT_START-1'));
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('PUSH_OUT_START');
  });

  it('ignores a hostile configured target: the answer stays under the root', () => {
    const r = pushOut('streams+ALICE\n/tmp/../../etc/$wildcard/../../passwd.mkv', { MIST_TIME: '1795461837000' });
    expect(r.stdout.startsWith(root + sep)).toBe(true);
    expect(resolve(r.stdout)).toBe(r.stdout);
  });

  it('refuses to record when recordings-root is not set', () => {
    const other = freshDb();
    addUser(other, 'alice');
    cli(other, ['channel', 'set', 'alice', '--record', 'on']);
    const r = runTrigger({ trigger: 'PUSH_OUT_START', payload: fixture('01-basic-push-alice/PUSH_OUT_START-1'), db: other });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('recordings-root is not set');
  });

  it('answers empty with one stderr line when the database is missing', () => {
    const r = runTrigger({ trigger: 'PUSH_OUT_START', payload: fixture('01-basic-push-alice/PUSH_OUT_START-1'), db: '/nonexistent/x.db' });
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('RECORDING_END', () => {
  const { db, root, alice } = setup();

  it('does not catalogue the captured file, which lies outside the recordings root (capture 01)', () => {
    const name = '01-basic-push-alice/RECORDING_END-1';
    const r = runTrigger({ program: 'recording-end', trigger: 'RECORDING_END', payload: fixture(name), db, env: fixtureEnv(name) });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('outside recordings-root');
    expect(cliJson(db, ['recordings', 'list'])).toEqual([]);
  });

  it.each(['01-basic-push-alice/RECORDING_END-1', '20j-vod-alt-source/RECORDING_END-1', '32c-push-end/RECORDING_END-1'])(
    'catalogues %s once moved under the root, linked to the broadcast live then',
    (name) => {
      const captured = fixture(name);
      const capturedPath = captured.split('\n')[1]!;
      const path = join(root, String(alice), capturedPath.slice(capturedPath.lastIndexOf('/') + 1));
      const startMs = Number(captured.split('\n')[5]) * 1000;
      const stopMs = Number(captured.split('\n')[6]) * 1000;
      // The broadcast opened at STREAM_BUFFER FULL, a few seconds after the recorder started, and
      // closed (EMPTY) just after it stopped, as in capture 01.
      const { lastInsertRowid } = sql<{ lastInsertRowid: number }>(db, 'INSERT INTO broadcasts (user_id, started_at, ended_at) VALUES (?, ?, ?)', alice, startMs + 4000, stopMs + 600);
      const r = runTrigger({ trigger: 'RECORDING_END', payload: captured.replace(capturedPath, path), db, env: fixtureEnv(name) });
      expect(r.stdout).toBe('');
      const rec = cliJson<any[]>(db, ['recordings', 'list', 'alice']).find((x) => x.path === path);
      expect(rec).toMatchObject({ user: 'alice', bytes: Number(captured.split('\n')[3]), status: 'ok', broadcast_id: Number(lastInsertRowid) });
      expect(rec.id).toMatch(/^[a-z2-7]{16}$/);
      expect(rec.duration_ms).toBe(Number(captured.split('\n')[7]));
    },
  );

  it('is idempotent on repeats, even concurrent ones', async () => {
    const path = join(root, String(alice), 'repeat.mkv');
    const payload = recordingEnd({ path, startSec: nowSec() - 60 });
    await Promise.all([0, 1, 2].map(() => runTriggerAsync({ trigger: 'RECORDING_END', payload, db })));
    runTrigger({ trigger: 'RECORDING_END', payload, db });
    expect(sql<unknown[]>(db, 'SELECT id FROM recordings WHERE path = ?', path)).toHaveLength(1);
  });

  it('gives opaque, non-sequential ids', () => {
    const a = record(db, root, alice, nowSec() - 30);
    const b = record(db, root, alice, nowSec() - 20);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[a-z2-7]{16}$/);
    expect(/^\d+$/.test(a.id)).toBe(false);
  });

  it.each([
    ['zero bytes', 'empty.mkv', { bytes: 0 }],
    ['an error exit', 'broken.mkv', { code: 'WRITE_FAILURE', text: 'disk full' }],
  ])('keeps a recording with %s, marked failed', (_, file, extra: Partial<EndPayload>) => {
    const { id } = record(db, root, alice, nowSec() - 10, { path: join(root, String(alice), file), ...extra });
    expect(cliJson(db, ['recordings', 'show', id])).toMatchObject({ status: 'failed' });
  });

  it.each([
    ['a path that walks out of the root', (root: string) => join(root, '..', 'escaped.mkv')],
    ['a relative path', () => 'recordings/1/x.mkv'],
    ['a sibling folder sharing the prefix', (root: string) => `${root}-evil/1/x.mkv`],
  ])('does not catalogue %s', (_, makePath) => {
    const r = runTrigger({ trigger: 'RECORDING_END', payload: recordingEnd({ path: makePath(root), startSec: 1 }), db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('outside recordings-root');
    expect(sql<unknown[]>(db, 'SELECT id FROM recordings WHERE path NOT LIKE ?', `${root}${sep}%`)).toEqual([]);
  });

  it('does not catalogue recordings of streams that are not channels', () => {
    const r = runTrigger({ trigger: 'RECORDING_END', payload: recordingEnd({ stream: 'vod', path: join(root, 'x.mkv'), startSec: 1 }), db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not a channel stream');
  });

  it.each([
    ['eleven lines', 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n'],
    ['no trailing newline', recordingEnd({ path: join(root, 'n.mkv'), startSec: 1 }).slice(0, -1)],
    ['a non-numeric byte count', recordingEnd({ path: join(root, 'n.mkv'), startSec: 1 }).replace('1426133', '1e6')],
  ])('rejects a malformed payload (%s) with one stderr line', (_, payload) => {
    const r = runTrigger({ trigger: 'RECORDING_END', payload, db });
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('RECORDING_END');
  });
});

describe('STREAM_SOURCE', () => {
  const { db, root, alice } = setup();
  const { id, path } = record(db, root, alice, nowSec() - 100);
  const source = (stream: string) => runTrigger({ program: 'stream-source', trigger: 'STREAM_SOURCE', payload: stream, db }).stdout;

  it('plays vod+<id> from the recording file', () => {
    expect(source(`vod+${id}`)).toBe(path);
    expect(source(`VOD+${id.toUpperCase()}`)).toBe(path);
  });

  it.each([
    ['a VoD name that is no id (capture 20i)', '20i-vod-wildcard/STREAM_SOURCE-1'],
    ['vod+alt (capture 20j)', '20j-vod-alt-source/STREAM_SOURCE-1'],
    ['an unknown stream (capture 20k)', '20k-nonexistent/STREAM_SOURCE-1'],
    ['the VoD base itself (capture 20k)', '20k-nonexistent/STREAM_SOURCE-2'],
    ['a live channel (capture 01)', '01-basic-push-alice/STREAM_SOURCE-1'],
  ])('keeps the configured source (empty answer) for %s', (_, name) => {
    const r = runTrigger({ trigger: 'STREAM_SOURCE', payload: fixture(name), db, env: fixtureEnv(name) });
    expect(r.stdout).toBe('');
  });

  it.each(['vod+../../etc/passwd', `vod+${'a'.repeat(4000)}`, 'vod+ääääääääääääääää', 'vod+aaaaaaaaaaaaaaaa'])('answers empty for %s', (stream) => {
    expect(source(stream)).toBe('');
  });

  it('answers empty once the file is gone, the row is being deleted, or the root moved', () => {
    const other = record(db, root, alice, nowSec() - 90);
    unlinkSync(other.path);
    expect(source(`vod+${other.id}`)).toBe('');

    const marked = record(db, root, alice, nowSec() - 80);
    sql(db, 'UPDATE recordings SET deleting_at = 1 WHERE id = ?', marked.id);
    expect(source(`vod+${marked.id}`)).toBe('');

    const moved = tempDir();
    cli(db, ['config', 'set', 'recordings-root', moved]);
    expect(source(`vod+${id}`)).toBe('');
    cli(db, ['config', 'set', 'recordings-root', root]);
    expect(source(`vod+${id}`)).toBe(path);
  });

  it('uses the vod-base setting', () => {
    cli(db, ['config', 'set', 'vod-base', 'replay']);
    expect(source(`vod+${id}`)).toBe('');
    expect(source(`replay+${id}`)).toBe(path);
    cli(db, ['config', 'unset', 'vod-base']);
  });
});

describe('DEFAULT_STREAM', () => {
  const { db, root, alice } = setup();
  const fallback = (payload: string) => runTrigger({ program: 'default-stream', trigger: 'DEFAULT_STREAM', payload, db }).stdout;
  const offlineAlice = fixture('01-basic-push-alice/DEFAULT_STREAM-1'); // vod / streams+alice / 127.0.0.1 / HLS / url

  it("answers MistServer's configured default for a stream that is no channel (capture 20k)", () => {
    expect(fallback(fixture('20k-nonexistent/DEFAULT_STREAM-1'))).toBe('vod');
  });

  it('never answers the requested stream itself (capture 13: the default vod is the one failing)', () => {
    expect(fallback(fixture('13-handler-sleep6/DEFAULT_STREAM-1'))).toBe('');
  });

  it('answers the default for an offline channel without replay or placeholder', () => {
    expect(fallback(offlineAlice)).toBe('vod');
  });

  it('answers the offline-stream setting when set, unless that is the stream requested', () => {
    cli(db, ['config', 'set', 'offline-stream', 'offline']);
    expect(fallback(offlineAlice)).toBe('offline');
    expect(fallback('vod\noffline\n127.0.0.1\nHLS\nu')).toBe('vod');
    cli(db, ['config', 'unset', 'offline-stream']);
  });

  it('replays the latest good recording while offline when replay-offline is on', () => {
    cli(db, ['channel', 'set', 'alice', '--replay-offline', 'on']);
    expect(fallback(offlineAlice)).toBe('vod'); // nothing recorded yet
    const older = record(db, root, alice, nowSec() - 3 * DAY);
    const latest = record(db, root, alice, nowSec() - DAY);
    record(db, root, alice, nowSec() - 100, { code: 'WRITE_FAILURE', path: join(root, String(alice), 'broken.mkv') });
    expect(fallback(offlineAlice)).toBe(`vod+${latest.id}`);
    unlinkSync(latest.path); // removed by hand: the next one plays
    expect(fallback(offlineAlice)).toBe(`vod+${older.id}`);
  });

  it('does not replay while the channel is live', () => {
    sql(db, 'INSERT INTO broadcasts (user_id, started_at) VALUES (?, ?)', alice, Date.now());
    expect(fallback(offlineAlice)).toBe('vod');
    sql(db, 'UPDATE broadcasts SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL', Date.now(), alice);
    expect(fallback(offlineAlice)).toMatch(/^vod\+[a-z2-7]{16}$/);
  });

  it('does not replay the archive of a disabled channel', () => {
    expect(fallback(offlineAlice)).toMatch(/^vod\+/);
    cli(db, ['user', 'disable', 'alice']);
    expect(fallback(offlineAlice)).toBe('vod');
    cli(db, ['user', 'enable', 'alice']);
  });

  it.each(['streams+../../etc', `streams+${'a'.repeat(5000)}`, 'streams+ålice☃', 'vod+../../etc/passwd'])('answers the configured default for %s', (stream) => {
    expect(fallback(`vod\n${stream}\n127.0.0.1\nHLS\nu`)).toBe('vod');
  });

  it('answers empty on a malformed payload', () => {
    const r = runTrigger({ trigger: 'DEFAULT_STREAM', payload: 'vod\nstreams+alice', db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('DEFAULT_STREAM');
  });
});

describe('channelForStream', () => {
  it('resolves vod+<id> to the recording channel with kind vod', async () => {
    const { db, root, alice } = setup();
    const { id } = record(db, root, alice, nowSec() - 100);
    const { channelForStream } = await import('../src/live/stream-channel');
    const conn = new Database(db, { nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
    try {
      expect(channelForStream(conn, `vod+${id}`, 'streams')).toEqual({ userId: alice, userName: 'alice', disabled: false, kind: 'vod', recordingId: id });
      expect(channelForStream(conn, 'streams+alice', 'streams')).toMatchObject({ kind: 'live', userId: alice });
      expect(channelForStream(conn, 'vod+aaaaaaaaaaaaaaaa', 'streams')).toBeNull();
      expect(channelForStream(conn, `replay+${id}`, 'streams', 'replay')).toMatchObject({ kind: 'vod', recordingId: id });
      conn.prepare('UPDATE recordings SET deleting_at = 1 WHERE id = ?').run(id);
      expect(channelForStream(conn, `vod+${id}`, 'streams')).toBeNull();
    } finally {
      conn.close();
    }
  });
});

describe('streamctl config set recordings-root', () => {
  const db = freshDb();
  it.each(['relative/dir', '/srv/$wildcard', '/srv/rec?x=1', '/'])('refuses %s', (value) => {
    const r = cli(db, ['config', 'set', 'recordings-root', value]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('streamctl recordings list, show, pin, delete', () => {
  const { db, root, alice } = setup();
  addUser(db, 'bob');
  const bob = userId(db, 'bob');
  const a1 = record(db, root, alice, nowSec() - 300);
  const a2 = record(db, root, alice, nowSec() - 200);
  const b1 = record(db, root, bob, nowSec() - 100);

  it('lists newest first with the documented JSON fields', () => {
    const list = cliJson<any[]>(db, ['recordings', 'list']);
    expect(list.map((r) => r.id)).toEqual([b1.id, a2.id, a1.id]);
    for (const key of ['id', 'user', 'path', 'bytes', 'duration_ms', 'started_at', 'status']) expect(list[0]).toHaveProperty(key);
    expect(list[0].started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(cliJson<any[]>(db, ['recordings', 'list', 'ALICE']).map((r) => r.id)).toEqual([a2.id, a1.id]);
  });

  it('pages with --limit and --before', () => {
    const first = cliJson<any[]>(db, ['recordings', 'list', '--limit', '2']);
    expect(first.map((r) => r.id)).toEqual([b1.id, a2.id]);
    const next = cliJson<any[]>(db, ['recordings', 'list', '--limit', '2', '--before', a2.id]);
    expect(next.map((r) => r.id)).toEqual([a1.id]);
    const text = cli(db, ['recordings', 'list', '--limit', '2']);
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
    expect(text.stderr).toContain(`--before ${a2.id}`);
  });

  it('shows one recording with its VoD stream name', () => {
    expect(cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ id: a1.id, stream: `vod+${a1.id}`, file_exists: true });
    const missing = cli(db, ['recordings', 'show', 'nosuchrecording1']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('streamctl: no recording "nosuchrecording1" (see \'streamctl recordings list\')\n');
  });

  it('pins and unpins', () => {
    expect(cli(db, ['recordings', 'pin', a1.id]).status).toBe(0);
    expect(cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ pinned: true });
    expect(cli(db, ['recordings', 'unpin', a1.id]).status).toBe(0);
    expect(cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ pinned: false });
  });

  it('deletes the file and the row together', () => {
    const r = cli(db, ['recordings', 'delete', a2.id]);
    expect(r.status).toBe(0);
    expect(existsSync(a2.path)).toBe(false);
    expect(cli(db, ['recordings', 'show', a2.id]).status).toBe(1);
  });

  it('removes the row of a file that is already gone, and says so', () => {
    unlinkSync(b1.path);
    const r = cli(db, ['recordings', 'delete', b1.id]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('already gone');
    expect(cli(db, ['recordings', 'show', b1.id]).status).toBe(1);
  });

  it('keeps the row when the file cannot be deleted', () => {
    const stuck = record(db, root, alice, nowSec() - 50);
    unlinkSync(stuck.path);
    mkdirSync(stuck.path); // unlink(2) fails on a directory, even for root
    const r = cli(db, ['recordings', 'delete', stuck.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('could not delete');
    expect(cliJson(db, ['recordings', 'show', stuck.id])).toMatchObject({ status: 'ok' });
    rmSync(stuck.path, { recursive: true });
  });
});

describe('streamctl recordings prune', () => {
  it('applies per-channel retention over the global default and keeps pinned recordings', () => {
    const { db, root, alice } = setup();
    addUser(db, 'bob');
    const bob = userId(db, 'bob');
    cli(db, ['channel', 'set', 'bob', '--retention', '7d']);
    const aliceOld = record(db, root, alice, nowSec() - 40 * DAY);
    const aliceMid = record(db, root, alice, nowSec() - 10 * DAY);
    const alicePinned = record(db, root, alice, nowSec() - 50 * DAY);
    const bobMid = record(db, root, bob, nowSec() - 10 * DAY);
    const bobNew = record(db, root, bob, nowSec() - DAY);
    cli(db, ['recordings', 'pin', alicePinned.id]);

    const dry = cliJson(db, ['recordings', 'prune', '--older-than', '30d', '--dry-run']);
    expect(dry.items.map((i: any) => i.id).sort()).toEqual([aliceOld.id, bobMid.id].sort());
    expect(existsSync(aliceOld.path)).toBe(true); // dry run touches nothing

    const r = cliJson(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r).toMatchObject({ deleted: 2, failed: 0, already_gone: 0 });
    expect(existsSync(aliceOld.path)).toBe(false);
    expect(existsSync(bobMid.path)).toBe(false);
    const left = cliJson<any[]>(db, ['recordings', 'list']).map((x) => x.id).sort();
    expect(left).toEqual([aliceMid.id, alicePinned.id, bobNew.id].sort());
  });

  it('keeps everything without a retention anywhere, and uses the recordings-retention setting', () => {
    const { db, root, alice } = setup();
    const old = record(db, root, alice, nowSec() - 400 * DAY);
    expect(cliJson(db, ['recordings', 'prune'])).toMatchObject({ deleted: 0 });
    cli(db, ['config', 'set', 'recordings-retention', '365d']);
    expect(cliJson(db, ['recordings', 'prune'])).toMatchObject({ deleted: 1 });
    expect(existsSync(old.path)).toBe(false);
  });

  it('enforces --max-total-size oldest first, pinned kept', () => {
    const { db, root, alice } = setup();
    const recs = [5, 4, 3, 2, 1].map((d) => record(db, root, alice, nowSec() - d * DAY, { bytes: 1000 }));
    cli(db, ['recordings', 'pin', recs[0]!.id]);
    const r = cliJson(db, ['recordings', 'prune', '--max-total-size', '2500']);
    expect(r).toMatchObject({ deleted: 3, freed_bytes: 3000 });
    const left = cliJson<any[]>(db, ['recordings', 'list']).map((x) => x.id).sort();
    expect(left).toEqual([recs[0]!.id, recs[4]!.id].sort());
  });

  it('reports files already gone and files it cannot delete, keeping the latter, and exits non-zero only for those', () => {
    const { db, root, alice } = setup();
    const gone = record(db, root, alice, nowSec() - 40 * DAY);
    const stuck = record(db, root, alice, nowSec() - 39 * DAY);
    unlinkSync(gone.path);
    unlinkSync(stuck.path);
    mkdirSync(stuck.path);
    const r = cli(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${gone.id}: file was already gone`);
    expect(r.stdout).toContain(`${stuck.id}: could not delete`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(cliJson<any[]>(db, ['recordings', 'list']).map((x) => x.id)).toEqual([stuck.id]);
    expect(cliJson<any>(db, ['recordings', 'show', stuck.id]).status).toBe('ok');
    rmSync(stuck.path, { recursive: true });
    const again = cli(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already gone'); // the stuck one vanished meanwhile
  });

  it('finishes a prune killed half-way (rows marked, some files already unlinked)', () => {
    const { db, root, alice } = setup();
    const unlinked = record(db, root, alice, nowSec() - 40 * DAY);
    const notYet = record(db, root, alice, nowSec() - 40 * DAY + 60);
    const fresh = record(db, root, alice, nowSec() - DAY);
    sql(db, 'UPDATE recordings SET deleting_at = ? WHERE id IN (?, ?)', Date.now(), unlinked.id, notYet.id);
    unlinkSync(unlinked.path);
    // Being deleted: never served meanwhile.
    expect(runTrigger({ trigger: 'STREAM_SOURCE', payload: `vod+${notYet.id}`, db }).stdout).toBe('');
    const r = cliJson(db, ['recordings', 'prune']);
    expect(r).toMatchObject({ resumed: 2, failed: 0, already_gone: 0 });
    expect(existsSync(notYet.path)).toBe(false);
    expect(cliJson<any[]>(db, ['recordings', 'list']).map((x) => x.id)).toEqual([fresh.id]);
  });

  it('never touches files outside the root (the root was moved)', () => {
    const { db, root, alice } = setup();
    const old = record(db, root, alice, nowSec() - 40 * DAY);
    cli(db, ['config', 'set', 'recordings-root', tempDir()]);
    const r = cliJson(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r).toMatchObject({ deleted: 0, outside_root: 1 });
    expect(existsSync(old.path)).toBe(true);
    expect(cli(db, ['recordings', 'delete', old.id]).status).toBe(1);
    expect(existsSync(old.path)).toBe(true);
  });

  it('fails with one line when recordings-root is not set', () => {
    const r = cli(freshDb(), ['recordings', 'prune']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('streamctl: recordings-root is not set (streamctl config set recordings-root <dir>)\n');
  });

  it('refuses bad flags with one line', () => {
    const { db } = setup();
    for (const args of [['--older-than', 'soon'], ['--max-total-size', 'big']]) {
      const r = cli(db, ['recordings', 'prune', ...args]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('expected');
    }
  });
});

describe('streamctl recordings scan', () => {
  it('finds files without rows and rows without files', () => {
    const { db, root, alice } = setup();
    const kept = record(db, root, alice, nowSec() - 100);
    const lost = record(db, root, alice, nowSec() - 90);
    unlinkSync(lost.path);
    const stray = join(root, String(alice), 'stray.mkv');
    writeFileSync(stray, 'x');
    const old = new Date(Date.now() - 3600_000);
    require('node:fs').utimesSync(stray, old, old);
    const inProgress = join(root, String(alice), 'now.mkv');
    writeFileSync(inProgress, 'x');
    const report = cliJson(db, ['recordings', 'scan']);
    expect(report.files_without_row.map((f: any) => f.path)).toEqual([stray]);
    expect(report.files_in_progress.map((f: any) => f.path)).toEqual([inProgress]);
    expect(report.rows_without_file).toEqual([{ id: lost.id, path: lost.path }]);
    expect(report.rows_seen).toBe(2);
    expect(readdirSync(join(root, String(alice)))).toContain(kept.path.split(sep).pop());
  });
});
