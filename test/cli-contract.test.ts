// The CLI's contract for scripts and operators (issue 10 items 14-16, issue 12 "Messages"): exit
// codes, one `streamctl:` prefix, network errors that name their cause, refused hostile input,
// and stream-key labels that name one key.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync } from './fake-mist';
import { addUser, baseEnv, BIN, cli, cliJson, freshDb, runTrigger, type RunResult } from './helpers';

function withStdin(db: string, args: string[], input: string): RunResult {
  const r = spawnSync(join(BIN, 'streamctl'), args, { env: baseEnv({ STREAMCTL_DB: db }), input, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** A local port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('exit codes', () => {
  const db = freshDb();
  addUser(db, 'alice');
  addUser(db, 'bob');

  it('0 for success and a yes; 1 for a negative answer', () => {
    expect(cli(db, ['access', 'explain', 'alice']).status).toBe(0);
    expect(cli(db, ['channel', 'set', 'alice', '--access', 'private']).status).toBe(0);
    const refused = cli(db, ['access', 'explain', 'alice']);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/decision: REFUSE/);
    expect(refused.stderr).toBe('');
    expect(withStdin(db, ['channel', 'password', 'bob'], 'correct horse').status).toBe(0);
    expect(withStdin(db, ['channel', 'check-password', 'bob'], 'correct horse').status).toBe(0);
    expect(withStdin(db, ['channel', 'check-password', 'bob'], 'wrong horse').status).toBe(1);
  });

  it("2 for usage errors, commander's own included, all prefixed streamctl:", () => {
    for (const args of [
      ['user', 'add'], // missing argument
      ['user', 'list', '--bogus'], // unknown option
      ['frobnicate'], // unknown command
      ['user'], // a group without its subcommand
      ['broadcasts', 'alice', '--limit', '0'], // commander's argument check
      ['ban', 'add', '--ip', 'not-an-address'], // ours
      ['events', '--kind', 'bogus'],
      ['config', 'set', 'no-such-setting', 'x'],
    ]) {
      const r = cli(db, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/^error:/m);
      if (args[0] !== 'user' || args.length > 1) expect(r.stderr, args.join(' ')).toMatch(/^streamctl: /);
    }
    expect(cli(db, ['events', '--kind', 'bogus']).stderr).toMatch(/^streamctl: invalid --kind "bogus": expected one of push, view, broadcast, recording/);
    expect(cli(db, ['--help']).status).toBe(0);
    expect(cli(db, ['--version']).status).toBe(0);
  });

  it('3 when MistServer cannot be reached, naming the cause (not "TypeError")', async () => {
    const port = await closedPort();
    const reconcile = await cliAsync(db, ['status', '--reconcile', '--api', `http://127.0.0.1:${port}`]);
    expect(reconcile.status).toBe(3);
    expect(reconcile.stderr).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(reconcile.stderr).not.toMatch(/TypeError/);
    const unknownHost = await cliAsync(db, ['status', '--reconcile', '--api', 'http://no-such-host.invalid:4242']);
    expect(unknownHost.status).toBe(3);
    expect(unknownHost.stderr).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('input hygiene', () => {
  it('refuses display names and external ids with control characters, naming the field; stores nothing', () => {
    const db = freshDb();
    for (const bad of ['two\nlines', 'red\x1b[31mtext', 'tab\there', 'bell\x07', 'rtl\u202eevil', '', ' padded ']) {
      const r = cli(db, ['user', 'add', 'zed', '--display-name', bad]);
      expect(r.status, JSON.stringify(bad)).toBe(2);
      expect(r.stderr).toMatch(/^streamctl: invalid display name: /);
    }
    for (const bad of ['', 'a\nb', '\x1b[2J']) {
      const r = cli(db, ['user', 'add', 'zed', '--external-id', bad]);
      expect(r.status, JSON.stringify(bad)).toBe(2);
      expect(r.stderr).toMatch(/^streamctl: invalid external id: /);
    }
    expect(cliJson(db, ['user', 'list'])).toEqual([]);
    expect(cli(db, ['user', 'add', 'zed', '--display-name', 'Zed Zedson', '--external-id', 'site-9']).status).toBe(0);
  });

  it('prints control characters already stored (older versions, other writers) as "?"', () => {
    const db = freshDb();
    addUser(db, 'eve');
    const raw = new Database(db);
    raw.prepare("UPDATE users SET display_name = ?, external_id = ? WHERE name = 'eve'").run('Eve\x1b[31m\nRED', 'x\ry');
    raw.close();
    const list = cli(db, ['user', 'list']).stdout;
    const show = cli(db, ['user', 'show', 'eve']).stdout;
    for (const text of [list, show]) {
      expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
      expect(text).toContain('Eve?[31m?RED');
    }
    expect(list.trim().split('\n')).toHaveLength(2);
  });

  it('stream-base and vod-base cannot name the same stream, set or unset', () => {
    const db = freshDb();
    const vod = cli(db, ['config', 'set', 'stream-base', 'vod']);
    expect(vod.status).toBe(2);
    expect(vod.stderr).toMatch(/stream-base: vod-base is "vod" too/);
    expect(cli(db, ['config', 'set', 'vod-base', 'streams']).status).toBe(2);
    expect(cli(db, ['config', 'set', 'vod-base', 'live']).status).toBe(0);
    expect(cli(db, ['config', 'set', 'stream-base', 'vod']).status).toBe(0);
    // Back to the default "vod" would clash with stream-base now.
    const unset = cli(db, ['config', 'unset', 'vod-base']);
    expect(unset.status).toBe(1);
    expect(unset.stderr).toMatch(/cannot unset vod-base/);
    expect(cli(db, ['config', 'get', 'vod-base']).stdout).toBe('live\n');
  });

  it('mist-api with a login is refused and says where the login goes', () => {
    const db = freshDb();
    for (const url of ['http://user:pass@127.0.0.1:4242', 'http://admin@mist.example:4242/api']) {
      const r = cli(db, ['config', 'set', 'mist-api', url]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/mist-api: a user or password does not go in the database/);
      expect(r.stderr).toMatch(/STREAMCTL_MIST_USER/);
      expect(r.stderr).not.toContain('pass@');
    }
    expect(cli(db, ['config', 'get', 'mist-api']).stdout).toBe('\n');
    expect(cli(db, ['config', 'set', 'mist-api', 'http://127.0.0.1:4242']).status).toBe(0);
  });

  it('a zero push-guard-window is refused (it would turn the guard off)', () => {
    const db = freshDb();
    for (const zero of ['0s', '0m', '0']) {
      const r = cli(db, ['config', 'set', 'push-guard-window', zero]);
      expect(r.status, zero).toBe(2);
      expect(r.stderr).toMatch(/push-guard-window: expected a duration above zero/);
    }
    expect(cli(db, ['config', 'set', 'push-guard-window', '30s']).status).toBe(0);
  });

  it('an unparseable viewer address is refused while an address ban applies (fail closed), admitted otherwise', () => {
    const db = freshDb();
    addUser(db, 'alice');
    const watch = (ip: string) =>
      runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: ['streams+alice', ip, '482388719', 'HTTPTS', 'http://x/streams%2balice.ts', 'a'.repeat(64), 'false'].join('\n'), db }).stdout;
    expect(watch('not-an-address')).toBe('true');
    expect(cli(db, ['ban', 'add', '--ip', '203.0.113.0/24']).status).toBe(0);
    expect(watch('not-an-address')).toBe('false');
    expect(watch('192.0.2.7')).toBe('true');
    const events = cliJson(db, ['events', '--kind', 'view']);
    expect(events[0].reason).toMatch(/does not parse/);
  });
});

describe('stream key labels name one key', () => {
  it('rotate --grace gives the new key its own label; revoking the old label leaves the new key working', () => {
    const db = freshDb();
    addUser(db, 'alice');
    const rotated = cliJson(db, ['key', 'rotate', 'alice', '--grace', '1h']);
    expect(rotated.label).toBe('default-2');
    const before = cliJson(db, ['key', 'list', 'alice']);
    expect(before.map((k: { label: string; state: string }) => `${k.label}:${k.state}`)).toEqual(['default-2:active', 'default:grace']);

    const revoked = cliJson(db, ['key', 'revoke', 'alice', 'default']);
    expect(revoked.label).toBe('default');
    expect(revoked.state).toBe('revoked');
    const after = cliJson(db, ['key', 'list', 'alice']);
    expect(after).toHaveLength(1);
    expect(after[0].label).toBe('default-2');
    expect(after[0].state).toBe('active');
    // The new key still pushes.
    const push = runTrigger({ trigger: 'PUSH_REWRITE', payload: `rtmp://127.0.0.1/live/${rotated.key}\n127.0.0.1\n${rotated.key}`, db });
    expect(push.stdout).toBe('streams+alice');
  });

  it('revoke takes a key prefix; a label several working keys share (older databases) is refused, not revoked', () => {
    const db = freshDb();
    addUser(db, 'bob');
    cliJson(db, ['key', 'rotate', 'bob', '--grace', '1h']);
    const raw = new Database(db);
    raw.prepare("UPDATE stream_keys SET label = 'default'").run();
    raw.close();
    const keys = cliJson(db, ['key', 'list', 'bob']);
    const ambiguous = cli(db, ['key', 'revoke', 'bob', 'default']);
    expect(ambiguous.status).toBe(1);
    expect(ambiguous.stderr).toMatch(/2 working keys of bob are labelled "default": revoke one by its prefix/);
    expect(cliJson(db, ['key', 'list', 'bob'])).toHaveLength(2);
    expect(cliJson(db, ['key', 'revoke', 'bob', keys[1].prefix]).prefix).toBe(keys[1].prefix);
    expect(cliJson(db, ['key', 'list', 'bob']).map((k: { prefix: string }) => k.prefix)).toEqual([keys[0].prefix]);
  });

  it('key add refuses a label a key in its grace still holds', () => {
    const db = freshDb();
    addUser(db, 'carol');
    cliJson(db, ['key', 'add', 'carol', '--label', 'backup']);
    cliJson(db, ['key', 'rotate', 'carol', '--grace', '1h', '--label', 'main']);
    const r = cli(db, ['key', 'add', 'carol', '--label', 'backup']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already has a key labelled "backup"/);
  });
});
