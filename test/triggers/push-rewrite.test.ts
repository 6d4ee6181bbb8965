// PUSH_REWRITE and RTMP_PUSH_REWRITE in process, on the captured payloads and literal ones, against
// an in-memory database; keys and users changed through the CLI in process. The programs as
// MistServer runs them (and failing closed) are in test/process/programs.test.ts.
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import pushRewrite from '../../src/triggers/push-rewrite';
import rtmpPushRewrite from '../../src/triggers/rtmp-push-rewrite';
import type { Db } from '../../src/store/open';
import { fixture, fixtureEnv } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerSync, fromMistEnv } from '../support/trigger';
import { PENDING_PUSH_MS } from '../../src/ingest/second-push';

const withKey = (payload: string, key: string) => payloadOrFail(payload.replaceAll('KEY_ALICE', key), payload);
/** Guards against a fixture that no longer carries the placeholder (the test would then prove nothing). */
function payloadOrFail(edited: string, original: string): string {
  if (edited === original) throw new Error('fixture has no KEY_ALICE placeholder');
  return edited;
}
const rewrite = (db: Db, payload: string, env: Record<string, string> = {}) => answerSync(pushRewrite, db, payload, fromMistEnv(env));
const rtmpRewrite = (db: Db, payload: string, env: Record<string, string> = {}) =>
  answerSync(rtmpPushRewrite, db, payload, fromMistEnv(env));

describe('PUSH_REWRITE', async () => {
  const db = memoryDb();
  const key = await addUser(db, 'alice');

  it.each([
    ['SRT (capture 18)', '18-srt-push-key/PUSH_REWRITE-1'],
    ['RTSP with a mangled URL (capture 19)', '19-rtsp-push-key/PUSH_REWRITE-1'],
  ])('accepts a known key pushed over %s and answers streams+alice without a newline', (_, name) => {
    expect(rewrite(db, withKey(fixture(name), key), fixtureEnv(name))).toEqual({ answer: 'streams+alice', lines: [] });
  });

  it('accepts an RTMP push whose parsed name is the key', () => {
    expect(rewrite(db, `rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`).answer).toBe('streams+alice');
  });

  it.each([
    ['the internal name streams+alice sent as a key (capture 01)', '01-basic-push-alice/PUSH_REWRITE-1'],
    ['an empty name (capture 33)', '33-rewrite-trailing-slash-empty-name/PUSH_REWRITE-1'],
    ['a mixed-case internal name (capture 34)', '34-rewrite-mixed-case/PUSH_REWRITE-1'],
  ])('refuses %s with an empty answer', (_, name) => {
    const r = rewrite(db, fixture(name));
    expect(r.answer).toBe('');
    expect(r.lines).toEqual([expect.stringMatching(/refused push/)]);
  });

  it('refuses an unknown key of the right shape', () => {
    const wrong = 'stc_' + 'A'.repeat(32);
    const r = rewrite(db, `srt://h/?streamid=${wrong}\n10.0.0.9\n${wrong}`);
    expect(r.answer).toBe('');
    expect(r.lines.join('\n')).toContain('unknown key');
    expect(r.lines.join('\n')).not.toContain(wrong);
  });

  it('never writes the key to the log lines or to the event log', async () => {
    const r = rewrite(db, `x\n10.0.0.1\n${key}`);
    expect(r.answer).toBe('streams+alice');
    expect(r.lines.join('\n')).not.toContain(key);
    const events = (await cli(db, ['events', '--json'])).stdout;
    expect(events).not.toContain(key);
    expect(events).toContain('accepted');
  });

  it.each([
    ['no lines', ''],
    ['too few lines', 'rtmp://h/live/x'],
    ['too many lines', 'a\nb\nc\nd'],
    ['binary garbage', '\u0000\u00ff\n\n\n\n\n'],
  ])('rejects a malformed payload (%s) in parse with a one-line PayloadError naming PUSH_REWRITE', (_, payload) => {
    expect(() => pushRewrite.parse(payload)).toThrow(PayloadError);
    expect(() => pushRewrite.parse(payload)).toThrow(/^PUSH_REWRITE [^\n]+$/);
  });
});

