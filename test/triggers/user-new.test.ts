// USER_NEW in process: payloads (captured and literal) through parse and decide against an
// in-memory database, with every access policy, playback tokens good and bad, bans, viewer caps
// and re-checks. The program as MistServer runs it is in test/process/programs.test.ts.
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/access/password';
import { PayloadError } from '../../src/lib/errors';
import { updateChannel } from '../../src/store/channels';
import userNew from '../../src/triggers/user-new';
import { fixture, fixtureEnv, tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row } from '../support/db';
import { answer, fromMistEnv, type FakeContextOptions } from '../support/trigger';
import type { Db } from '../../src/store/open';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

/** A JWT signed here with node:crypto, independent of the library under test (as a site would). */
function jwt(header: object, claims: object, signer: (input: string) => Buffer | string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = signer(input);
  return `${input}.${typeof sig === 'string' ? sig : sig.toString('base64url')}`;
}
const hs256 = (secret: string | Buffer, claims: object, header: object = { alg: 'HS256', typ: 'JWT' }) =>
  jwt(header, claims, (i) => createHmac('sha256', secret).update(i).digest());
const es256 = (key: KeyObject, claims: object) =>
  jwt({ alg: 'ES256' }, claims, (i) => sign('sha256', Buffer.from(i), { key, dsaEncoding: 'ieee-p1363' }));
const eddsa = (key: KeyObject, claims: object) => jwt({ alg: 'EdDSA' }, claims, (i) => sign(null, Buffer.from(i), key));
const claimsFor = (channel: string, viewer: string, extra: object = {}) => ({ sub: viewer, aud: channel, exp: nowS() + 600, ...extra });

const sessionId = () => randomBytes(32).toString('hex');

interface Viewer {
  stream?: string;
  ip?: string;
  token?: string;
  sid?: string;
  /** 6 = MistServer's re-check form (no JWT-validated line). */
  lines?: 6 | 7;
}

function payload(v: Viewer): string {
  const fields = [
    v.stream ?? 'streams+alice',
    v.ip ?? '127.0.0.1',
    v.token ?? '482388719',
    'HTTPTS',
    'http://127.0.0.1:8080/streams%2balice.ts',
    v.sid ?? sessionId(),
  ];
  if ((v.lines ?? 7) === 7) fields.push('false');
  return fields.join('\n');
}

const check = (db: Db, text: string, opts: FakeContextOptions = {}) => answer(userNew, db, text, opts);
const watch = async (db: Db, v: Viewer = {}) => (await check(db, payload(v))).answer;
const captured = (db: Db, name: string) => check(db, fixture(name), fromMistEnv(fixtureEnv(name)));
const lobby = () => fixture('20k-nonexistent/USER_NEW-1').replace(/^vod\n/, 'lobby\n');

function setPassword(db: Db, user: string, password: string): void {
  const { id } = row<{ id: number }>(db, 'SELECT id FROM users WHERE name = ?', user)!;
  updateChannel(db, id, { passwordHash: hashPassword(password) }, Date.now());
}

