// The access and database holes, each reproduced as filed and kept closed: owner confusion
// between user names and site ids, a missing channel policy row read as public, a token issued in
// the future, and databases created readable by every local user.
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { freshDb, ROOT, tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { sqlOnFile } from '../support/db';
import { runInProcess } from '../support/trigger';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
const hs256 = (secret: string, claims: object) => {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};
const es256 = (key: KeyObject, claims: object) => {
  const input = `${b64({ alg: 'ES256' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
};
const claims = (channel: string, viewer: string, extra: object = {}) => ({ sub: viewer, aud: channel, exp: nowS() + 600, ...extra });

/** A viewer's USER_NEW, decided in process against the file (the program's own part: test/process/programs.test.ts). */
function watch(db: string, stream: string, token = '482388719'): Promise<{ stdout: string; stderr: string }> {
  const payload = [
    stream,
    '127.0.0.1',
    token,
    'HTTPTS',
    `http://127.0.0.1:8080/${stream}.ts`,
    randomBytes(32).toString('hex'),
    'false',
  ].join('\n');
  return runInProcess({ trigger: 'USER_NEW', payload, db });
}

describe('owner: viewer ids are site ids, matched on the external id only', async () => {
  const db = freshDb();
  await addUser(db, '1234', '--external-id', '77');
  await addUser(db, 'zed', '--external-id', '1234');
  for (const u of ['1234', 'zed']) expect((await cli(db, ['channel', 'set', u, '--access', 'private'])).status).toBe(0);
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  const as = async (channel: string, viewer: string) =>
    (await watch(db, `streams+${channel}`, hs256(secret, claims(channel, viewer)))).stdout;

  it('a user named 1234 with external id 77 is owned by viewer 77, not by viewer 1234', async () => {
    expect(await as('1234', '77')).toBe('true');
    expect(await as('1234', '1234')).toBe('false');
  });

  it('a user whose external id is 1234 is owned by viewer 1234, who owns no other channel by name', async () => {
    expect(await as('zed', '1234')).toBe('true');
    expect(await as('zed', 'zed')).toBe('false');
    expect(await as('zed', '77')).toBe('false');
  });

  it('access explain names the owner rule only for the external id', async () => {
    const explain = async (viewer: string) => {
      const token = hs256(secret, claims('1234', viewer));
      return JSON.parse((await cli(db, ['access', 'explain', '1234', '--token', token, '--json'])).stdout).rule;
    };
    expect(await explain('77')).toBe('owner');
    expect(await explain('1234')).not.toBe('owner');
  });
});

describe('a missing channel policy row refuses', async () => {
  it('every user gets its policy row when it is created', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    expect(sqlOnFile(db, "SELECT access FROM channels JOIN users ON users.id = channels.user_id WHERE name = 'alice'")).toEqual([
      { access: 'public' },
    ]);
  });

  it('with the row gone a private channel refuses anonymous viewers with one log line, and channel show does not say public', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
    expect((await watch(db, 'streams+alice')).stdout).toBe('false');
    sqlOnFile(db, 'DELETE FROM channels');
    const r = await watch(db, 'streams+alice');
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/no-policy/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const show = await cli(db, ['channel', 'show', 'alice']);
    expect(show.status).toBe(1);
    expect(show.stdout).not.toMatch(/public/);
    expect(show.stderr).toMatch(/no policy row/);
    expect((await cli(db, ['channel', 'show', 'alice', '--json'])).stdout).not.toMatch(/public/);
  });

  it('with the row gone only a change that gives --access writes it again; --record, --viewer-cap or a password write no public row', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
    sqlOnFile(db, 'DELETE FROM channels');
    for (const args of [
      ['--record', 'on'],
      ['--viewer-cap', '5'],
      ['--replay-offline', 'on'],
    ]) {
      const r = await cli(db, ['channel', 'set', 'alice', ...args]);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^streamctl: alice's channel has no policy row .*--access <policy>/);
    }
    const password = await cli(db, ['channel', 'password', 'alice'], { stdin: 'correct horse battery' });
    expect(password.status).toBe(1);
    expect(password.stderr).toMatch(/no policy row/);
    const sync = await cli(db, ['sync'], {
      stdin: JSON.stringify({ users: [{ name: 'alice' }], channels: [{ user: 'alice', record: true }] }),
    });
    expect(sync.status).not.toBe(0);
    expect(sync.stderr).toMatch(/no policy row/);
    expect(sqlOnFile(db, 'SELECT * FROM channels')).toEqual([]);
    expect((await watch(db, 'streams+alice')).stdout).toBe('false');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'paid', '--record', 'on'])).status).toBe(0);
    expect(sqlOnFile(db, 'SELECT access, record FROM channels')).toEqual([{ access: 'paid', record: 1 }]);
  });

  it('migration 0007 writes the defaults for users made before it, so nothing changes for them', async () => {
    const db = join(tempDir(), 'old.db');
    const d = new Database(db);
    for (const file of readdirSync(join(ROOT, 'db'))
      .filter((f) => /^000[1-6]_/.test(f))
      .sort())
      d.exec(readFileSync(join(ROOT, 'db', file), 'utf8'));
    d.pragma('user_version = 6');
    d.prepare("INSERT INTO users (name, created_at) VALUES ('old', 1)").run();
    d.close();
    expect((await cli(db, ['db', 'migrate'])).stdout).toMatch(/applied 0007_channel_policy_rows/);
    expect(sqlOnFile(db, 'SELECT access, record FROM channels')).toEqual([{ access: 'public', record: 0 }]);
    expect((await watch(db, 'streams+old')).stdout).toBe('true');
  });

  it('doctor runs quick_check and names a damaged page and a missing policy row', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const doctorDb = async () => {
      const r = await cli(db, ['doctor', '--json', '--api', 'http://127.0.0.1:9']);
      return (JSON.parse(r.stdout).checks as { check: string; status: string; message: string }[]).filter((c) => c.check === 'database');
    };
    const before = await doctorDb();
    expect(before.map((c) => c.status)).toEqual(['ok', 'ok']);
    expect(before[1]!.message).toMatch(/quick_check ok/);
    sqlOnFile(db, 'DELETE FROM channels');
    expect((await doctorDb())[1]).toMatchObject({ status: 'fail', message: expect.stringMatching(/no channel policy row for alice/) });

    // Fill the events table over many pages, then overwrite one page in the middle with garbage.
    sqlOnFile(db, 'PRAGMA journal_mode = DELETE');
    const d = new Database(db);
    const insert = d.prepare("INSERT INTO events (at, kind, outcome, reason) VALUES (?, 'view', 'refused', ?)");
    d.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(i, 'x'.repeat(100));
    })();
    const pageSize = d.pragma('page_size', { simple: true }) as number;
    const pages = d.pragma('page_count', { simple: true }) as number;
    d.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, pageSize * Math.floor(pages / 2));
    closeSync(fd);
    expect((await doctorDb())[1]).toMatchObject({ status: 'fail', message: expect.stringMatching(/quick_check/) });
  });
});

