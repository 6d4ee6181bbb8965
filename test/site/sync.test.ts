// `streamctl sync`: the site's state from one JSON document, run as the site's cron would (the
// built CLI, a real SQLite file), with live effects sent to a fake MistServer.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJson } from '../../src/lib/json-schema';
import { startFakeMist } from '../support/fake-mist';
import { freshDb, ROOT, tempDir } from '../support/helpers';
import { cli, cliJson } from '../support/cli';
import { runInProcess } from '../support/trigger';

const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/sync-input.schema.json'), 'utf8'));
const reportSchema = JSON.parse(readFileSync(join(ROOT, 'schemas/sync-report.schema.json'), 'utf8'));

function inputFile(doc: unknown): string {
  const file = join(tempDir(), 'sync.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const SITE = {
  users: [
    { name: 'alice', external_id: 'site-1', display_name: 'Alice' },
    { name: 'bob', external_id: 'site-2', disabled: true },
  ],
  channels: [
    {
      user: 'alice',
      access: 'paid',
      viewer_cap: 50,
      retention: '30d',
      grants: [{ viewer: 'v1' }, { viewer: 'v2', until: '2030-01-01T00:00:00Z' }],
    },
  ],
  bans: [
    { ip: '203.0.113.7/24', reason: 'spam' },
    { channel: 'alice', viewer: 'troll' },
  ],
};

describe('streamctl sync', async () => {
  it('creates users (keys shown once), sets policies, grants and bans; the same input again changes nothing', async () => {
    const db = freshDb();
    const first = await cliJson(db, ['sync', inputFile(SITE)]);
    expect(first.dry_run).toBe(false);
    expect(first.summary).toMatchObject({ users_created: 2, channels_updated: 1, grants_added: 2, bans_added: 2 });
    const created = first.changes.filter((c: any) => c.object === 'user' && c.action === 'create');
    expect(created.map((c: any) => c.user)).toEqual(['alice', 'bob']);
    // The key printed is the one that works: a push with it is admitted.
    const alice = created[0];
    expect(alice.key).toMatch(/^stc_/);
    const push = await runInProcess({ trigger: 'PUSH_REWRITE', payload: `rtmp://h/live/${alice.key}\n127.0.0.1\n${alice.key}`, db });
    expect(push.stdout).toBe('streams+alice');

    expect(await cliJson(db, ['user', 'show', 'bob'])).toMatchObject({ external_id: 'site-2', disabled: true });
    expect(await cliJson(db, ['channel', 'show', 'alice'])).toMatchObject({
      access: 'paid',
      viewer_cap: 50,
      retention_ms: 30 * 86_400_000,
    });
    expect((await cliJson(db, ['grant', 'list', 'alice'])).map((g: any) => [g.viewer, g.until])).toEqual([
      ['v1', null],
      ['v2', '2030-01-01T00:00:00Z'],
    ]);
    expect((await cliJson(db, ['ban', 'list'])).map((b: any) => [b.channel, b.kind, b.value])).toEqual([
      [null, 'ip', '203.0.113.0/24'],
      ['alice', 'viewer', 'troll'],
    ]);

    // The real report is what schemas/sync-report.schema.json says.
    expect(validateJson(reportSchema, first)).toEqual([]);
    expect(validateJson(reportSchema, { ...first, changes: [{ object: 'user', action: 'create', user: 1 }] })).toEqual([
      { path: 'changes[0].user', message: 'expected string, got integer' },
    ]);

    const again = await cliJson(db, ['sync', inputFile(SITE)]);
    expect(again.changed).toBe(false);
    expect(again.changes).toEqual([]);
    // No key is printed for a user that already exists.
    expect(JSON.stringify(again)).not.toContain('stc_');
  });

  it('replaces the whole grant set of a channel and only the bans the site owns', async () => {
    const db = freshDb();
    await cliJson(db, ['sync', inputFile(SITE)]);
    expect((await cli(db, ['grant', 'add', 'alice', 'by-hand'])).status).toBe(0);
    expect((await cli(db, ['ban', 'add', '--viewer', 'operator-ban'])).status).toBe(0);
    const next = {
      channels: [{ user: 'alice', grants: [{ viewer: 'v2', until: '2031-01-01T00:00:00Z' }, { viewer: 'v3' }] }],
      bans: [{ channel: 'alice', viewer: 'troll', reason: 'still' }],
    };
    const report = await cliJson(db, ['sync', inputFile(next)]);
    const grants = report.changes.filter((c: any) => c.object === 'grant').map((c: any) => `${c.action} ${c.viewer}`);
    expect(grants.sort()).toEqual(['add v3', 'remove by-hand', 'remove v1', 'update v2']);
    expect((await cliJson(db, ['grant', 'list', 'alice'])).map((g: any) => g.viewer)).toEqual(['v2', 'v3']);
    expect(validateJson(reportSchema, report)).toEqual([]);
    const bans = report.changes.filter((c: any) => c.object === 'ban').map((c: any) => `${c.action} ${c.value}`);
    expect(bans.sort()).toEqual(['remove 203.0.113.0/24', 'update troll']);
    // The operator's ban is not the site's to lift.
    expect((await cliJson(db, ['ban', 'list'])).map((b: any) => b.value)).toEqual(['troll', 'operator-ban']);
    // Policies not named are left alone.
    expect((await cliJson(db, ['channel', 'show', 'alice'])).access).toBe('paid');
  });

  it('--dry-run reports the changes and makes none (no keys)', async () => {
    const db = freshDb();
    const report = await cliJson(db, ['sync', '--dry-run', inputFile(SITE)]);
    expect(report.dry_run).toBe(true);
    expect(report.summary.users_created).toBe(2);
    expect(JSON.stringify(report)).not.toContain('stc_');
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
    expect(await cliJson(db, ['ban', 'list'])).toEqual([]);
  });

  it('disable_unlisted_users disables users the site no longer has, never deletes them', async () => {
    const db = freshDb();
    await cliJson(db, ['user', 'add', 'carol']);
    const report = await cliJson(db, ['sync', inputFile({ users: [{ name: 'alice' }], disable_unlisted_users: true })]);
    expect(report.changes.find((c: any) => c.user === 'carol')).toMatchObject({
      action: 'update',
      fields: { disabled: { from: false, to: true } },
    });
    expect((await cliJson(db, ['user', 'show', 'carol'])).disabled).toBe(true);
  });

  it('lets two users swap their external ids in one sync', async () => {
    const db = freshDb();
    await cliJson(db, [
      'sync',
      inputFile({
        users: [
          { name: 'a', external_id: '1' },
          { name: 'b', external_id: '2' },
        ],
      }),
    ]);
    await cliJson(db, [
      'sync',
      inputFile({
        users: [
          { name: 'a', external_id: '2' },
          { name: 'b', external_id: '1' },
        ],
      }),
    ]);
    expect((await cliJson(db, ['user', 'show', 'a'])).external_id).toBe('2');
  });

  it('moves an external id from a listed user to a new one, and names the user and field when two would hold one', async () => {
    const db = freshDb();
    await cliJson(db, [
      'sync',
      inputFile({
        users: [
          { name: 'a', external_id: '1' },
          { name: 'c', external_id: '3' },
        ],
      }),
    ]);
    // b is new and takes a's id while a moves on: valid once the sync is done.
    await cliJson(db, [
      'sync',
      inputFile({
        users: [
          { name: 'b', external_id: '1', disabled: true },
          { name: 'a', external_id: '2' },
        ],
      }),
    ]);
    expect(await cliJson(db, ['user', 'show', 'b'])).toMatchObject({ external_id: '1', disabled: true });
    expect((await cliJson(db, ['user', 'show', 'a'])).external_id).toBe('2');
    // c is listed without external_id, so it keeps "3": d cannot have it.
    const r = await cli(db, ['sync', inputFile({ users: [{ name: 'c' }, { name: 'd', external_id: '3' }] })]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'streamctl: invalid sync input: users[1].external_id: user "d": "3" already belongs to user "c" (users[0]), which keeps it: give that user its new external_id too\n',
    );
    expect(r.stderr).not.toContain('SQLITE');
    const twice = await cli(db, [
      'sync',
      inputFile({
        users: [
          { name: 'x', external_id: '9' },
          { name: 'y', external_id: '9' },
        ],
      }),
    ]);
    expect(twice.stderr).toContain('users[1].external_id: user "y": "9" is listed twice (also at users[0])');
    const unlisted = await cli(db, ['sync', inputFile({ users: [{ name: 'z', external_id: '2' }] })]);
    expect(unlisted.stderr).toContain('users[0].external_id: user "z": "2" already belongs to user "a", which is not in this sync');
    expect((await cliJson<unknown[]>(db, ['user', 'list'])).length).toBe(3);
  });

  it('checks display names and external ids as user add does, naming the user and field', async () => {
    const db = freshDb();
    for (const [field, value] of [
      ['external_id', 'site\u001b[31m'],
      ['external_id', ' site-1'],
      ['external_id', 'site-1\r\n'],
      ['display_name', 'Alice\u0007'],
      ['display_name', '  Alice'],
      ['display_name', 'A\nB'],
      ['display_name', ''],
      ['display_name', 'x'.repeat(101)],
    ] as const) {
      const r = await cli(db, ['sync', inputFile({ users: [{ name: 'alice', [field]: value }] })]);
      expect(r.status, `${field} ${JSON.stringify(value)}`).toBe(1);
      expect(r.stderr, `${field} ${JSON.stringify(value)}`).toMatch(
        new RegExp(`^streamctl: invalid sync input: users\\[0\\]\\.${field}: `),
      );
      expect(
        (await cli(db, ['user', 'add', 'alice', field === 'external_id' ? '--external-id' : '--display-name', value])).status,
        `user add ${field}`,
      ).not.toBe(0);
    }
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
    await cliJson(db, ['sync', inputFile({ users: [{ name: 'alice', display_name: 'x'.repeat(100), external_id: 's'.repeat(200) }] })]);
  });

  it('re-checks the viewers of a channel whose owner (external id) changes', async () => {
    const db = freshDb();
    await cliJson(db, ['sync', inputFile({ users: [{ name: 'alice', external_id: 'site-1' }] })]);
    const report = await cliJson(db, ['sync', '--dry-run', inputFile({ users: [{ name: 'alice', external_id: 'site-9' }] })]);
    expect(report.live_effects).toEqual([{ kind: 'recheck-viewers', user: 'alice', reason: 'owner (external id) changed by sync' }]);
    const mist = await startFakeMist();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    expect((await cli(db, ['sync', inputFile({ users: [{ name: 'alice', external_id: 'site-9' }] })])).status).toBe(0);
    expect(mist.calls('invalidate_sessions').map((c) => c.invalidate_sessions)).toEqual(['streams+alice']);
  });

  it('refuses invalid input as a whole, naming each field path, and changes nothing', async () => {
    const db = freshDb();
    const bad = {
      users: [{ name: 'alice' }, { name: 'Bad Name', extra: 1 }],
      channels: [{ user: 'alice', access: 'paywall', grants: [{ viewer: 'x', until: 'tomorrow' }] }],
      bans: [{ viewer: 'a', ip: '192.0.2.1' }],
    };
    const r = await cli(db, ['sync', inputFile(bad)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    for (const path of ['users[1].name', 'users[1].extra: unknown field', 'channels[0].access', 'channels[0].grants[0].until'])
      expect(r.stderr).toContain(path);
    // Checks against the database too: an unknown channel, a bad address, a double.
    const r2 = await cli(db, [
      'sync',
      inputFile({ users: [{ name: 'alice' }], channels: [{ user: 'zed' }], bans: [{ ip: '999.1.1.1' }, {}] }),
    ]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('channels[0].user: no user "zed"');
    expect(r2.stderr).toContain('bans[0].ip: "999.1.1.1" is not');
    expect(r2.stderr).toContain('bans[1]: give exactly one of "viewer" or "ip"');
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
    const notObject = await cli(db, ['sync', inputFile('x')]);
    expect(notObject.stderr).toBe('streamctl: invalid sync input: (root): expected object, got string\n');
  });

  it('refuses viewer ids by the rule the verifier, grant add and ban add use', async () => {
    const db = freshDb();
    for (const viewer of ['fan\u0085', 'fan\u202e', 'x'.repeat(201)]) {
      const r = await cli(db, [
        'sync',
        inputFile({ users: [{ name: 'alice' }], channels: [{ user: 'alice', grants: [{ viewer }] }], bans: [{ viewer }] }),
      ]);
      expect(r.status, JSON.stringify(viewer)).toBe(1);
      expect(r.stderr).toContain('channels[0].grants[0].viewer: ');
      expect(r.stderr).toContain('bans[0].viewer: ');
    }
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
  });

  it('refuses a day that does not exist (2027-02-31 would roll over into March)', async () => {
    const db = freshDb();
    const doc = {
      users: [{ name: 'alice' }],
      channels: [{ user: 'alice', grants: [{ viewer: 'v', until: '2027-02-31' }] }],
      bans: [{ viewer: 'x', until: '2027-04-31T10:00:00Z' }],
    };
    const r = await cli(db, ['sync', inputFile(doc)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('channels[0].grants[0].until: "2027-02-31" is not a valid time');
    expect(r.stderr).toContain('bans[0].until: "2027-04-31T10:00:00Z" is not a valid time');
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
  });

  it('reads stdin, and reports a document that is not JSON in one line', async () => {
    const db = freshDb();
    const run = (stdin: string) => cli(db, ['sync', '-', '--json'], { stdin });
    const ok = await run(JSON.stringify({ users: [{ name: 'dora' }] }));
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).summary.users_created).toBe(1);
    const bad = await run('nope\n');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^streamctl: stdin is not JSON: [^\n]*\n$/);
  });

  it('sends the live effects the changes need to MistServer', async () => {
    const db = freshDb();
    await cliJson(db, ['sync', inputFile(SITE)]);
    const mist = await startFakeMist();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const r = await cli(db, [
      'sync',
      inputFile({ users: [{ name: 'alice', disabled: true }], channels: [{ user: 'alice', access: 'public', grants: [] }] }),
    ]);
    expect(r.status).toBe(0);
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['streams+alice']);
    expect(mist.calls('invalidate_sessions').map((c) => c.invalidate_sessions)).toEqual(['streams+alice']);
    // A dry run sends nothing.
    await cli(db, ['sync', '--dry-run', inputFile({ users: [{ name: 'bob', disabled: false }] })]);
    expect(mist.calls('nuke_stream')).toHaveLength(1);
  });
});

describe('schemas/sync-input.schema.json', async () => {
  it('accepts the documented example and names the path of each problem', async () => {
    expect(validateJson(schema, SITE)).toEqual([]);
    expect(validateJson(schema, { users: [{ name: 'ok' }, { name: 7 }] })).toEqual([
      { path: 'users[1].name', message: 'expected string, got integer' },
    ]);
    expect(validateJson(schema, [])).toEqual([{ path: '(root)', message: 'expected object, got array' }]);
  });

  it('refuses a schema keyword the validator does not implement, rather than ignoring the rule', async () => {
    expect(() => validateJson({ type: 'object', oneOf: [] }, {})).toThrow(/oneOf/);
  });
});
