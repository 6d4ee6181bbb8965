// PUSH_REWRITE and RTMP_PUSH_REWRITE, run as MistServer runs them, on the captured payloads.
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addUser, cli, cliJson, fixture, fixtureEnv, freshDb, runTrigger, tempDir } from './helpers';

const withKey = (payload: string, key: string) => payload.replaceAll('KEY_ALICE', key);

describe('PUSH_REWRITE', () => {
  const db = freshDb();
  const key = addUser(db, 'alice');

  it.each([
    ['SRT (capture 18)', '18-srt-push-key/PUSH_REWRITE-1'],
    ['RTSP with a mangled URL (capture 19)', '19-rtsp-push-key/PUSH_REWRITE-1'],
  ])('accepts a known key pushed over %s and answers streams+alice without a newline', (_, name) => {
    const r = runTrigger({ program: 'push-rewrite', trigger: 'PUSH_REWRITE', payload: withKey(fixture(name), key), db, env: fixtureEnv(name) });
    expect(r.stdout).toBe('streams+alice');
    expect(r.status).toBe(0);
  });

  it('accepts an RTMP push whose parsed name is the key', () => {
    const payload = `rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`;
    expect(runTrigger({ trigger: 'PUSH_REWRITE', payload, db }).stdout).toBe('streams+alice');
  });

  it.each([
    ['the internal name streams+alice sent as a key (capture 01)', '01-basic-push-alice/PUSH_REWRITE-1'],
    ['an empty name (capture 33)', '33-rewrite-trailing-slash-empty-name/PUSH_REWRITE-1'],
    ['a mixed-case internal name (capture 34)', '34-rewrite-mixed-case/PUSH_REWRITE-1'],
  ])('refuses %s with an empty answer', (_, name) => {
    const r = runTrigger({ program: 'push-rewrite', trigger: 'PUSH_REWRITE', payload: fixture(name), db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refused push/);
  });

  it('refuses an unknown key of the right shape', () => {
    const wrong = 'stc_' + 'A'.repeat(32);
    const r = runTrigger({ trigger: 'PUSH_REWRITE', payload: `srt://h/?streamid=${wrong}\n10.0.0.9\n${wrong}`, db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown key');
    expect(r.stderr).not.toContain(wrong);
  });

  it('never writes the key to stderr or to the event log', () => {
    runTrigger({ trigger: 'PUSH_REWRITE', payload: `x\n10.0.0.1\n${key}`, db });
    const events = cli(db, ['events', '--json']).stdout;
    expect(events).not.toContain(key);
    expect(events).toContain('accepted');
  });
});

describe('RTMP_PUSH_REWRITE', () => {
  const db = freshDb();
  const key = addUser(db, 'alice');

  it('rewrites the captured URL (capture 01) to the same URL ending in streams+alice', () => {
    const name = '01-basic-push-alice/RTMP_PUSH_REWRITE-1';
    const r = runTrigger({ program: 'rtmp-push-rewrite', trigger: 'RTMP_PUSH_REWRITE', payload: withKey(fixture(name), key), db, env: fixtureEnv(name) });
    expect(r.stdout).toBe('rtmp://127.0.0.1:1935/live/streams+alice');
  });

  it('drops a ?query after the key', () => {
    const r = runTrigger({ trigger: 'RTMP_PUSH_REWRITE', payload: `rtmp://h/live/${key}?a=1/2\n127.0.0.1`, db });
    expect(r.stdout).toBe('rtmp://h/live/streams+alice');
  });

  it('refuses the wrong key (capture 02)', () => {
    const r = runTrigger({ trigger: 'RTMP_PUSH_REWRITE', payload: fixture('02-push-wrong-key/RTMP_PUSH_REWRITE-1'), db });
    expect(r.stdout).toBe('');
  });
});

describe('keys and users change what is accepted', () => {
  const db = freshDb();
  const push = (key: string, ip = '192.0.2.1') => runTrigger({ trigger: 'PUSH_REWRITE', payload: `u\n${ip}\n${key}`, db }).stdout;

  it('refuses a disabled user and accepts again once enabled', () => {
    const key = addUser(db, 'bob');
    expect(cli(db, ['user', 'disable', 'bob']).status).toBe(0);
    expect(push(key)).toBe('');
    expect(cli(db, ['user', 'enable', 'BOB']).status).toBe(0);
    expect(push(key)).toBe('streams+bob');
  });

  it('revokes old keys on rotate, keeps them during --grace', () => {
    const first = addUser(db, 'carol');
    const second = cliJson<{ key: string }>(db, ['key', 'rotate', 'carol']).key;
    expect(push(first)).toBe('');
    expect(push(second)).toBe('streams+carol');
    const third = cliJson<{ key: string }>(db, ['key', 'rotate', 'carol', '--grace', '1h']).key;
    expect(push(second)).toBe('streams+carol');
    expect(push(third)).toBe('streams+carol');
  });

  it('supports several labelled keys and revokes one by label', () => {
    const main = addUser(db, 'dave');
    const backup = cliJson<{ key: string }>(db, ['key', 'add', 'dave', '--label', 'backup']).key;
    expect(push(backup)).toBe('streams+dave');
    expect(cli(db, ['key', 'revoke', 'dave', 'backup']).status).toBe(0);
    expect(push(backup)).toBe('');
    expect(push(main)).toBe('streams+dave');
  });

  it('uses the configured stream base', () => {
    const key = addUser(db, 'erin');
    expect(cli(db, ['config', 'set', 'stream-base', 'live']).status).toBe(0);
    expect(push(key)).toBe('live+erin');
    cli(db, ['config', 'unset', 'stream-base']);
  });

  it('refuses a removed user', () => {
    const key = addUser(db, 'frank');
    expect(cli(db, ['user', 'remove', 'frank']).status).toBe(0);
    expect(push(key)).toBe('');
  });
});

describe('brute-force guard', () => {
  it('refuses an address at once after repeated failures, without touching others', () => {
    const db = freshDb();
    const key = addUser(db, 'alice');
    cli(db, ['config', 'set', 'push-guard-failures', '3']);
    const push = (k: string, ip: string) => runTrigger({ trigger: 'PUSH_REWRITE', payload: `u\n${ip}\n${k}`, db });
    for (let i = 0; i < 3; i++) push('stc_' + 'B'.repeat(32), '198.51.100.7');
    const blocked = push(key, '198.51.100.7');
    expect(blocked.stdout).toBe('');
    expect(blocked.stderr).toContain('too many refused pushes');
    expect(push(key, '198.51.100.8').stdout).toBe('streams+alice');
  });
});

describe('failing closed', () => {
  it('answers empty with one stderr line when the database is missing', () => {
    const r = runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n1.2.3.4\nstc_x', db: '/nonexistent/streamctl.db' });
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('does not exist');
  });

  it('answers empty when the database exists but was never migrated', () => {
    const path = join(tempDir(), 'empty.db');
    new Database(path).close();
    const r = runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n1.2.3.4\nstc_x', db: path });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/schema 0, this build needs \d+; run 'streamctl db migrate'/);
  });

  it('answers empty when the database file is not a database', () => {
    const path = join(tempDir(), 'garbage.db');
    writeFileSync(path, 'this is not sqlite'.repeat(100));
    const r = runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n1.2.3.4\nstc_x', db: path });
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['no lines', ''],
    ['too few lines', 'rtmp://h/live/x'],
    ['too many lines', 'a\nb\nc\nd'],
    ['binary garbage', '\u0000\u00ff\n\n\n\n\n'],
  ])('answers empty on a malformed payload (%s)', (_, payload) => {
    const db = freshDb();
    const r = runTrigger({ trigger: 'PUSH_REWRITE', payload, db });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/PUSH_REWRITE/);
  });

  it('answers empty for a trigger name it does not handle', () => {
    const r = runTrigger({ trigger: 'NO_SUCH_TRIGGER', payload: 'x', db: freshDb() });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown trigger');
  });
});
