// USER_NEW with tokens that behave like tickets: at most N sessions per viewer on a
// channel (refused or evicting the oldest), revoked token ids, and a re-check after a token
// expired. In process against an in-memory database; stop_sessid datagrams go to a local UDP
// socket standing in for MistServer's UDP API.
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import userNew from '../../src/triggers/user-new';
import userEnd from '../../src/triggers/user-end';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row } from '../support/db';
import { answer } from '../support/trigger';
import type { Db } from '../../src/store/open';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
function hs256(secret: string, claims: object): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const sid = () => randomBytes(32).toString('hex');
const payload = (o: { token: string; sid: string; stream?: string; lines?: 6 | 7 }) =>
  [
    o.stream ?? 'streams+alice',
    '127.0.0.1',
    o.token,
    'HLS',
    'http://127.0.0.1:8080/hls/streams+alice/index.m3u8',
    o.sid,
    ...((o.lines ?? 7) === 7 ? ['false'] : []),
  ].join('\n');
const watch = async (db: Db, o: Parameters<typeof payload>[0], now?: number) =>
  (await answer(userNew, db, payload(o), now === undefined ? {} : { now })).answer;

/** A stand-in for MistServer's local UDP API: collects the session stops streamctl sends it (tags aside). */
const received: string[] = [];
const udp = createSocket('udp4');
beforeAll(async () => {
  udp.on('message', (m) => {
    if (m.toString().includes('stop_sessid')) received.push(m.toString());
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  process.env.STREAMCTL_UDP_API_PORT = String((udp.address() as AddressInfo).port);
});
afterAll(() => {
  delete process.env.STREAMCTL_UDP_API_PORT;
  udp.close();
});
const until = async (f: () => boolean) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
};

async function paidChannel() {
  const db = memoryDb();
  await addUser(db, 'alice');
  expect((await cli(db, ['channel', 'set', 'alice', '--access', 'paid'])).status).toBe(0);
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  const token = (viewer: string, extra: object = {}) =>
    hs256(secret, { sub: viewer, aud: 'alice', exp: nowS() + 600, ent: ['paid'], ...extra });
  return { db, token };
}

describe('viewer-sessions: at most N sessions per viewer id', () => {
  it('refuses the next session of the same viewer with the reason viewer-sessions, and USER_END frees the place', async () => {
    const { db, token } = await paidChannel();
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-sessions', '2'])).status).toBe(0);
    const t = token('fan-1');
    const [a, b, c] = [sid(), sid(), sid()];
    // The same token from three places: MistServer makes a session id per stream, address and token.
    expect(await watch(db, { token: t, sid: a })).toBe('true');
    expect(await watch(db, { token: t, sid: b })).toBe('true');
    const refused = await answer(userNew, db, payload({ token: t, sid: c }));
    expect(refused.answer).toBe('false');
    expect(refused.lines).toEqual([expect.stringMatching(/\[viewer-sessions\]/)]);
    expect(row<{ reason: string }>(db, "SELECT reason FROM events WHERE kind = 'view' ORDER BY id DESC LIMIT 1")!.reason).toMatch(
      /^viewer-sessions: /,
    );
    // Another viewer is counted apart; a re-check keeps its place.
    expect(await watch(db, { token: token('fan-2'), sid: sid() })).toBe('true');
    expect(await watch(db, { token: t, sid: a, lines: 6 })).toBe('true');
    // USER_END frees a place.
    const end = ['tkn', 'streams+alice', 'HLS', '127.0.0.1', '30', '1000', '10', '[UA:curl]', '30', '30', '30', a].join('\n');
    await answer(userEnd, db, end);
    expect(await watch(db, { token: t, sid: c })).toBe('true');
  });

  it('the global setting applies to channels that set none; anonymous viewers are not counted', async () => {
    const { db, token } = await paidChannel();
    expect((await cli(db, ['config', 'set', 'viewer-sessions', '1'])).status).toBe(0);
    const t = token('fan-1');
    expect(await watch(db, { token: t, sid: sid() })).toBe('true');
    expect(await watch(db, { token: t, sid: sid() })).toBe('false');
    expect((await cli(db, ['channel', 'set', 'alice', '--access', 'public'])).status).toBe(0);
    for (let i = 0; i < 3; i++) expect(await watch(db, { token: '12345', sid: sid() })).toBe('true');
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-sessions', '3'])).status).toBe(0);
    expect(await watch(db, { token: t, sid: sid() })).toBe('true');
  });

  it('with --on-excess evict-oldest admits the new session, stops the oldest on MistServer and refuses its re-check', async () => {
    const { db, token } = await paidChannel();
    expect((await cli(db, ['channel', 'set', 'alice', '--viewer-sessions', '1', '--on-excess', 'evict-oldest'])).status).toBe(0);
    const t = token('fan-1');
    const [first, second] = [sid(), sid()];
    expect(await watch(db, { token: t, sid: first })).toBe('true');
    received.length = 0;
    expect(await watch(db, { token: t, sid: second })).toBe('true');
    await until(() => received.length > 0);
    expect(received).toEqual([JSON.stringify({ stop_sessid: first })]);
    expect(await watch(db, { token: t, sid: first, lines: 6 })).toBe('false');
    expect(await watch(db, { token: t, sid: second, lines: 6 })).toBe('true');
    expect(row<{ outcome: string }>(db, "SELECT outcome FROM events WHERE kind = 'view' AND outcome = 'stopped'")).toBeDefined();
    // The evicted player reconnects with the same token (MistServer starts the same session id anew):
    // still refused, so it cannot evict the newer screen in turn; a new login (a new token) can.
    expect(await watch(db, { token: t, sid: first })).toBe('false');
    received.length = 0;
    expect(await watch(db, { token: token('fan-1', { jti: 'relogin' }), sid: sid() })).toBe('true');
    await until(() => received.length > 0);
    expect(received).toEqual([JSON.stringify({ stop_sessid: second })]);
  });

  it('refuses nonsense on the command line', async () => {
    const { db } = await paidChannel();
    for (const args of [
      ['--viewer-sessions', '0'],
      ['--viewer-sessions', 'x'],
      ['--on-excess', 'kick'],
    ])
      expect((await cli(db, ['channel', 'set', 'alice', ...args])).status).toBe(2);
    expect((await cli(db, ['config', 'set', 'viewer-sessions', '0'])).status).not.toBe(0);
  });
});

describe('token revoke', () => {
  it('refuses a revoked jti from then on and stops the sessions it admitted', async () => {
    const { db, token } = await paidChannel();
    const issued = await cliJson<{ jti: string; token: string }>(db, [
      'token',
      'issue',
      'alice',
      '--viewer',
      'fan-1',
      '--ent',
      'paid',
      '--ttl',
      '10m',
    ]);
    expect(issued.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const a = sid();
    expect(await watch(db, { token: issued.token, sid: a })).toBe('true');
    const other = token('fan-2', { jti: 'other' });
    expect(await watch(db, { token: other, sid: sid() })).toBe('true');
    received.length = 0;
    const revoked = await cliJson<{ jti: string; until_from: string; sessions_stopped: number; until: string }>(db, [
      'token',
      'revoke',
      issued.jti,
    ]);
    expect(revoked).toMatchObject({ jti: issued.jti, until_from: 'token', sessions_stopped: 1 });
    await until(() => received.length > 0);
    expect(received).toEqual([JSON.stringify({ stop_sessid: a })]);
    const refused = await answer(userNew, db, payload({ token: issued.token, sid: sid() }));
    expect(refused.answer).toBe('false');
    expect(refused.lines).toEqual([expect.stringMatching(/\[token-revoked\]/)]);
    expect(await watch(db, { token: issued.token, sid: a, lines: 6 })).toBe('false');
    expect(await watch(db, { token: other, sid: sid() })).toBe('true');
    // A token id no session showed is kept for token-max-ttl.
    expect((await cliJson<{ until_from: string }>(db, ['token', 'revoke', 'never-seen'])).until_from).toBe('token-max-ttl');
    expect((await cli(db, ['token', 'revoke', 'a\u0007b'])).status).toBe(2);
  });
});

describe('a token that expires during the session', () => {
  it('is refused when MistServer re-checks the session after exp, with no clock-skew grace', async () => {
    const { db, token } = await paidChannel();
    const t = token('fan-1', { exp: nowS() + 20 });
    const a = sid();
    expect(await watch(db, { token: t, sid: a })).toBe('true');
    expect(row<{ token_exp: number }>(db, 'SELECT token_exp FROM viewer_sessions WHERE session_id = ?', a)!.token_exp).toBe(
      (nowS() + 20) * 1000,
    );
    const later = Date.now() + 21_000;
    const r = await answer(userNew, db, payload({ token: t, sid: a, lines: 6 }), { now: later });
    expect(r.answer).toBe('false');
    expect(r.lines).toEqual([expect.stringMatching(/\[token-expired\]/)]);
    // The same moment, a longer token keeps its session.
    const long = token('fan-2');
    const b = sid();
    expect(await watch(db, { token: long, sid: b })).toBe('true');
    expect(await watch(db, { token: long, sid: b, lines: 6 }, later)).toBe('true');
  });
});
