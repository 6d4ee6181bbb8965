// USER_NEW run as MistServer runs it (bin/user-new, payload on stdin) against a real database,
// with every access policy, playback tokens good and bad, bans, viewer caps and re-checks.
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { addUser, baseEnv, BIN, cli, cliJson, fixture, fixtureEnv, freshDb, runTrigger, tempDir, type RunResult } from './helpers';

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
const es256 = (key: KeyObject, claims: object) => jwt({ alg: 'ES256' }, claims, (i) => sign('sha256', Buffer.from(i), { key, dsaEncoding: 'ieee-p1363' }));
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
  const fields = [v.stream ?? 'streams+alice', v.ip ?? '127.0.0.1', v.token ?? '482388719', 'HTTPTS', 'http://127.0.0.1:8080/streams%2balice.ts', v.sid ?? sessionId()];
  if ((v.lines ?? 7) === 7) fields.push('false');
  return fields.join('\n');
}

const userNew = (db: string, text: string, env: Record<string, string> = {}): RunResult =>
  runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: text, db, env });
const watch = (db: string, v: Viewer = {}) => userNew(db, payload(v)).stdout;

describe('USER_NEW on the captured payloads, public channel', () => {
  const db = freshDb();
  addUser(db, 'alice');

  it.each([
    ['HLS with ?tkn= (capture 20b)', '20b-hls-tkn/USER_NEW-1'],
    ['a generated numeric token (capture 20c)', '20c-ts-token-param/USER_NEW-1'],
    ['a Bearer token that lost its first character (capture 20d)', '20d-bearer/USER_NEW-1'],
    ['a tkn cookie (capture 20e)', '20e-cookie/USER_NEW-1'],
    ['RTMP play with a PID as token (capture 20g)', '20g-rtmp-play/USER_NEW-1'],
    ['a PLAY_REWRITE alias (capture 20h)', '20h-play-rewrite-alias/USER_NEW-1'],
    ['HLS segments sharing one session (capture 32b)', '32b-hls-segments-one-session/USER_NEW-1'],
  ])('admits %s with exactly "true"', (_, name) => {
    const r = runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: fixture(name), db, env: fixtureEnv(name) });
    expect(r.stdout).toBe('true');
    expect(r.stderr).toBe('');
  });

  it('also answers through bin/mist-trigger USER_NEW', () => {
    expect(runTrigger({ trigger: 'USER_NEW', payload: fixture('01-basic-push-alice/USER_NEW-1'), db }).stdout).toBe('true');
  });

  it('admits the 6-line re-check form of a session', () => {
    const sixLines = fixture('20b-hls-tkn/USER_NEW-1').split('\n').slice(0, 6).join('\n');
    expect(userNew(db, sixLines).stdout).toBe('true');
  });

  it.each([
    ['vod+<name> that no recording resolves (capture 20i)', '20i-vod-wildcard/USER_NEW-1'],
    ['another configured stream that is no channel', '20k-nonexistent/USER_NEW-1', (p: string) => p.replace(/^vod\n/, 'lobby\n')],
  ])('refuses %s: not a channel, and unknown-stream-access defaults to refuse', (_, name, edit = (p: string) => p) => {
    const r = runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: edit(fixture(name)), db });
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/not a channel/);
  });

  it.each([
    ['the bare VoD placeholder stream (capture 20k)', '20k-nonexistent/USER_NEW-1'],
    ['the bare VoD placeholder stream (capture 35)', '35-user-new-deny-cached/USER_NEW-1'],
  ])('admits %s: streamctl itself sends viewers there, its source is harmless', (_, name) => {
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: fixture(name), db }).stdout).toBe('true');
  });

  it('admits the configured offline stream', () => {
    const other = freshDb();
    cli(other, ['config', 'set', 'offline-stream', 'lobby']);
    const payload = fixture('20k-nonexistent/USER_NEW-1').replace(/^vod\n/, 'lobby\n');
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload, db: other }).stdout).toBe('true');
  });

  it('admits streams that are no channel once unknown-stream-access is allow', () => {
    const other = freshDb();
    expect(cli(other, ['config', 'set', 'unknown-stream-access', 'allow']).status).toBe(0);
    const payload = fixture('20k-nonexistent/USER_NEW-1').replace(/^vod\n/, 'lobby\n');
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload, db: other }).stdout).toBe('true');
  });

  it('refuses an unknown user on the live base and a base+name with a path in it', () => {
    expect(watch(db, { stream: 'streams+nobody' })).toBe('false');
    expect(watch(db, { stream: 'streams+../alice' })).toBe('false');
  });

  it.each([
    ['an empty payload', ''],
    ['five lines', 'streams+alice\n127.0.0.1\nabc\nHLS\nhttp://x'],
    ['eight lines (a trailing newline)', payload({}) + '\n'],
    ['a session id that is not 64 hex', payload({ sid: 'zz' + sessionId().slice(2) })],
    ['a 7th line that is not true/false', payload({}).replace(/false$/, 'maybe')],
    ['an empty stream name', payload({ stream: '' })],
    ['binary garbage', '\u0000\u0001\u0002'],
  ])('answers "false" with one stderr line for %s', (_, text) => {
    const r = userNew(db, text);
    expect(r.stdout).toBe('false');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('answers "false" when the database is missing', () => {
    const r = userNew(join(tempDir(), 'none.db'), fixture('20b-hls-tkn/USER_NEW-1'));
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/does not exist/);
  });

  it('records the session it admits, with the address in plain IPv4 form', () => {
    const sid = sessionId();
    watch(db, { sid, ip: '::ffff:198.51.100.4' });
    const sqlite = new Database(db, { readonly: true });
    const row = sqlite.prepare('SELECT * FROM viewer_sessions WHERE session_id = ?').get(sid) as Record<string, unknown>;
    sqlite.close();
    expect(row).toMatchObject({ stream: 'streams+alice', ip: '198.51.100.4', connector: 'HTTPTS', closed_at: null });
  });
});

