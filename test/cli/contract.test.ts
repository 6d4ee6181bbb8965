// The CLI's contract for scripts and operators: exit
// codes, one `streamctl:` prefix, network errors that name their cause, refused hostile input,
// and stream-key labels that name one key.
import Database from 'better-sqlite3';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import pushRewrite from '../../src/triggers/push-rewrite';
import userNew from '../../src/triggers/user-new';
import { freshDb } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerOnFile } from '../support/trigger';

const withStdin = (db: string, args: string[], stdin: string) => cli(db, args, { stdin });

/** A local port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('exit codes', async () => {
  const db = freshDb();
  await addUser(db, 'alice');
  await addUser(db, 'bob');

  it('0 for success and a yes; 1 for a negative answer', async () => {
    expect((await cli(db, ['access', 'explain', 'alice'])).status).toBe(0);
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
    const refused = await cli(db, ['access', 'explain', 'alice']);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/decision: REFUSE/);
    expect(refused.stderr).toBe('');
    expect((await withStdin(db, ['channel', 'password', 'bob'], 'correct horse')).status).toBe(0);
    expect((await withStdin(db, ['channel', 'check-password', 'bob'], 'correct horse')).status).toBe(0);
    const wrong = await withStdin(db, ['channel', 'check-password', 'bob'], 'wrong horse');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong password/);
    const short = await withStdin(db, ['channel', 'password', 'bob'], 'short');
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/too short/);
  });

  it("2 for usage errors, commander's own included, all prefixed streamctl:", async () => {
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
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/^error:/m);
      if (args[0] !== 'user' || args.length > 1) expect(r.stderr, args.join(' ')).toMatch(/^streamctl: /);
    }
    expect((await cli(db, ['events', '--kind', 'bogus'])).stderr).toMatch(
      /^streamctl: invalid --kind "bogus": expected one of push, view, broadcast, recording/,
    );
    expect((await cli(db, ['--help'])).status).toBe(0);
    expect((await cli(db, ['--version'])).status).toBe(0);
  });

  it('refuses an --until day that does not exist (ban add, grant add), storing nothing', async () => {
    const own = memoryDb();
    await cliJson(own, ['user', 'add', 'alice']);
    const year = new Date().getUTCFullYear() + 1;
    for (const args of [
      ['ban', 'add', '--viewer', 'troll', '--until', `${year}-02-31`],
      ['ban', 'add', '--ip', '192.0.2.1', '--until', `${year}-04-31T12:00:00Z`],
      ['grant', 'add', 'alice', 'fan', '--until', `${year}-02-30`],
      ['grant', 'add', 'alice', 'fan', '--until', `${year}-06-01T24:00:00Z`],
    ]) {
      const r = await cli(own, args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/^streamctl: invalid --until "/);
    }
    expect(await cliJson(own, ['ban', 'list'])).toEqual([]);
    expect(await cliJson(own, ['grant', 'list', 'alice'])).toEqual([]);
    expect((await cliJson(own, ['grant', 'add', 'alice', 'fan', '--until', `${year}-03-03`])).until).toBe(`${year}-03-03T00:00:00Z`);
  });

  it('2 for an unknown command even with --help, naming it; help for a known one is 0', async () => {
    for (const args of [
      ['frobnicate', 'words', '--help'],
      ['frobnicate', '-h'],
      ['--help', 'frobnicate'],
      ['user', 'frobnicate', '--help'],
      ['token', 'key', 'frobnicate', '-h'],
      ['help', 'frobnicate'],
    ]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^streamctl: unknown command 'frobnicate'/);
    }
    for (const args of [
      ['user', '--help'],
      ['user', 'add', '--help'],
      ['events', '--user', 'alice', '--help'],
      ['help', 'user'],
      ['token', 'key', '-h'],
    ]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: streamctl /);
    }
  });

  it('2 for an invalid --until on grant add and ban add (an invalid value, not a failure)', async () => {
    for (const args of [
      ['grant', 'add', 'alice', 'viewer-1', '--until', 'tomorrow'],
      ['ban', 'add', '--viewer', 'viewer-1', '--until', 'tomorrow'],
    ]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^streamctl: invalid --until "tomorrow": /);
    }
  });

  it('a usage error is one line, the hint and any suggestion on it', async () => {
    for (const args of [['user', 'add'], ['user', 'list', '--bogus'], ['usr'], ['user', 'lst'], ['broadcasts', 'alice', '--limit', '0']]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^streamctl: [^\n]+ \(add --help for usage\)\n$/);
    }
  });

  it('3 when MistServer cannot be reached, naming the cause (not "TypeError")', async () => {
    const port = await closedPort();
    const reconcile = await cli(db, ['status', '--reconcile', '--api', `http://127.0.0.1:${port}`]);
    expect(reconcile.status).toBe(3);
    expect(reconcile.stderr).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(reconcile.stderr).not.toMatch(/TypeError/);
    const unknownHost = await cli(db, ['status', '--reconcile', '--api', 'http://no-such-host.invalid:4242']);
    expect(unknownHost.status).toBe(3);
    expect(unknownHost.stderr).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('input hygiene', async () => {
  it('refuses display names and external ids with control characters, naming the field; stores nothing', async () => {
    const db = freshDb();
    for (const bad of ['two\nlines', 'red\x1b[31mtext', 'tab\there', 'bell\x07', 'rtl\u202eevil', '', ' padded ']) {
      const r = await cli(db, ['user', 'add', 'zed', '--display-name', bad]);
      expect(r.status, JSON.stringify(bad)).toBe(2);
      expect(r.stderr).toMatch(/^streamctl: invalid display name: /);
    }
    for (const bad of ['', 'a\nb', '\x1b[2J']) {
      const r = await cli(db, ['user', 'add', 'zed', '--external-id', bad]);
      expect(r.status, JSON.stringify(bad)).toBe(2);
      expect(r.stderr).toMatch(/^streamctl: invalid external id: /);
    }
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
    expect((await cli(db, ['user', 'add', 'zed', '--display-name', 'Zed Zedson', '--external-id', 'site-9'])).status).toBe(0);
  });

  it('prints control characters already stored (older versions, other writers) as "?"', async () => {
    const db = freshDb();
    await addUser(db, 'eve');
    const raw = new Database(db);
    raw.prepare("UPDATE users SET display_name = ?, external_id = ? WHERE name = 'eve'").run('Eve\x1b[31m\nRED', 'x\ry');
    raw.close();
    const list = (await cli(db, ['user', 'list'])).stdout;
    const show = (await cli(db, ['user', 'show', 'eve'])).stdout;
    for (const text of [list, show]) {
      expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
      expect(text).toContain('Eve?[31m?RED');
    }
    expect(list.trim().split('\n')).toHaveLength(2);
  });

  it('stream-base and vod-base cannot name the same stream, set or unset', async () => {
    const db = freshDb();
    const vod = await cli(db, ['config', 'set', 'stream-base', 'vod']);
    expect(vod.status).toBe(2);
    expect(vod.stderr).toMatch(/stream-base: vod-base is "vod" too/);
    expect((await cli(db, ['config', 'set', 'vod-base', 'streams'])).status).toBe(2);
    expect((await cli(db, ['config', 'set', 'vod-base', 'live'])).status).toBe(0);
    expect((await cli(db, ['config', 'set', 'stream-base', 'vod'])).status).toBe(0);
    // Back to the default "vod" would clash with stream-base now.
    const unset = await cli(db, ['config', 'unset', 'vod-base']);
    expect(unset.status).toBe(1);
    expect(unset.stderr).toMatch(/cannot unset vod-base/);
    expect((await cli(db, ['config', 'get', 'vod-base'])).stdout).toBe('live\n');
  });

  it('mist-api with a login is refused and says where the login goes', async () => {
    const db = freshDb();
    for (const url of ['http://user:pass@127.0.0.1:4242', 'http://admin@mist.example:4242/api']) {
      const r = await cli(db, ['config', 'set', 'mist-api', url]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/mist-api: a user or password does not go in the database/);
      expect(r.stderr).toMatch(/STREAMCTL_MIST_USER/);
      expect(r.stderr).not.toContain('pass@');
    }
    expect((await cli(db, ['config', 'get', 'mist-api'])).stdout).toBe('\n');
    expect((await cli(db, ['config', 'set', 'mist-api', 'http://127.0.0.1:4242'])).status).toBe(0);
  });

  it('a zero push-guard-window is refused (it would turn the guard off)', async () => {
    const db = freshDb();
    for (const zero of ['0s', '0m', '0']) {
      const r = await cli(db, ['config', 'set', 'push-guard-window', zero]);
      expect(r.status, zero).toBe(2);
      expect(r.stderr).toMatch(/push-guard-window: expected a duration above zero/);
    }
    expect((await cli(db, ['config', 'set', 'push-guard-window', '30s'])).status).toBe(0);
  });

  it('an unparseable viewer address is refused while an address ban applies (fail closed), admitted otherwise', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const watch = async (ip: string) =>
      (
        await answerOnFile(
          userNew,
          db,
          ['streams+alice', ip, '482388719', 'HTTPTS', 'http://x/streams%2balice.ts', 'a'.repeat(64), 'false'].join('\n'),
        )
      ).answer;
    expect(await watch('not-an-address')).toBe('true');
    expect((await cli(db, ['ban', 'add', '--ip', '203.0.113.0/24'])).status).toBe(0);
    expect(await watch('not-an-address')).toBe('false');
    expect(await watch('192.0.2.7')).toBe('true');
    const events = await cliJson(db, ['events', '--kind', 'view']);
    expect(events[0].reason).toMatch(/does not parse/);
  });
});

describe('stream key labels name one key', async () => {
  it('rotate --grace gives the new key its own label; revoking the old label leaves the new key working', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const rotated = await cliJson(db, ['key', 'rotate', 'alice', '--grace', '1h']);
    expect(rotated.label).toBe('default-2');
    const before = await cliJson(db, ['key', 'list', 'alice']);
    expect(before.map((k: { label: string; state: string }) => `${k.label}:${k.state}`)).toEqual(['default-2:active', 'default:grace']);

    const revoked = await cliJson(db, ['key', 'revoke', 'alice', 'default']);
    expect(revoked.label).toBe('default');
    expect(revoked.state).toBe('revoked');
    const after = await cliJson(db, ['key', 'list', 'alice']);
    expect(after).toHaveLength(1);
    expect(after[0].label).toBe('default-2');
    expect(after[0].state).toBe('active');
    // The new key still pushes.
    const push = await answerOnFile(pushRewrite, db, `rtmp://127.0.0.1/live/${rotated.key}\n127.0.0.1\n${rotated.key}`);
    expect(push.answer).toBe('streams+alice');
  });

  it('revoke takes a key prefix; a label several working keys share (older databases) is refused, not revoked', async () => {
    const db = freshDb();
    await addUser(db, 'bob');
    await cliJson(db, ['key', 'rotate', 'bob', '--grace', '1h']);
    const raw = new Database(db);
    raw.prepare("UPDATE stream_keys SET label = 'default'").run();
    raw.close();
    const keys = await cliJson(db, ['key', 'list', 'bob']);
    const ambiguous = await cli(db, ['key', 'revoke', 'bob', 'default']);
    expect(ambiguous.status).toBe(1);
    expect(ambiguous.stderr).toMatch(/2 working keys of bob are labelled "default": revoke one by its prefix/);
    expect(await cliJson(db, ['key', 'list', 'bob'])).toHaveLength(2);
    expect((await cliJson(db, ['key', 'revoke', 'bob', keys[1].prefix])).prefix).toBe(keys[1].prefix);
    expect((await cliJson(db, ['key', 'list', 'bob'])).map((k: { prefix: string }) => k.prefix)).toEqual([keys[0].prefix]);
  });

  it('key add refuses a label a key in its grace still holds', async () => {
    const db = freshDb();
    await addUser(db, 'carol');
    await cliJson(db, ['key', 'add', 'carol', '--label', 'backup']);
    await cliJson(db, ['key', 'rotate', 'carol', '--grace', '1h', '--label', 'main']);
    const r = await cli(db, ['key', 'add', 'carol', '--label', 'backup']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already has a key labelled "backup"/);
  });
});