describe('RTMP_PUSH_REWRITE', async () => {
  const db = memoryDb();
  const key = await addUser(db, 'alice');

  it('rewrites the captured URL (capture 01) to the same URL ending in streams+alice', () => {
    const name = '01-basic-push-alice/RTMP_PUSH_REWRITE-1';
    expect(rtmpRewrite(db, withKey(fixture(name), key), fixtureEnv(name)).answer).toBe('rtmp://127.0.0.1:1935/live/streams+alice');
  });

  it('drops a ?query after the key', () => {
    expect(rtmpRewrite(db, `rtmp://h/live/${key}?a=1/2\n127.0.0.1`).answer).toBe('rtmp://h/live/streams+alice');
  });

  it('refuses the wrong key (capture 02)', () => {
    const r = rtmpRewrite(db, fixture('02-push-wrong-key/RTMP_PUSH_REWRITE-1'));
    expect(r.answer).toBe('');
    expect(r.lines).toHaveLength(1);
  });

  it('rejects a first line that is not a URL, and a payload of the wrong length', () => {
    expect(() => rtmpPushRewrite.parse('no-slash-here\n127.0.0.1')).toThrow(/^RTMP_PUSH_REWRITE payload line 1 is not a URL$/);
    expect(() => rtmpPushRewrite.parse(`rtmp://h/live/${key}`)).toThrow(PayloadError);
  });
});

describe('keys and users change what is accepted', () => {
  const db = memoryDb();
  // Each push a new encoder after the last one's pending window (another key inside it would be a
  // second push: test/ingest/second-push.test.ts).
  let clock = Date.now();
  const push = (key: string, ip = '192.0.2.1') =>
    answerSync(pushRewrite, db, `u\n${ip}\n${key}`, { now: (clock += PENDING_PUSH_MS + 1) }).answer;

  it('refuses a disabled user and accepts again once enabled', async () => {
    const key = await addUser(db, 'bob');
    expect(push(key)).toBe('streams+bob');
    expect((await cli(db, ['user', 'disable', 'bob'])).status).toBe(0);
    expect(push(key)).toBe('');
    expect((await cli(db, ['user', 'enable', 'BOB'])).status).toBe(0);
    expect(push(key)).toBe('streams+bob');
  });

  it('revokes old keys on rotate, keeps them during --grace', async () => {
    const first = await addUser(db, 'carol');
    const second = (await cliJson<{ key: string }>(db, ['key', 'rotate', 'carol'])).key;
    expect(push(first)).toBe('');
    expect(push(second)).toBe('streams+carol');
    const third = (await cliJson<{ key: string }>(db, ['key', 'rotate', 'carol', '--grace', '1h'])).key;
    expect(push(second)).toBe('streams+carol');
    expect(push(third)).toBe('streams+carol');
  });

  it('supports several labelled keys and revokes one by label', async () => {
    const main = await addUser(db, 'dave');
    const backup = (await cliJson<{ key: string }>(db, ['key', 'add', 'dave', '--label', 'backup'])).key;
    expect(push(backup)).toBe('streams+dave');
    expect((await cli(db, ['key', 'revoke', 'dave', 'backup'])).status).toBe(0);
    expect(push(backup)).toBe('');
    expect(push(main)).toBe('streams+dave');
  });

  it('uses the configured stream base', async () => {
    const key = await addUser(db, 'erin');
    expect((await cli(db, ['config', 'set', 'stream-base', 'live'])).status).toBe(0);
    expect(push(key)).toBe('live+erin');
    expect((await cli(db, ['config', 'unset', 'stream-base'])).status).toBe(0);
    expect(push(key)).toBe('streams+erin');
  });

  it('refuses a removed user', async () => {
    const key = await addUser(db, 'frank');
    expect((await cli(db, ['user', 'remove', 'frank', '--yes'])).status).toBe(0);
    expect(push(key)).toBe('');
  });
});

describe('brute-force guard', () => {
  it('refuses an address at once after repeated failures, without touching others', async () => {
    const db = memoryDb();
    const key = await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'push-guard-failures', '3'])).status).toBe(0);
    const push = (k: string, ip: string) => rewrite(db, `u\n${ip}\n${k}`);
    for (let i = 0; i < 3; i++) expect(push('stc_' + 'B'.repeat(32), '198.51.100.7').answer).toBe('');
    const blocked = push(key, '198.51.100.7');
    expect(blocked.answer).toBe('');
    expect(blocked.lines.join('\n')).toContain('too many refused pushes');
    expect(push(key, '198.51.100.8').answer).toBe('streams+alice');
  });
});