describe('playback tokens', () => {
  const db = freshDb();
  addUser(db, 'alice');
  addUser(db, 'bob');
  expect(cli(db, ['channel', 'set', 'alice', '--access', 'password']).status).toBe(0);
  const secret = cliJson<{ secret: string }>(db, ['token', 'secret']).secret;
  const valid = hs256(secret, claimsFor('alice', 'v1'));

  it('refuses even a valid token while the password channel has no password set', () => {
    const r = userNew(db, payload({ token: valid }));
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/no-password/);
    expect(spawnCli(db, ['channel', 'password', 'alice'], 'open sesame\n').status).toBe(0);
  });

  it('refuses a password channel without a token, and never counts a generated number as one', () => {
    expect(watch(db)).toBe('false');
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: fixture('20c-ts-token-param/USER_NEW-1'), db }).stdout).toBe('false');
  });

  it('admits a valid HS256 token for the channel, minted outside streamctl', () => {
    expect(watch(db, { token: valid })).toBe('true');
  });

  it('admits the captured HLS request (capture 20b) once its token line carries a valid JWT', () => {
    const name = '20b-hls-tkn/USER_NEW-1';
    const withJwt = fixture(name).replace('\nabc123\n', `\n${valid}\n`);
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: withJwt, db, env: fixtureEnv(name) }).stdout).toBe('true');
    expect(runTrigger({ program: 'user-new', trigger: 'USER_NEW', payload: fixture(name), db, env: fixtureEnv(name) }).stdout).toBe('false');
  });

  it('admits a token minted by `streamctl token issue`', () => {
    const issued = cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'v2', '--ttl', '10m']).token;
    expect(watch(db, { token: issued })).toBe('true');
  });

  it('admits a token sent as Authorization: Bearer, which reaches USER_NEW without its first character', () => {
    expect(valid.startsWith('eyJ')).toBe(true);
    expect(watch(db, { token: valid.slice(1) })).toBe('true');
    // The restored character is checked like the rest: a different first byte never verifies.
    expect(watch(db, { token: 'x' + valid.slice(1) })).toBe('false');
  });

  it.each([
    ['an expired token', () => hs256(secret, claimsFor('alice', 'v1', { exp: nowS() - 120 })), /token expired/],
    ['a token for another channel', () => hs256(secret, claimsFor('bob', 'v1')), /another channel/],
    ['a token without exp', () => hs256(secret, { sub: 'v1', aud: 'alice' }), /no "exp"/],
    ['a token without sub', () => hs256(secret, { aud: 'alice', exp: nowS() + 60 }), /no "sub"/],
    ['a token living longer than token-max-ttl', () => hs256(secret, claimsFor('alice', 'v1', { exp: nowS() + 3 * 86400 })), /token-max-ttl/],
    ['a token not valid yet', () => hs256(secret, claimsFor('alice', 'v1', { nbf: nowS() + 3600 })), /not valid yet/],
    ['a forged token (another secret)', () => hs256('not-the-secret', claimsFor('alice', 'v1')), /signature/],
    ['a tampered payload', () => valid.replace(/\.[^.]+\./, `.${b64(claimsFor('alice', 'admin'))}.`), /signature/],
    ['the wrong algorithm (HS512 with the right secret)', () => jwt({ alg: 'HS512' }, claimsFor('alice', 'v1'), (i) => createHmac('sha512', secret).update(i).digest()), /not accepted/],
    ['alg:none', () => jwt({ alg: 'none' }, claimsFor('alice', 'v1'), () => ''), /not accepted/],
    ['a malformed header', () => `eyJub3QganNvbg.${b64(claimsFor('alice', 'v1'))}.abc`, /malformed/],
    ['a header with critical extensions', () => hs256(secret, claimsFor('alice', 'v1'), { alg: 'HS256', crit: ['exp'] }), /signature/],
    ['an unencoded-payload header (b64: false)', () => hs256(secret, claimsFor('alice', 'v1'), { alg: 'HS256', b64: false, crit: ['b64'] }), /signature/],
    ['a truncated signature', () => valid.slice(0, -2), /signature/],
    ['a signature with bytes appended', () => `${valid}AAAA`, /signature/],
    ['a correctly signed payload that is not JSON', () => {
      const input = `${b64({ alg: 'HS256' })}.${Buffer.from('not json').toString('base64url')}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    }, /malformed/],
  ])('refuses %s and says why on stderr, without the token', (_, make, why) => {
    const token = make();
    const r = userNew(db, payload({ token }));
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toContain(token.split('.')[2] || token);
  });

  it('never writes tokens into the event log, but records the refusals', () => {
    const events = cli(db, ['events', '--json']).stdout;
    expect(events).toContain('token expired');
    expect(events).not.toContain(secret);
    expect(events).not.toContain(valid.split('.')[1]);
  });

  it('keeps the old secret working during the rotation grace, then not after an immediate rotation', () => {
    const r1 = cliJson<{ secret: string }>(db, ['token', 'secret', '--grace', '1h']);
    expect(watch(db, { token: valid })).toBe('true');
    expect(watch(db, { token: hs256(r1.secret, claimsFor('alice', 'v3')) })).toBe('true');
    const r2 = cliJson<{ secret: string }>(db, ['token', 'secret', '--grace', '0s']);
    expect(watch(db, { token: hs256(r1.secret, claimsFor('alice', 'v3')) })).toBe('false');
    expect(watch(db, { token: valid })).toBe('false'); // an immediate rotation also ends earlier graces
    expect(watch(db, { token: hs256(r2.secret, claimsFor('alice', 'v3')) })).toBe('true');
  });

  it('accepts ES256 and EdDSA tokens from registered public keys, pinned to their algorithm', () => {
    const dir = tempDir();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'ec.pem'), ecPem);
    writeFileSync(join(dir, 'ed.pem'), ed.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'private.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(cliJson(db, ['token', 'key', 'add', join(dir, 'ec.pem'), '--label', 'site-ec']).alg).toBe('ES256');
    expect(cliJson(db, ['token', 'key', 'add', join(dir, 'ed.pem'), '--label', 'site-ed']).alg).toBe('EdDSA');
    const priv = cli(db, ['token', 'key', 'add', join(dir, 'private.pem')]);
    expect(priv.status).toBe(1);
    expect(priv.stderr).toMatch(/private key/);

    expect(watch(db, { token: es256(ec.privateKey, claimsFor('alice', 'v4')) })).toBe('true');
    expect(watch(db, { token: eddsa(ed.privateKey, claimsFor('alice', 'v4')) })).toBe('true');
    // Algorithm confusion: the public key used as an HMAC secret must not verify.
    expect(watch(db, { token: hs256(ecPem, claimsFor('alice', 'v4')) })).toBe('false');
    // A key of another party.
    expect(watch(db, { token: es256(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, claimsFor('alice', 'v4')) })).toBe('false');
  });

  it('treats an invalid token on a public channel as no token', () => {
    const r = userNew(db, payload({ stream: 'streams+bob', token: hs256('forged', claimsFor('bob', 'v1')) }));
    expect(r.stdout).toBe('true');
  });
});

describe('policies', () => {
  const db = freshDb();
  addUser(db, 'alice', '--external-id', 'site-42');
  const secret = cliJson<{ secret: string }>(db, ['token', 'secret']).secret;
  const token = (viewer: string, extra: object = {}) => hs256(secret, claimsFor('alice', viewer, extra));
  const setAccess = (...args: string[]) => expect(cli(db, ['channel', 'set', 'alice', ...args]).status).toBe(0);

  it('paid: admits the owner, a "paid" entitlement or a grant, refuses the rest', () => {
    setAccess('--access', 'paid');
    expect(watch(db)).toBe('false');
    expect(watch(db, { token: token('fan') })).toBe('false');
    expect(watch(db, { token: token('fan', { ent: ['paid'] }) })).toBe('true');
    expect(watch(db, { token: token('site-42') })).toBe('true');
    expect(cli(db, ['grant', 'add', 'alice', 'fan', '--until', '30d']).status).toBe(0);
    expect(watch(db, { token: token('fan') })).toBe('true');
    expect(cliJson(db, ['grant', 'list', 'alice'])).toMatchObject([{ viewer: 'fan', active: true }]);
    expect(cli(db, ['grant', 'remove', 'alice', 'fan']).status).toBe(0);
    expect(watch(db, { token: token('fan') })).toBe('false');
  });

  it('paid: a grant that has ended admits no one', () => {
    const sqlite = new Database(db);
    sqlite.prepare("INSERT INTO access_grants (user_id, viewer, until, created_at) SELECT id, 'lapsed', ?, 0 FROM users WHERE name = 'alice'").run(Date.now() - 1000);
    sqlite.close();
    expect(watch(db, { token: token('lapsed') })).toBe('false');
  });

  it('age: needs age_verified, and a stated age at or above a higher minimum', () => {
    setAccess('--access', 'age');
    expect(watch(db, { token: token('kid') })).toBe('false');
    expect(watch(db, { token: token('kid', { age_verified: false }) })).toBe('false');
    expect(watch(db, { token: token('adult', { age_verified: true }) })).toBe('true');
    setAccess('--min-age', '21');
    expect(watch(db, { token: token('adult', { age_verified: true }) })).toBe('false');
    expect(watch(db, { token: token('adult', { age_verified: true, age: 20 }) })).toBe('false');
    expect(watch(db, { token: token('adult', { age_verified: true, age: 25 }) })).toBe('true');
    expect(watch(db, { token: token('adult', { age_verified: 'yes' }) })).toBe('false');
    const issued = cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'x', '--age-verified', '--age', '30']).token;
    expect(watch(db, { token: issued })).toBe('true');
  });

  it('private: admits the owner (by external id: viewer ids are site ids) and the allow list only', () => {
    setAccess('--access', 'private');
    expect(watch(db, { token: token('friend') })).toBe('false');
    expect(watch(db, { token: token('alice') })).toBe('false');
    expect(watch(db, { token: token('site-42') })).toBe('true');
    expect(cli(db, ['grant', 'add', 'alice', 'friend']).status).toBe(0);
    expect(watch(db, { token: token('friend') })).toBe('true');
  });

  it('password: the password is hashed, checked through stdin, and never stored or printed in clear', () => {
    setAccess('--access', 'password');
    const pw = 'correct horse battery';
    const set = spawnCli(db, ['channel', 'password', 'alice'], pw + '\n');
    expect(set.status).toBe(0);
    expect(spawnCli(db, ['channel', 'check-password', 'alice'], pw).status).toBe(0);
    const wrong = spawnCli(db, ['channel', 'check-password', 'alice'], 'wrong password');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/wrong password/);
    expect(spawnCli(db, ['channel', 'password', 'alice'], 'short').status).toBe(1);
    const sqlite = new Database(db, { readonly: true });
    const stored = sqlite.prepare('SELECT password_hash FROM channels').get() as { password_hash: string };
    sqlite.close();
    expect(stored.password_hash).toMatch(/^scrypt\$/);
    expect(stored.password_hash).not.toContain(pw);
    expect(cliJson(db, ['channel', 'show', 'alice']).has_password).toBe(true);
    expect(watch(db, { token: token('anyone') })).toBe('true');
    expect(watch(db)).toBe('false');
  });

  it('a disabled channel admits no one', () => {
    setAccess('--access', 'public');
    expect(cli(db, ['user', 'disable', 'alice']).status).toBe(0);
    expect(watch(db)).toBe('false');
    expect(cli(db, ['user', 'enable', 'alice']).status).toBe(0);
    expect(watch(db)).toBe('true');
  });
});

function spawnCli(db: string, args: string[], input: string): RunResult {
  const r = spawnSync(join(BIN, 'streamctl'), args, { input, env: baseEnv({ STREAMCTL_DB: db }), encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('bans', () => {
  const db = freshDb();
  addUser(db, 'alice', '--external-id', 'alice');
  addUser(db, 'bob');
  const secret = cliJson<{ secret: string }>(db, ['token', 'secret']).secret;
  expect(cli(db, ['channel', 'set', 'alice', '--access', 'private']).status).toBe(0);
  expect(cli(db, ['grant', 'add', 'alice', 'troll']).status).toBe(0);
  const trollToken = hs256(secret, claimsFor('alice', 'troll'));

  it('a viewer ban wins over a valid token and a grant, on that channel only', () => {
    expect(watch(db, { token: trollToken })).toBe('true');
    const ban = cliJson<{ id: number }>(db, ['ban', 'add', '--viewer', 'troll', '--channel', 'alice']);
    const r = userNew(db, payload({ token: trollToken }));
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/ban-viewer/);
    expect(watch(db, { stream: 'streams+bob', token: hs256(secret, claimsFor('bob', 'troll')) })).toBe('true');
    expect(cli(db, ['ban', 'remove', String(ban.id)]).status).toBe(0);
    expect(watch(db, { token: trollToken })).toBe('true');
  });

  it('a global viewer ban applies to every channel', () => {
    const ban = cliJson<{ id: number; scope: string }>(db, ['ban', 'add', '--viewer', 'troll']);
    expect(ban.scope).toBe('global');
    expect(watch(db, { stream: 'streams+bob', token: hs256(secret, claimsFor('bob', 'troll')) })).toBe('false');
    expect(cli(db, ['ban', 'remove', String(ban.id)]).status).toBe(0);
  });

  it('bans IPv4 and IPv6 ranges, including IPv4-mapped addresses, even for the owner', () => {
    cliJson(db, ['ban', 'add', '--ip', '203.0.113.7/24', '--reason', 'abuse']);
    cliJson(db, ['ban', 'add', '--ip', '2001:DB8::1/32', '--channel', 'bob']);
    expect(cliJson<{ value: string }[]>(db, ['ban', 'list']).map((b) => b.value)).toEqual(['203.0.113.0/24', '2001:db8::/32']);
    const owner = hs256(secret, claimsFor('alice', 'alice'));
    expect(watch(db, { ip: '203.0.113.200', token: owner })).toBe('false');
    expect(watch(db, { ip: '::ffff:203.0.113.9', token: owner })).toBe('false');
    expect(watch(db, { ip: '203.0.114.1', token: owner })).toBe('true');
    expect(watch(db, { stream: 'streams+bob', ip: '2001:db8:ffff::9' })).toBe('false');
    expect(watch(db, { stream: 'streams+bob', ip: '2001:db9::9' })).toBe('true');
    expect(watch(db, { stream: 'streams+alice', ip: '2001:db8::9', token: owner })).toBe('true');
  });

  it('refuses nonsense on the ban command line with one line and exit 1', () => {
    for (const args of [['--ip', '300.1.1.1'], ['--ip', '10.0.0.0/33'], [], ['--viewer', 'x', '--ip', '1.2.3.4']]) {
      const r = cli(db, ['ban', 'add', ...args]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('viewer cap', () => {
  const db = freshDb();
  addUser(db, 'alice');
  expect(cli(db, ['channel', 'set', 'alice', '--viewer-cap', '2']).status).toBe(0);
  const a = sessionId();
  const b = sessionId();

  it('admits up to the cap, refuses the next new session, and does not count a re-check twice', () => {
    expect(watch(db, { sid: a })).toBe('true');
    expect(watch(db, { sid: b })).toBe('true');
    const r = userNew(db, payload({}));
    expect(r.stdout).toBe('false');
    expect(r.stderr).toMatch(/viewer-cap/);
    expect(watch(db, { sid: a, lines: 6 })).toBe('true');
    expect(watch(db, { sid: b, lines: 7 })).toBe('true');
  });

  it('keeps the earliest sessions when the cap is lowered and the viewers are re-checked', () => {
    expect(cli(db, ['channel', 'set', 'alice', '--viewer-cap', '1']).status).toBe(0);
    expect(watch(db, { sid: a, lines: 6 })).toBe('true');
    expect(watch(db, { sid: b, lines: 6 })).toBe('false');
  });

  it('frees a place when a session closes (USER_END) or goes stale', () => {
    const sqlite = new Database(db);
    sqlite.prepare('UPDATE viewer_sessions SET closed_at = ? WHERE session_id = ?').run(Date.now(), a);
    sqlite.close();
    expect(watch(db, { sid: b, lines: 6 })).toBe('true');
    expect(watch(db)).toBe('false');
    expect(cli(db, ['config', 'set', 'viewer-session-stale', '1ms']).status).toBe(0);
    expect(watch(db)).toBe('true');
  });
});

describe('streamctl access explain', () => {
  const db = freshDb();
  addUser(db, 'alice');
  const secret = cliJson<{ secret: string }>(db, ['token', 'secret']).secret;
  expect(cli(db, ['channel', 'set', 'alice', '--access', 'paid']).status).toBe(0);

  it('gives the same decision and rule as the trigger', () => {
    const fan = hs256(secret, claimsFor('alice', 'fan'));
    expect(cliJson(db, ['access', 'explain', 'alice', '--token', fan])).toMatchObject({ decision: 'refuse', rule: 'not-entitled', viewer: 'fan' });
    expect(watch(db, { token: fan })).toBe('false');
    expect(cli(db, ['grant', 'add', 'alice', 'fan']).status).toBe(0);
    expect(cliJson(db, ['access', 'explain', 'alice', '--token', fan])).toMatchObject({ decision: 'admit', rule: 'grant' });
    expect(watch(db, { token: fan })).toBe('true');
    cliJson(db, ['ban', 'add', '--ip', '192.0.2.0/24']);
    expect(cliJson(db, ['access', 'explain', 'alice', '--token', fan, '--ip', '192.0.2.9'])).toMatchObject({ decision: 'refuse', rule: 'ban-ip' });
    expect(watch(db, { token: fan, ip: '192.0.2.9' })).toBe('false');
  });

  it('names the token problem and prints a readable summary', () => {
    const expired = hs256(secret, claimsFor('alice', 'fan', { exp: nowS() - 100 }));
    expect(cliJson(db, ['access', 'explain', 'alice', '--token', expired])).toMatchObject({ decision: 'refuse', rule: 'token-invalid', token_problem: 'token expired' });
    const fromStdin = spawnCli(db, ['access', 'explain', 'alice', '--token', '-', '--json'], expired + '\n');
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ rule: 'token-invalid', token_problem: 'token expired' });
    const text = cli(db, ['access', 'explain', 'alice']).stdout;
    expect(text).toMatch(/decision: REFUSE/);
    expect(text).toMatch(/rule: +no-token/);
  });
});
