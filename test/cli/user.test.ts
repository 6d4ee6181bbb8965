// The admin CLI in process as an operator uses it: JSON shapes, one-line errors, keys shown once,
// help; `db`, `config` and `events prune`.
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pushRewrite from '../../src/triggers/push-rewrite';
import { tempDir } from '../support/helpers';
import { cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerSync } from '../support/trigger';

describe('streamctl user', () => {
  const db = memoryDb();

  it('creates a user with a first key and prints the key once, in JSON too', async () => {
    const r = await cliJson(db, ['user', 'add', 'Alice', '--display-name', 'Alice A.', '--external-id', 'site-42']);
    // The same user object as `user show --json`, with the new key once.
    expect(r).toMatchObject({ name: 'alice', display_name: 'Alice A.', external_id: 'site-42', disabled: false, active_keys: 1 });
    expect(r.key).toMatch(/^stc_[A-Za-z0-9_-]{32}$/);
    expect(r.new_key.label).toBe('default');
    const text = await cli(memoryDb(), ['user', 'add', 'bob']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/stc_[A-Za-z0-9_-]{32}/);
  });

  it('never shows the key again: not in list, show or key list', async () => {
    const db2 = memoryDb();
    const { key } = await cliJson(db2, ['user', 'add', 'bob']);
    for (const args of [
      ['user', 'list'],
      ['user', 'show', 'bob'],
      ['key', 'list', 'bob'],
      ['key', 'list', 'bob', '--all'],
    ]) {
      const text = await cli(db2, args);
      expect(text.status, args.join(' ')).toBe(0);
      expect(text.stdout).toMatch(/bob|default/); // printed something about the user or its key
      expect(text.stdout).not.toContain(key);
      expect((await cli(db2, [...args, '--json'])).stdout).not.toContain(key);
    }
    expect((await cliJson(db2, ['key', 'list', 'bob']))[0]).toMatchObject({
      label: 'default',
      prefix: key.slice(0, 8),
      state: 'active',
      last_used_at: null,
    });
  });

  it.each([
    [['user', 'add', 'alice'], /already exists/],
    [['user', 'add', 'carol', '--external-id', 'site-42'], /external id "site-42" already belongs/],
    [['user', 'add', '-bad'], /^streamctl: unknown option/],
    [['user', 'add', 'has space'], /invalid user name/],
    [['user', 'add', 'x'.repeat(33)], /longer than 32/],
    [['user', 'show', 'nobody'], /no user named "nobody"/],
    [['key', 'rotate', 'alice', '--grace', 'soon'], /invalid --grace "soon"/],
    [['key', 'revoke', 'alice', 'nolabel'], /no working key labelled or prefixed "nolabel"/],
    [['config', 'set', 'stream-base', 'a+b'], /invalid value for stream-base/],
    [['config', 'set', 'no-such-setting', '1'], /unknown setting/],
    [['channel', 'set', 'alice', '--access', 'friends'], /invalid --access "friends"/],
    [['nonsense'], /unknown command/],
  ])('refuses %j with one clear line and a non-zero exit', async (args, message) => {
    const r = await cli(db, args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  });

  it('lists users in JSON with stable fields', async () => {
    expect(await cliJson(db, ['user', 'list'])).toEqual([
      expect.objectContaining({
        id: expect.any(Number),
        name: 'alice',
        display_name: 'Alice A.',
        external_id: 'site-42',
        disabled: false,
        created_at: expect.stringMatching(/Z$/),
      }),
    ]);
  });

  it('disables, enables and removes users', async () => {
    await cliJson(db, ['user', 'add', 'dora']);
    expect((await cli(db, ['user', 'disable', 'dora'])).status).toBe(0);
    expect((await cliJson(db, ['user', 'show', 'dora'])).disabled).toBe(true);
    expect((await cli(db, ['user', 'enable', 'dora'])).status).toBe(0);
    expect((await cliJson(db, ['user', 'show', 'dora'])).disabled).toBe(false);
    expect((await cli(db, ['user', 'remove', 'dora', '--yes'])).status).toBe(0);
    expect((await cli(db, ['user', 'show', 'dora'])).status).toBe(1);
  });

  it('user remove asks a person at a terminal, and a script must say --yes', async () => {
    await cliJson(db, ['user', 'add', 'erin']);
    const script = await cli(db, ['user', 'remove', 'erin'], { stdin: '' });
    expect(script.status).toBe(2);
    expect(script.stderr).toMatch(
      /^streamctl: user remove deletes erin's keys, channel settings and history for good: add --yes to confirm/,
    );
    const no = await cli(db, ['user', 'remove', 'erin'], { terminalAnswers: ['n'] });
    expect(no.stderr).toMatch(
      /^remove erin with its 1 key\(s\), channel settings and history\? \[y\/N\] streamctl: erin was not removed\n$/,
    );
    expect(no.status).toBe(1);
    expect((await cli(db, ['user', 'remove', 'erin'], { terminalAnswers: [''] })).status).toBe(1);
    expect((await cli(db, ['user', 'show', 'erin'])).status).toBe(0);
    const yes = await cli(db, ['user', 'remove', 'erin'], { terminalAnswers: ['y'] });
    expect(yes.status, yes.stderr).toBe(0);
    expect((await cli(db, ['user', 'show', 'erin'])).status).toBe(1);
  });

  it('prints help for every command on stdout and exits 0', async () => {
    for (const args of [
      ['--help'],
      ['user', '--help'],
      ['user', 'add', '--help'],
      ['key', 'rotate', '--help'],
      ['config', '--help'],
      ['channel', 'set', '--help'],
    ]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: streamctl/);
      expect(r.stderr).toBe('');
    }
  });
});