describe('USER_NEW on the captured payloads, public channel', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');

  it.each([
    ['HLS with ?tkn= (capture 20b)', '20b-hls-tkn/USER_NEW-1'],
    ['a generated numeric token (capture 20c)', '20c-ts-token-param/USER_NEW-1'],
    ['a Bearer token that lost its first character (capture 20d)', '20d-bearer/USER_NEW-1'],
    ['a tkn cookie (capture 20e)', '20e-cookie/USER_NEW-1'],
    ['RTMP play with a PID as token (capture 20g)', '20g-rtmp-play/USER_NEW-1'],
    ['a PLAY_REWRITE alias (capture 20h)', '20h-play-rewrite-alias/USER_NEW-1'],
    ['HLS segments sharing one session (capture 32b)', '32b-hls-segments-one-session/USER_NEW-1'],
    ['a basic push session (capture 01)', '01-basic-push-alice/USER_NEW-1'],
  ])('admits %s with exactly "true" and nothing logged', async (_, name) => {
    expect(await captured(db, name)).toEqual({ answer: 'true', lines: [] });
  });

  it('admits the 6-line re-check form of a session', async () => {
    const sixLines = fixture('20b-hls-tkn/USER_NEW-1').split('\n').slice(0, 6).join('\n');
    expect(userNew.parse(sixLines).firstCheck).toBe(false);
    expect((await check(db, sixLines)).answer).toBe('true');
  });

  it.each([
    ['vod+<name> that no recording resolves (capture 20i)', '20i-vod-wildcard/USER_NEW-1', (p: string) => p],
    ['another configured stream that is no channel', '20k-nonexistent/USER_NEW-1', (p: string) => p.replace(/^vod\n/, 'lobby\n')],
  ])('refuses %s: not a channel, and unknown-stream-access defaults to refuse', async (_, name, edit) => {
    const r = await check(db, edit(fixture(name)));
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(/not a channel/)]);
  });

  it.each([
    ['the bare VoD placeholder stream (capture 20k)', '20k-nonexistent/USER_NEW-1'],
    ['the bare VoD placeholder stream (capture 35)', '35-user-new-deny-cached/USER_NEW-1'],
  ])('admits %s: streamctl itself sends viewers there, its source is harmless', async (_, name) => {
    expect((await check(db, fixture(name))).answer).toBe('true');
  });

  it('admits the configured offline stream', async () => {
    const other = memoryDb();
    expect((await check(other, lobby())).answer).toBe('false');
    expect((await cli(other, ['config', 'set', 'offline-stream', 'lobby'])).status).toBe(0);
    expect((await check(other, lobby())).answer).toBe('true');
  });

  it('admits streams that are no channel once unknown-stream-access is allow', async () => {
    const other = memoryDb();
    expect((await cli(other, ['config', 'set', 'unknown-stream-access', 'allow'])).status).toBe(0);
    expect((await check(other, lobby())).answer).toBe('true');
  });

  it('refuses an unknown user on the live base and a base+name with a path in it', async () => {
    expect(await watch(db, { stream: 'streams+nobody' })).toBe('false');
    expect(await watch(db, { stream: 'streams+../alice' })).toBe('false');
  });

  it.each([
    ['an empty payload', ''],
    ['five lines', 'streams+alice\n127.0.0.1\nabc\nHLS\nhttp://x'],
    ['eight lines (a trailing newline)', payload({}) + '\n'],
    ['a session id that is not 64 hex', payload({ sid: 'zz' + sessionId().slice(2) })],
    ['a 7th line that is not true/false', payload({}).replace(/false$/, 'maybe')],
    ['an empty stream name', payload({ stream: '' })],
    ['binary garbage', '\u0000\u0001\u0002'],
  ])('rejects %s in parse with a one-line PayloadError naming USER_NEW', (_, text) => {
    expect(() => userNew.parse(text)).toThrow(PayloadError);
    expect(() => userNew.parse(text)).toThrow(/^USER_NEW [^\n]+$/);
  });

  it('records the session it admits, with the address in plain IPv4 form', async () => {
    const sid = sessionId();
    expect(await watch(db, { sid, ip: '::ffff:198.51.100.4' })).toBe('true');
    expect(row(db, 'SELECT * FROM viewer_sessions WHERE session_id = ?', sid)).toMatchObject({
      stream: 'streams+alice',
      ip: '198.51.100.4',
      connector: 'HTTPTS',
      closed_at: null,
    });
  });
});

