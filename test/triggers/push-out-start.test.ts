// PUSH_OUT_START in process: recording paths from database values only, never the wildcard text.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import pushOutStart from '../../src/triggers/push-out-start';
import type { Db } from '../../src/store/open';
import { fixture, fixtureEnv } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerSync, fromMistEnv } from '../support/trigger';
import { setup, userId } from '../recordings/support';

const pushOut = (db: Db, payload: string, env: Record<string, string> = {}) => answerSync(pushOutStart, db, payload, fromMistEnv(env));

describe('PUSH_OUT_START', async () => {
  const { db, root, alice } = await setup();
  const out = (payload: string, env: Record<string, string> = {}) => pushOut(db, payload, env);

  it('answers a path under the root from the user id and MIST_TIME, never the wildcard text (capture 32a)', () => {
    const name = '32a-push-start/PUSH_OUT_START-1';
    const r = out(fixture(name), fixtureEnv(name));
    // MIST_TIME=1795462612090 → 2026-11-23 19:36:52.090 UTC
    expect(r.answer).toBe(join(root, String(alice), '20261123-193652-090.mkv'));
    expect(r.answer).not.toContain('$');
    expect(statSync(dirname(r.answer)).isDirectory()).toBe(true);
  });

  it('never reuses the name of an existing file', () => {
    const env = { MIST_TIME: '1795461837090' };
    const first = out(fixture('01-basic-push-alice/PUSH_OUT_START-1'), env).answer;
    expect(first).toBe(join(root, String(alice), '20261123-192357-090.mkv'));
    writeFileSync(first, 'x');
    expect(out(fixture('01-basic-push-alice/PUSH_OUT_START-1'), env).answer).toBe(join(root, String(alice), '20261123-192357-091.mkv'));
  });

  it.each([
    ['flv', '/x/$wildcard/$datetime.flv', 'flv'],
    ['ts with options (dropped)', '/x/$wildcard.ts?split=60', 'ts'],
    ['mp4 in upper case', '/x/$wildcard/$datetime.MP4', 'mp4'],
    ['a file:// URL', 'file:///x/$wildcard.mkv', 'mkv'],
  ])('keeps the container of the configured target: %s', (_, target, ext) => {
    const r = out(`streams+alice\n${target}`, { MIST_TIME: '1795461837000' });
    expect(r.answer.startsWith(root + sep)).toBe(true);
    expect(r.answer.endsWith(`.${ext}`)).toBe(true);
  });

  it('refuses a container it cannot play back', () => {
    const r = out('streams+alice\n/x/$wildcard/$datetime.webm');
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringContaining('.mkv, .flv, .ts or .mp4')]);
  });

  it.each([
    ['rtmp', 'rtmp://restream.example/live/$wildcard'],
    ['srt', 'srt://10.0.0.1:9000?streamid=$stream'],
    ['s3', 's3+https://bucket/$wildcard.mkv'],
  ])('passes %s restreams through unchanged', (_, target) => {
    expect(out(`streams+alice\n${target}`).answer).toBe(target);
  });

  it('aborts the recording (empty answer) when the channel does not record', async () => {
    await addUser(db, 'bob');
    expect(out('streams+bob\n/x/$wildcard/$datetime.mkv').answer).toBe('');
    expect((await cli(db, ['channel', 'set', 'bob', '--record', 'on'])).status).toBe(0);
    expect(out('streams+bob\n/x/$wildcard/$datetime.mkv').answer).toContain(join(root, String(userId(db, 'bob'))));
    expect((await cli(db, ['channel', 'set', 'bob', '--record', 'off'])).status).toBe(0);
    expect(out('streams+bob\n/x/$wildcard/$datetime.mkv').answer).toBe('');
  });

  it('keeps file pushes of configured streams without "+" (names MistServer sanitised)', () => {
    expect(out('vod\n/media/export/$datetime.mkv').answer).toBe('/media/export/$datetime.mkv');
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
    expect(out(`${stream}\n${root}/$wildcard/$datetime.mkv`).answer).toBe('');
  });

  it('rejects a stream name with a newline (capture 08: three lines) in parse with a one-line PayloadError', () => {
    const payload = fixture('08-pushrewrite-trailing-newline/PUSH_OUT_START-1');
    expect(() => pushOutStart.parse(payload)).toThrow(PayloadError);
    expect(() => pushOutStart.parse(payload)).toThrow(/^PUSH_OUT_START [^\n]+$/);
  });

  it('ignores a hostile configured target: the answer stays under the root', () => {
    const r = out('streams+ALICE\n/tmp/../../etc/$wildcard/../../passwd.mkv', { MIST_TIME: '1795461837000' });
    expect(r.answer.startsWith(root + sep)).toBe(true);
    expect(resolve(r.answer)).toBe(r.answer);
  });

  it('refuses to record when recordings-root is not set', async () => {
    const other = memoryDb();
    await addUser(other, 'alice');
    expect((await cli(other, ['channel', 'set', 'alice', '--record', 'on'])).status).toBe(0);
    const r = pushOut(other, fixture('01-basic-push-alice/PUSH_OUT_START-1'));
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringContaining('recordings-root is not set')]);
  });
});