describe('streamctl key', () => {
  it('rotates with a grace period: old keys show as grace, new key is active', async () => {
    const db = memoryDb();
    await cliJson(db, ['user', 'add', 'erin']);
    const rotated = await cliJson(db, ['key', 'rotate', 'erin', '--grace', '2h']);
    // The old "default" key is still working (grace), so the new one gets its own label.
    expect(rotated).toMatchObject({ user: 'erin', label: 'default-2', revoked_keys: 1 });
    expect(rotated.key).toMatch(/^stc_/);
    const keys = await cliJson<{ state: string }[]>(db, ['key', 'list', 'erin']);
    expect(keys.map((k) => k.state).sort()).toEqual(['active', 'grace']);
  });

  it('refuses a second working key with the same label', async () => {
    const db = memoryDb();
    await cliJson(db, ['user', 'add', 'finn']);
    expect((await cli(db, ['key', 'add', 'finn', '--label', 'backup'])).status).toBe(0);
    const again = await cli(db, ['key', 'add', 'finn', '--label', 'backup']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has a key labelled "backup"/);
  });
});

describe('a new secret whose answer cannot be written', () => {
  const push = (db: ReturnType<typeof memoryDb>, key: string) =>
    answerSync(pushRewrite, db, `rtmp://h/live/${key}\n127.0.0.1\n${key}`).answer;

  it('is not stored: user add and key add change nothing, exit 74 with one line', async () => {
    const db = memoryDb();
    for (const args of [
      ['user', 'add', 'gail', '--json'],
      ['user', 'add', 'gail'],
    ]) {
      const r = await cli(db, args, { stdoutError: 'ENOSPC' });
      expect(r.status, args.join(' ')).toBe(74);
      expect(r.stderr, args.join(' ')).toBe(
        'streamctl: cannot write to stdout: ENOSPC (nothing was changed: the new secret could not be shown)\n',
      );
    }
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
    await cliJson(db, ['user', 'add', 'gail']);
    expect((await cli(db, ['key', 'add', 'gail', '--label', 'backup'], { stdoutError: 'EPIPE' })).status).toBe(74);
    expect((await cliJson<{ label: string }[]>(db, ['key', 'list', 'gail'])).map((k) => k.label)).toEqual(['default']);
  });

  it('key rotate keeps the old key working (it was the only one the broadcaster had)', async () => {
    const db = memoryDb();
    const { key } = await cliJson(db, ['user', 'add', 'hal']);
    for (const args of [
      ['key', 'rotate', 'hal'],
      ['key', 'rotate', 'hal', '--json'],
    ]) {
      const r = await cli(db, args, { stdoutError: 'ENOSPC' });
      expect(r.status, args.join(' ')).toBe(74);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    }
    expect(push(db, key)).toBe('streams+hal');
    expect(await cliJson<unknown[]>(db, ['key', 'list', 'hal'])).toHaveLength(1);
  });

  it('token secret keeps the old secret as it was', async () => {
    const db = memoryDb();
    const first = await cliJson<{ secret: string }>(db, ['token', 'secret']);
    expect((await cli(db, ['token', 'secret', '--grace', '0s'], { stdoutError: 'ENOSPC' })).status).toBe(74);
    expect((await cliJson<{ secret: string }>(db, ['token', 'secret', '--show'])).secret).toBe(first.secret);
  });

  it('sync creates no user whose key could not be shown', async () => {
    const db = memoryDb();
    for (const json of [[], ['--json']]) {
      const r = await cli(db, ['sync', '-', ...json], { stdin: '{"users":[{"name":"ivy"}]}', stdoutError: 'EPIPE' });
      expect(r.status).toBe(74);
      expect(r.stderr).toBe('streamctl: cannot write to stdout: EPIPE (nothing was changed: the keys of new users could not be shown)\n');
    }
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
  });
});

