// RECORDING_END in process: cataloguing under the recordings root, linked to the broadcast live
// then; repeats ignored; failures kept as failed; nothing outside the root.
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import recordingEndTrigger from '../../src/triggers/recording-end';
import { fixture, fixtureEnv } from '../support/helpers';
import { cliJson } from '../support/cli';
import { rows } from '../support/db';
import { answerSync, fromMistEnv } from '../support/trigger';
import { nowSec, record, recordingEnd, setup, type EndPayload } from '../recordings/support';

describe('RECORDING_END', async () => {
  const { db, root, alice } = await setup();
  const end = (payload: string, env: Record<string, string> = {}) => answerSync(recordingEndTrigger, db, payload, fromMistEnv(env));

  it('does not catalogue the captured file, which lies outside the recordings root (capture 01)', async () => {
    const name = '01-basic-push-alice/RECORDING_END-1';
    const r = end(fixture(name), fixtureEnv(name));
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringContaining('outside recordings-root')]);
    expect(await cliJson(db, ['recordings', 'list'])).toEqual([]);
  });

  it.each(['01-basic-push-alice/RECORDING_END-1', '20j-vod-alt-source/RECORDING_END-1', '32c-push-end/RECORDING_END-1'])(
    'catalogues %s once moved under the root, linked to the broadcast live then',
    async (name) => {
      const captured = fixture(name);
      const capturedPath = captured.split('\n')[1]!;
      const path = join(root, String(alice), capturedPath.slice(capturedPath.lastIndexOf('/') + 1));
      const startMs = Number(captured.split('\n')[5]) * 1000;
      const stopMs = Number(captured.split('\n')[6]) * 1000;
      // The broadcast opened at STREAM_BUFFER FULL, a few seconds after the recorder started, and
      // closed (EMPTY) just after it stopped, as in capture 01.
      const { lastInsertRowid } = db
        .prepare('INSERT INTO broadcasts (user_id, started_at, ended_at) VALUES (?, ?, ?)')
        .run(alice, startMs + 4000, stopMs + 600);
      const r = end(captured.replace(capturedPath, path), fixtureEnv(name));
      expect(r).toEqual({ answer: '', lines: [] });
      const rec = (await cliJson<any[]>(db, ['recordings', 'list', 'alice'])).find((x) => x.path === path);
      expect(rec).toMatchObject({
        user: 'alice',
        bytes: Number(captured.split('\n')[3]),
        status: 'ok',
        broadcast_id: Number(lastInsertRowid),
      });
      expect(rec.id).toMatch(/^[a-z2-7]{16}$/);
      expect(rec.duration_ms).toBe(Number(captured.split('\n')[7]));
    },
  );

  it('is idempotent on repeats', () => {
    const path = join(root, String(alice), 'repeat.mkv');
    const payload = recordingEnd({ path, startSec: nowSec() - 60 });
    for (let i = 0; i < 3; i++) expect(end(payload).answer).toBe('');
    expect(rows(db, 'SELECT id FROM recordings WHERE path = ?', path)).toHaveLength(1);
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
  ])('keeps a recording with %s, marked failed', async (_, file, extra: Partial<EndPayload>) => {
    const { id } = record(db, root, alice, nowSec() - 10, { path: join(root, String(alice), file), ...extra });
    expect(await cliJson(db, ['recordings', 'show', id])).toMatchObject({ status: 'failed' });
  });

  it.each([
    ['a path that walks out of the root', (root: string) => join(root, '..', 'escaped.mkv')],
    ['a relative path', () => 'recordings/1/x.mkv'],
    ['a sibling folder sharing the prefix', (root: string) => `${root}-evil/1/x.mkv`],
  ])('does not catalogue %s', (_, makePath) => {
    const r = end(recordingEnd({ path: makePath(root), startSec: 1 }));
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringContaining('outside recordings-root')]);
    expect(rows(db, 'SELECT id FROM recordings WHERE path NOT LIKE ?', `${root}${sep}%`)).toEqual([]);
  });

  it('does not catalogue recordings of streams that are not channels', () => {
    const r = end(recordingEnd({ stream: 'vod', path: join(root, 'x.mkv'), startSec: 1 }));
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringContaining('not a channel stream')]);
    expect(rows(db, 'SELECT id FROM recordings WHERE path = ?', join(root, 'x.mkv'))).toEqual([]);
  });

  it.each([
    ['eleven lines', 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n'],
    ['no trailing newline', recordingEnd({ path: join(root, 'n.mkv'), startSec: 1 }).slice(0, -1)],
    ['a non-numeric byte count', recordingEnd({ path: join(root, 'n.mkv'), startSec: 1 }).replace('1426133', '1e6')],
  ])('rejects a malformed payload (%s) in parse with a one-line PayloadError naming RECORDING_END', (_, payload) => {
    expect(() => recordingEndTrigger.parse(payload)).toThrow(PayloadError);
    expect(() => recordingEndTrigger.parse(payload)).toThrow(/^RECORDING_END [^\n]+$/);
  });
});