describe('a token issued in the future is refused beyond the clock skew', async () => {
  const db = freshDb();
  await addUser(db, 'alice');
  expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
  expect((await cli(db, ['grant', 'add', 'alice', 'fan'])).status).toBe(0);
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = join(tempDir(), 'ec.pem');
  require('node:fs').writeFileSync(pem, ec.publicKey.export({ type: 'spki', format: 'pem' }));
  expect((await cli(db, ['token', 'key', 'add', pem, '--label', 'site-ec'])).status).toBe(0);

  it.each([
    ['HS256', (c: object) => hs256(secret, c)],
    ['ES256', (c: object) => es256(ec.privateKey, c)],
  ])('%s: iat an hour ahead is refused, iat a few seconds ahead or absent is admitted', async (_, mint) => {
    const ahead = await watch(db, 'streams+alice', mint(claims('alice', 'fan', { iat: nowS() + 3600 })));
    expect(ahead.stdout).toBe('false');
    expect(ahead.stderr).toMatch(/issued in the future/);
    expect((await watch(db, 'streams+alice', mint(claims('alice', 'fan', { iat: nowS() + 5 })))).stdout).toBe('true');
    expect((await watch(db, 'streams+alice', mint(claims('alice', 'fan', { iat: nowS() - 60 })))).stdout).toBe('true');
    expect((await watch(db, 'streams+alice', mint(claims('alice', 'fan')))).stdout).toBe('true');
  });
});

describe('database files are private', async () => {
  const mode = (p: string) => statSync(p).mode & 0o777;
  const migrateWithUmask = async (db: string) => {
    const old = process.umask(0);
    try {
      return await cli(db, ['db', 'migrate']);
    } finally {
      process.umask(old);
    }
  };

  it('db migrate creates the database 0600 even under umask 000, and SQLite gives -wal and -shm the same mode', async () => {
    const db = join(tempDir(), 'data', 'streamctl.db');
    expect((await migrateWithUmask(db)).status).toBe(0);
    expect(mode(db)).toBe(0o600);
    const d = new Database(db);
    d.prepare("INSERT INTO users (name, created_at) VALUES ('x', 1)").run();
    expect(mode(`${db}-wal`)).toBe(0o600);
    expect(mode(`${db}-shm`)).toBe(0o600);
    d.close();
  });

  it('is 0660 in a setgid folder shared with a group (install.sh shares it with MistServer)', async () => {
    const dir = join(tempDir(), 'state');
    mkdirSync(dir);
    chmodSync(dir, 0o2770);
    const db = join(dir, 'streamctl.db');
    expect((await migrateWithUmask(db)).status).toBe(0);
    expect(mode(db)).toBe(0o660);
  });

  it('doctor fails a database others can read', async () => {
    const db = freshDb();
    const check = async () => {
      const r = await cli(db, ['doctor', '--json', '--api', 'http://127.0.0.1:9']);
      return (JSON.parse(r.stdout).checks as { check: string; status: string; message: string }[]).filter(
        (c) => c.check === 'database',
      )[1]!;
    };
    expect((await check()).status).toBe('ok');
    chmodSync(db, 0o644);
    expect(await check()).toMatchObject({ status: 'fail', message: expect.stringMatching(/readable or writable by more than its owner/) });
  });
});