describe('playback tokens', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  await addUser(db, 'bob');
  expect((await cli(db, ['channel', 'set', 'alice', '--access', 'password'])).status).toBe(0);
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  const valid = hs256(secret, claimsFor('alice', 'v1'));

  it('refuses even a valid token while the password channel has no password set', async () => {
    const r = await check(db, payload({ token: valid }));
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(/no-password/)]);
    setPassword(db, 'alice', 'open sesame');
  });

  it('refuses a password channel without a token, and never counts a generated number as one', async () => {
    expect(await watch(db)).toBe('false');
    expect((await check(db, fixture('20c-ts-token-param/USER_NEW-1'))).answer).toBe('false');
  });

  it('admits a valid HS256 token for the channel, minted outside streamctl', async () => {
    expect(await watch(db, { token: valid })).toBe('true');
  });

  it('admits the captured HLS request (capture 20b) once its token line carries a valid JWT', async () => {
    const name = '20b-hls-tkn/USER_NEW-1';
    const withJwt = fixture(name).replace('\nabc123\n', `\n${valid}\n`);
    expect(withJwt).not.toBe(fixture(name));
    expect((await check(db, withJwt, fromMistEnv(fixtureEnv(name)))).answer).toBe('true');
    expect((await captured(db, name)).answer).toBe('false');
  });

  it('admits a token minted by `streamctl token issue`', async () => {
    const issued = (await cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'v2', '--ttl', '10m'])).token;
    expect(await watch(db, { token: issued })).toBe('true');
  });

  it('admits a token sent as Authorization: Bearer, which reaches USER_NEW without its first character', async () => {
    expect(valid.startsWith('eyJ')).toBe(true);
    expect(await watch(db, { token: valid.slice(1) })).toBe('true');
    // The restored character is checked like the rest: a different first byte never verifies.
    expect(await watch(db, { token: 'x' + valid.slice(1) })).toBe('false');
  });

  it.each([
    ['an expired token', () => hs256(secret, claimsFor('alice', 'v1', { exp: nowS() - 120 })), /token expired/],
    ['a token for another channel', () => hs256(secret, claimsFor('bob', 'v1')), /another channel/],
    ['a token without exp', () => hs256(secret, { sub: 'v1', aud: 'alice' }), /no "exp"/],
    ['a token without sub', () => hs256(secret, { aud: 'alice', exp: nowS() + 60 }), /no "sub"/],
    [
      'a token living longer than token-max-ttl',
      () => hs256(secret, claimsFor('alice', 'v1', { exp: nowS() + 3 * 86400 })),
      /token-max-ttl/,
    ],
    ['a token not valid yet', () => hs256(secret, claimsFor('alice', 'v1', { nbf: nowS() + 3600 })), /not valid yet/],
    ['a forged token (another secret)', () => hs256('not-the-secret', claimsFor('alice', 'v1')), /signature/],
    ['a tampered payload', () => valid.replace(/\.[^.]+\./, `.${b64(claimsFor('alice', 'admin'))}.`), /signature/],
    [
      'the wrong algorithm (HS512 with the right secret)',
      () => jwt({ alg: 'HS512' }, claimsFor('alice', 'v1'), (i) => createHmac('sha512', secret).update(i).digest()),
      /not accepted/,
    ],
    ['alg:none', () => jwt({ alg: 'none' }, claimsFor('alice', 'v1'), () => ''), /not accepted/],
    ['a malformed header', () => `eyJub3QganNvbg.${b64(claimsFor('alice', 'v1'))}.abc`, /malformed/],
    ['a header with critical extensions', () => hs256(secret, claimsFor('alice', 'v1'), { alg: 'HS256', crit: ['exp'] }), /signature/],
    [
      'an unencoded-payload header (b64: false)',
      () => hs256(secret, claimsFor('alice', 'v1'), { alg: 'HS256', b64: false, crit: ['b64'] }),
      /signature/,
    ],
    ['a truncated signature', () => valid.slice(0, -2), /signature/],
    ['a signature with bytes appended', () => `${valid}AAAA`, /signature/],
    [
      'a correctly signed payload that is not JSON',
      () => {
        const input = `${b64({ alg: 'HS256' })}.${Buffer.from('not json').toString('base64url')}`;
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
      /malformed/,
    ],
  ])('refuses %s and says why in one log line, without the token', async (_, make, why) => {
    const token = make();
    const r = await check(db, payload({ token }));
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(why)]);
    expect(r.lines.join('\n')).not.toContain(token.split('.')[2] || token);
  });

  it('never writes tokens into the event log, but records the refusals', async () => {
    const events = (await cli(db, ['events', '--json'])).stdout;
    expect(events).toContain('token expired');
    expect(events).not.toContain(secret);
    expect(events).not.toContain(valid.split('.')[1]);
  });

  it('keeps the old secret working during the rotation grace, then not after an immediate rotation', async () => {
    const r1 = await cliJson<{ secret: string }>(db, ['token', 'secret', '--grace', '1h']);
    expect(await watch(db, { token: valid })).toBe('true');
    expect(await watch(db, { token: hs256(r1.secret, claimsFor('alice', 'v3')) })).toBe('true');
    const r2 = await cliJson<{ secret: string }>(db, ['token', 'secret', '--grace', '0s']);
    expect(await watch(db, { token: hs256(r1.secret, claimsFor('alice', 'v3')) })).toBe('false');
    expect(await watch(db, { token: valid })).toBe('false'); // an immediate rotation also ends earlier graces
    expect(await watch(db, { token: hs256(r2.secret, claimsFor('alice', 'v3')) })).toBe('true');
  });

  it('accepts ES256 and EdDSA tokens from registered public keys, pinned to their algorithm', async () => {
    const dir = tempDir();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'ec.pem'), ecPem);
    writeFileSync(join(dir, 'ed.pem'), ed.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'private.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect((await cliJson(db, ['token', 'key', 'add', join(dir, 'ec.pem'), '--label', 'site-ec'])).alg).toBe('ES256');
    expect((await cliJson(db, ['token', 'key', 'add', join(dir, 'ed.pem'), '--label', 'site-ed'])).alg).toBe('EdDSA');
    const priv = await cli(db, ['token', 'key', 'add', join(dir, 'private.pem')]);
    expect(priv.status).toBe(1);
    expect(priv.stderr).toMatch(/private key/);

    expect(await watch(db, { token: es256(ec.privateKey, claimsFor('alice', 'v4')) })).toBe('true');
    expect(await watch(db, { token: eddsa(ed.privateKey, claimsFor('alice', 'v4')) })).toBe('true');
    // Algorithm confusion: the public key used as an HMAC secret must not verify.
    expect(await watch(db, { token: hs256(ecPem, claimsFor('alice', 'v4')) })).toBe('false');
    // A key of another party.
    expect(await watch(db, { token: es256(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, claimsFor('alice', 'v4')) })).toBe(
      'false',
    );
  });

  it('treats an invalid token on a public channel as no token', async () => {
    expect(await watch(db, { stream: 'streams+bob', token: hs256('forged', claimsFor('bob', 'v1')) })).toBe('true');
  });
});