describe('streamctl db and config', () => {
  it('creates and migrates a database file, idempotently, and reports the schema version', async () => {
    const path = join(tempDir(), 'data', 'streamctl.db');
    const first = await cli(path, ['db', 'migrate']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^applied 0001_/);
    expect(first.stdout).toContain(`${path}: schema version`);
    expect(existsSync(path)).toBe(true);
    expect((await cli(path, ['db', 'path'])).stdout).toBe(`${path}\n`);
    const again = await cli(path, ['db', 'migrate']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
    const status = await cliJson(path, ['db', 'status']);
    expect(status.schema_version).toBeGreaterThan(0);
    expect(status.schema_version).toBe(status.build_schema_version);
  });

  it('db backup refuses the database and its -journal, -wal and -shm names, existing or not, however spelled', async () => {
    const dir = tempDir();
    const path = join(dir, 'streamctl.db');
    await cli(path, ['db', 'migrate']);
    await cliJson(path, ['user', 'add', 'jo']);
    symlinkSync(dir, join(dir, 'via-link'));
    for (const target of [
      path,
      `${path}-journal`,
      `${path}-wal`,
      `${path}-shm`,
      join(dir, 'via-link', 'streamctl.db-journal'),
      join(dir, '.', 'streamctl.db-wal'),
    ]) {
      const r = await cli(path, ['db', 'backup', target]);
      expect(r.status, target).toBe(1);
      expect(r.stderr, target).toMatch(/^streamctl: \S+ is the database('s (journal|wal|shm) file| itself)/);
    }
    // No hot journal was left for the next writer to play back: the database is as it was.
    expect(existsSync(`${path}-journal`)).toBe(false);
    expect((await cliJson<{ name: string }[]>(path, ['user', 'list'])).map((u) => u.name)).toEqual(['jo']);
    expect((await cli(path, ['db', 'backup', join(dir, 'streamctl.db-journal.bak')])).status).toBe(0);
  });

  it('stores settings and returns them to defaults', async () => {
    const db = memoryDb();
    expect((await cli(db, ['config', 'set', 'stream-base', 'live'])).status).toBe(0);
    expect((await cli(db, ['config', 'get', 'stream-base'])).stdout).toBe('live\n');
    expect((await cliJson(db, ['config', 'list'])).find((s: { name: string }) => s.name === 'stream-base').value).toBe('live');
    expect(await cliJson(db, ['config', 'get', 'stream-base'])).toMatchObject({ name: 'stream-base', value: 'live', default: 'streams' });
    expect((await cli(db, ['config', 'unset', 'stream-base'])).status).toBe(0);
    expect((await cli(db, ['config', 'get', 'stream-base'])).stdout).toBe('streams\n');
  });
});

describe('streamctl events prune', () => {
  it('keeps recent events, deletes older ones, and counts them on a dry run', async () => {
    const db = memoryDb();
    const pushedAt = Date.now() - 1000;
    expect(answerSync(pushRewrite, db, 'u\n192.0.2.1\nnot-a-key', { now: pushedAt }).answer).toBe('');
    expect(await cliJson<unknown[]>(db, ['events'])).toHaveLength(1);
    expect(await cliJson(db, ['events', 'prune', '--older-than', '1d'])).toMatchObject({ deleted: 0 });
    expect(await cliJson(db, ['events', 'prune', '--older-than', '1ms', '--dry-run'])).toMatchObject({ would_delete: 1, deleted: 0 });
    expect(await cliJson<unknown[]>(db, ['events'])).toHaveLength(1);
    expect(await cliJson(db, ['events', 'prune', '--older-than', '1ms'])).toMatchObject({ deleted: 1 });
    expect(await cliJson(db, ['events'])).toEqual([]);
  });
});
