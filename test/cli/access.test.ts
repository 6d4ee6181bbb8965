// `streamctl access explain` in process: the same decision and rule as the USER_NEW trigger.
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import userNew from '../../src/triggers/user-new';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answer } from '../support/trigger';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
function hs256(secret: string, claims: object): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const claimsFor = (channel: string, viewer: string, extra: object = {}) => ({ sub: viewer, aud: channel, exp: nowS() + 600, ...extra });

describe('streamctl access explain', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
  expect((await cli(db, ['channel', 'set', 'alice', '--access', 'paid'])).status).toBe(0);
  const watch = async (token: string, ip = '127.0.0.1') =>
    (await answer(userNew, db, ['streams+alice', ip, token, 'HLS', 'http://x/', randomBytes(32).toString('hex'), 'false'].join('\n')))
      .answer;

  /** access explain --json; exit 0 when it admits, 1 when it refuses (a negative answer). */
  const explain = async (args: string[]) => {
    const r = await cli(db, ['access', 'explain', ...args, '--json']);
    const out = JSON.parse(r.stdout);
    expect(r.status).toBe(out.decision === 'admit' ? 0 : 1);
    return out;
  };

  it('gives the same decision and rule as the trigger', async () => {
    const fan = hs256(secret, claimsFor('alice', 'fan'));
    expect(await explain(['alice', '--token', fan])).toMatchObject({ decision: 'refuse', rule: 'not-entitled', viewer: 'fan' });
    expect(await watch(fan)).toBe('false');
    expect((await cli(db, ['grant', 'add', 'alice', 'fan'])).status).toBe(0);
    expect(await explain(['alice', '--token', fan])).toMatchObject({ decision: 'admit', rule: 'grant' });
    expect(await watch(fan)).toBe('true');
    await cliJson(db, ['ban', 'add', '--ip', '192.0.2.0/24']);
    expect(await explain(['alice', '--token', fan, '--ip', '192.0.2.9'])).toMatchObject({ decision: 'refuse', rule: 'ban-ip' });
    expect(await watch(fan, '192.0.2.9')).toBe('false');
  });

  it('names the token problem and prints a readable summary', async () => {
    const expired = hs256(secret, claimsFor('alice', 'fan', { exp: nowS() - 100 }));
    expect(await explain(['alice', '--token', expired])).toMatchObject({
      decision: 'refuse',
      rule: 'token-invalid',
      token_problem: 'token expired',
    });
    const text = (await cli(db, ['access', 'explain', 'alice'])).stdout;
    expect(text).toMatch(/decision: REFUSE/);
    expect(text).toMatch(/rule: +no-token/);
  });
});