describe('policies', async () => {
  const db = memoryDb();
  await addUser(db, 'alice', '--external-id', 'site-42');
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  const token = (viewer: string, extra: object = {}) => hs256(secret, claimsFor('alice', viewer, extra));
  const setAccess = async (...args: string[]) => expect((await cli(db, ['channel', 'set', 'alice', ...args])).status).toBe(0);

  it('paid: admits the owner, a "paid" entitlement or a grant, refuses the rest', async () => {
    await setAccess('--access', 'paid');
    expect(await watch(db)).toBe('false');
    expect(await watch(db, { token: token('fan') })).toBe('false');
    expect(await watch(db, { token: token('fan', { ent: ['paid'] }) })).toBe('true');
    expect(await watch(db, { token: token('site-42') })).toBe('true'); // the owner, by the site's id
    expect((await cli(db, ['grant', 'add', 'alice', 'fan', '--until', '30d'])).status).toBe(0);
    expect(await watch(db, { token: token('fan') })).toBe('true');
    expect(await cliJson(db, ['grant', 'list', 'alice'])).toMatchObject([{ viewer: 'fan', active: true }]);
    expect((await cli(db, ['grant', 'remove', 'alice', 'fan'])).status).toBe(0);
    expect(await watch(db, { token: token('fan') })).toBe('false');
  });

  it('paid: a grant that has ended admits no one', async () => {
    db.prepare(
      "INSERT INTO access_grants (user_id, viewer, until, created_at) SELECT id, 'lapsed', ?, 0 FROM users WHERE name = 'alice'",
    ).run(Date.now() - 1000);
    expect(await watch(db, { token: token('lapsed') })).toBe('false');
  });

  it('age: needs age_verified, and a stated age at or above a higher minimum', async () => {
    await setAccess('--access', 'age');
    expect(await watch(db, { token: token('kid') })).toBe('false');
    expect(await watch(db, { token: token('kid', { age_verified: false }) })).toBe('false');
    expect(await watch(db, { token: token('adult', { age_verified: true }) })).toBe('true');
    await setAccess('--min-age', '21');
    expect(await watch(db, { token: token('adult', { age_verified: true }) })).toBe('false');
    expect(await watch(db, { token: token('adult', { age_verified: true, age: 20 }) })).toBe('false');
    expect(await watch(db, { token: token('adult', { age_verified: true, age: 25 }) })).toBe('true');
    expect(await watch(db, { token: token('adult', { age_verified: 'yes' }) })).toBe('false');
    const issued = (await cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'x', '--age-verified', '--age', '30']))
      .token;
    expect(await watch(db, { token: issued })).toBe('true');
  });

  it('private: admits the owner (by external id: viewer ids are site ids) and the allow list only', async () => {
    await setAccess('--access', 'private');
    expect(await watch(db, { token: token('friend') })).toBe('false');
    expect(await watch(db, { token: token('alice') })).toBe('false');
    expect(await watch(db, { token: token('site-42') })).toBe('true');
    expect((await cli(db, ['grant', 'add', 'alice', 'friend'])).status).toBe(0);
    expect(await watch(db, { token: token('friend') })).toBe('true');
  });

  it('password: admits a valid token once a password is set, refuses without one', async () => {
    await setAccess('--access', 'password');
    setPassword(db, 'alice', 'correct horse battery');
    expect((await cliJson(db, ['channel', 'show', 'alice'])).has_password).toBe(true);
    expect(await watch(db, { token: token('anyone') })).toBe('true');
    expect(await watch(db)).toBe('false');
  });

  it('a disabled channel admits no one', async () => {
    await setAccess('--access', 'public');
    expect((await cli(db, ['user', 'disable', 'alice'])).status).toBe(0);
    expect(await watch(db)).toBe('false');
    expect((await cli(db, ['user', 'enable', 'alice'])).status).toBe(0);
    expect(await watch(db)).toBe('true');
  });
});

