// The admin CLI as an operator uses it: JSON shapes, one-line errors, keys shown once.
import { describe, expect, it } from 'vitest';
import { cli, cliJson, freshDb, runTrigger } from './helpers';

describe('streamctl user', () => {
  const db = freshDb();

  it('creates a user with a first key and prints the key once, in JSON too', () => {
    const r = cliJson(db, ['user', 'add', 'Alice', '--display-name', 'Alice A.', '--external-id', 'site-42']);
    // The same user object as `user show --json`, with the new key once.
    expect(r).toMatchObject({ name: 'alice', display_name: 'Alice A.', external_id: 'site-42', disabled: false, active_keys: 1 });
    expect(r.key).toMatch(/^stc_[A-Za-z0-9_-]{32}$/);
    expect(r.new_key.label).toBe('default');
  });

  it('never shows the key again: not in list, show or key list', () => {
    const db2 = freshDb();
    const { key } = cliJson(db2, ['user', 'add', 'bob']);
    for (const args of [['user', 'list'], ['user', 'show', 'bob'], ['key', 'list', 'bob'], ['key', 'list', 'bob', '--all']]) {
      expect(cli(db2, args).stdout).not.toContain(key);
      expect(cli(db2, [...args, '--json']).stdout).not.toContain(key);
    }
    expect(cliJson(db2, ['key', 'list', 'bob'])[0]).toMatchObject({ label: 'default', prefix: key.slice(0, 8), state: 'active', last_used_at: null });
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
  ])('refuses %j with one clear line and a non-zero exit', (args, message) => {
    const r = cli(db, args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  });

  it('lists users in JSON with stable fields', () => {
    const list = cliJson(db, ['user', 'list']);
    expect(list).toEqual([
      expect.objectContaining({ id: expect.any(Number), name: 'alice', display_name: 'Alice A.', external_id: 'site-42', disabled: false, created_at: expect.stringMatching(/Z$/) }),
    ]);
  });

  it('disables, enables and removes users', () => {
    cliJson(db, ['user', 'add', 'dora']);
    expect(cli(db, ['user', 'disable', 'dora']).status).toBe(0);
    expect(cliJson(db, ['user', 'show', 'dora']).disabled).toBe(true);
    expect(cli(db, ['user', 'enable', 'dora']).status).toBe(0);
    expect(cliJson(db, ['user', 'show', 'dora']).disabled).toBe(false);
    expect(cli(db, ['user', 'remove', 'dora']).status).toBe(0);
    expect(cli(db, ['user', 'show', 'dora']).status).toBe(1);
  });

  it('prints help for every command and exits 0', () => {
    for (const args of [['--help'], ['user', '--help'], ['user', 'add', '--help'], ['key', 'rotate', '--help'], ['config', '--help'], ['channel', 'set', '--help']]) {
      const r = cli(db, args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: streamctl/);
    }
  });
});

describe('streamctl key', () => {
  it('rotates with a grace period: old keys show as grace, new key is active', () => {
    const db = freshDb();
    cliJson(db, ['user', 'add', 'erin']);
    const rotated = cliJson(db, ['key', 'rotate', 'erin', '--grace', '2h']);
    // The old "default" key is still working (grace), so the new one gets its own label.
    expect(rotated).toMatchObject({ user: 'erin', label: 'default-2', revoked_keys: 1 });
    expect(rotated.key).toMatch(/^stc_/);
    const keys = cliJson<{ state: string }[]>(db, ['key', 'list', 'erin']);
    expect(keys.map((k) => k.state).sort()).toEqual(['active', 'grace']);
  });

  it('refuses a second working key with the same label', () => {
    const db = freshDb();
    cliJson(db, ['user', 'add', 'finn']);
    expect(cli(db, ['key', 'add', 'finn', '--label', 'backup']).status).toBe(0);
    const again = cli(db, ['key', 'add', 'finn', '--label', 'backup']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has a key labelled "backup"/);
  });
});

describe('streamctl db and config', () => {
  it('migrates idempotently and reports the schema version', () => {
    const db = freshDb();
    const again = cli(db, ['db', 'migrate']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
    const status = cliJson(db, ['db', 'status']);
    expect(status.schema_version).toBe(status.build_schema_version);
  });

  it('stores settings and returns them to defaults', () => {
    const db = freshDb();
    expect(cli(db, ['config', 'set', 'stream-base', 'live']).status).toBe(0);
    expect(cli(db, ['config', 'get', 'stream-base']).stdout).toBe('live\n');
    expect(cliJson(db, ['config', 'list']).find((s: { name: string }) => s.name === 'stream-base').value).toBe('live');
    expect(cliJson(db, ['config', 'get', 'stream-base'])).toMatchObject({ name: 'stream-base', value: 'live', default: 'streams' });
    cli(db, ['config', 'unset', 'stream-base']);
    expect(cli(db, ['config', 'get', 'stream-base']).stdout).toBe('streams\n');
  });
});

describe('streamctl events prune', () => {
  it('keeps recent events, deletes older ones, and counts them on a dry run', () => {
    const db = freshDb();
    runTrigger({ trigger: 'PUSH_REWRITE', payload: 'u\n192.0.2.1\nnot-a-key', db });
    expect(cliJson<unknown[]>(db, ['events'])).toHaveLength(1);
    expect(cliJson(db, ['events', 'prune', '--older-than', '1d'])).toMatchObject({ deleted: 0 });
    expect(cliJson(db, ['events', 'prune', '--older-than', '1ms', '--dry-run'])).toMatchObject({ would_delete: 1, deleted: 0 });
    expect(cliJson<unknown[]>(db, ['events'])).toHaveLength(1);
    expect(cliJson(db, ['events', 'prune', '--older-than', '1ms'])).toMatchObject({ deleted: 1 });
    expect(cliJson<unknown[]>(db, ['events'])).toEqual([]);
  });
});