describe('bans', async () => {
  const db = memoryDb();
  await addUser(db, 'alice', '--external-id', 'alice');
  await addUser(db, 'bob');
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  expect((await cli(db, ['channel', 'set', 'alice', '--access', 'private'])).status).toBe(0);
  expect((await cli(db, ['grant', 'add', 'alice', 'troll'])).status).toBe(0);
  const trollToken = hs256(secret, claimsFor('alice', 'troll'));

  it('a viewer ban wins over a valid token and a grant, on that channel only', async () => {
    expect(await watch(db, { token: trollToken })).toBe('true');
    const ban = await cliJson<{ id: number }>(db, ['ban', 'add', '--viewer', 'troll', '--channel', 'alice']);
    const r = await check(db, payload({ token: trollToken }));
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(/ban-viewer/)]);
    expect(await watch(db, { stream: 'streams+bob', token: hs256(secret, claimsFor('bob', 'troll')) })).toBe('true');
    expect((await cli(db, ['ban', 'remove', String(ban.id)])).status).toBe(0);
    expect(await watch(db, { token: trollToken })).toBe('true');
  });

  it('a global viewer ban applies to every channel', async () => {
    const ban = await cliJson<{ id: number; scope: string }>(db, ['ban', 'add', '--viewer', 'troll']);
    expect(ban.scope).toBe('global');
    expect(await watch(db, { stream: 'streams+bob', token: hs256(secret, claimsFor('bob', 'troll')) })).toBe('false');
    expect((await cli(db, ['ban', 'remove', String(ban.id)])).status).toBe(0);
  });

  it('bans IPv4 and IPv6 ranges, including IPv4-mapped addresses, even for the owner', async () => {
    await cliJson(db, ['ban', 'add', '--ip', '203.0.113.7/24', '--reason', 'abuse']);
    await cliJson(db, ['ban', 'add', '--ip', '2001:DB8::1/32', '--channel', 'bob']);
    expect((await cliJson<{ value: string }[]>(db, ['ban', 'list'])).map((b) => b.value)).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    const owner = hs256(secret, claimsFor('alice', 'alice'));
    expect(await watch(db, { ip: '203.0.113.200', token: owner })).toBe('false');
    expect(await watch(db, { ip: '::ffff:203.0.113.9', token: owner })).toBe('false');
    expect(await watch(db, { ip: '203.0.114.1', token: owner })).toBe('true');
    expect(await watch(db, { stream: 'streams+bob', ip: '2001:db8:ffff::9' })).toBe('false');
    expect(await watch(db, { stream: 'streams+bob', ip: '2001:db9::9' })).toBe('true');
    expect(await watch(db, { stream: 'streams+alice', ip: '2001:db8::9', token: owner })).toBe('true');
  });

  it('refuses nonsense on the ban command line with one line and exit 2 (usage)', async () => {
    for (const args of [['--ip', '300.1.1.1'], ['--ip', '10.0.0.0/33'], [], ['--viewer', 'x', '--ip', '1.2.3.4']]) {
      const r = await cli(db, ['ban', 'add', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('viewer cap', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '2'])).status).toBe(0);
  const a = sessionId();
  const b = sessionId();

  it('admits up to the cap, refuses the next new session, and does not count a re-check twice', async () => {
    expect(await watch(db, { sid: a })).toBe('true');
    expect(await watch(db, { sid: b })).toBe('true');
    const r = await check(db, payload({}));
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(/viewer-cap/)]);
    expect(await watch(db, { sid: a, lines: 6 })).toBe('true');
    expect(await watch(db, { sid: b, lines: 7 })).toBe('true');
  });

  it('keeps the earliest sessions when the cap is lowered and the viewers are re-checked', async () => {
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-cap', '1'])).status).toBe(0);
    expect(await watch(db, { sid: a, lines: 6 })).toBe('true');
    expect(await watch(db, { sid: b, lines: 6 })).toBe('false');
  });

  it('orders sessions opened in the same millisecond by admission, not by their random ids', async () => {
    const capped = memoryDb();
    await addUser(capped, 'alice');
    expect((await cli(capped, ['channel', 'set', 'alice', '--viewer-cap', '2'])).status).toBe(0);
    const now = Date.now();
    const first = 'f'.repeat(64);
    const second = '0'.repeat(64);
    for (const sid of [first, second]) expect((await check(capped, payload({ sid }), { now })).answer).toBe('true');
    expect((await cli(capped, ['channel', 'set', 'alice', '--viewer-cap', '1'])).status).toBe(0);
    expect((await check(capped, payload({ sid: first, lines: 6 }), { now })).answer).toBe('true');
    expect((await check(capped, payload({ sid: second, lines: 6 }), { now })).answer).toBe('false');
  });

  it('frees a place when a session closes (USER_END) or goes stale', async () => {
    db.prepare('UPDATE viewer_sessions SET closed_at = ? WHERE session_id = ?').run(Date.now(), a);
    expect(await watch(db, { sid: b, lines: 6 })).toBe('true');
    expect(await watch(db)).toBe('false');
    expect((await cli(db, ['config', 'set', 'viewer-session-stale', '1ms'])).status).toBe(0);
    // A second later every session seen before is stale (in process, "now" may still be the same millisecond).
    expect((await check(db, payload({}), { now: Date.now() + 1000 })).answer).toBe('true');
  });
});
