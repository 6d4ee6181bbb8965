// Finding the playback JWT in MistServer's token line, and checking it against the keys in the
// store (in process; the USER_NEW trigger's use of it is in test/triggers/user-new.test.ts).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkToken, playbackJwt } from '../../src/access/token';
import { cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function hs256(secret: string, claims: object): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('playbackJwt', () => {
  const jwt = hs256('s', { sub: 'v', aud: 'alice', exp: 1 });

  it('finds a JWT, and restores the first character MistServer drops from Bearer headers', () => {
    expect(playbackJwt(jwt)).toEqual({ jwt, repaired: false });
    expect(playbackJwt(jwt.slice(1))).toEqual({ jwt, repaired: true });
  });

  it.each([
    ['a generated number (HTTP)', '482388719'],
    ['a plain ?tkn= string', 'abc123'],
    ['two parts', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2In0'],
    ['characters outside base64url', 'eyJh+bGc.eyJz.abc'],
    ['a JWT-shaped text not starting like a header', 'xyJh.eyJz.abc'],
    ['nothing', ''],
  ])('treats %s as no token', (_, line) => {
    expect(playbackJwt(line)).toBeNull();
  });
});

describe('checkToken', async () => {
  const db = memoryDb();
  const now = Date.now();
  const nowS = Math.floor(now / 1000);

  it('says no key is configured before a secret exists', async () => {
    expect(await checkToken(db, hs256('x', { sub: 'v', aud: 'alice', exp: nowS + 60 }), 'alice', now)).toEqual({
      state: 'invalid',
      reason: expect.stringMatching(/no HS256 key is configured/),
    });
  });

  it('returns the claims of a valid token, and reasons without the token for invalid ones', async () => {
    const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
    const good = await checkToken(
      db,
      hs256(secret, { sub: 'fan', aud: 'alice', exp: nowS + 60, ent: ['paid'], age_verified: true, age: 30 }),
      'alice',
      now,
    );
    expect(good).toMatchObject({
      state: 'valid',
      claims: { viewer: 'fan', entitlements: ['paid'], ageVerified: true, age: 30, expiresAt: (nowS + 60) * 1000 },
    });
    for (const [claims, reason] of [
      [{ sub: 'fan', aud: 'bob', exp: nowS + 60 }, 'token is for another channel'],
      [{ sub: 'fan', aud: 'alice', exp: nowS - 60 }, 'token expired'],
      [{ sub: 'fan', aud: 'alice', exp: nowS + 60, ent: 'paid' }, 'token "ent" is not a list of strings'],
      [{ sub: 'fan', aud: 'alice', exp: nowS + 60, age: -1 }, 'token "age" is not a whole number of years'],
      [{ sub: 'fan', aud: 'alice', exp: nowS + 60, age_verified: 'yes' }, 'token "age_verified" is not a boolean'],
    ] as const) {
      expect(await checkToken(db, hs256(secret, claims), 'alice', now), reason).toEqual({ state: 'invalid', reason });
    }
  });

  it('refuses a sub that is not a viewer id, by the rule grant add and ban add use', async () => {
    const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
    for (const sub of ['', 'x'.repeat(201), 'fan\u001b[2J', 'fan\nfake', 'fan\u0085', 'fan\u202eevil']) {
      expect(await checkToken(db, hs256(secret, { sub, aud: 'alice', exp: nowS + 60 }), 'alice', now), JSON.stringify(sub)).toEqual({
        state: 'invalid',
        reason: 'token "sub" is not a viewer id',
      });
      expect((await cli(db, ['grant', 'add', 'alice', sub])).status, JSON.stringify(sub)).not.toBe(0);
    }
    expect(await checkToken(db, hs256(secret, { sub: 'x'.repeat(200), aud: 'alice', exp: nowS + 60 }), 'alice', now)).toMatchObject({
      state: 'valid',
    });
  });

  it('never issues a token the verifier refuses (viewer id, age)', async () => {
    await cli(db, ['user', 'add', 'alice']);
    for (const args of [
      ['--viewer', 'fan\u0007'],
      ['--viewer', 'fan\r\nx'],
      ['--viewer', 'fan\u202e'],
      ['--viewer', 'x'.repeat(201)],
      ['--viewer', 'fan', '--age-verified', '--age', '250'],
      ['--viewer', 'fan', '--age-verified', '--age', '200'],
    ]) {
      const r = await cli(db, ['token', 'issue', 'alice', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    const ok = await cliJson<{ token: string }>(db, ['token', 'issue', 'alice', '--viewer', 'fan', '--age-verified', '--age', '199']);
    expect(await checkToken(db, ok.token, 'alice', now)).toMatchObject({ state: 'valid', claims: { viewer: 'fan', age: 199 } });
  });

  it('refuses an HS256 signature whose last character is not the canonical one (same bytes when decoded)', async () => {
    const secret = (await cliJson<{ secret: string }>(db, ['token', 'secret'])).secret;
    const jwt = hs256(secret, { sub: 'fan', aud: 'alice', exp: nowS + 60 });
    expect(await checkToken(db, jwt, 'alice', now)).toMatchObject({ state: 'valid' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(jwt.at(-1)!);
    // 43 characters carry 258 bits for 256: the last one's low 2 bits are padding.
    const variants = [1, 2, 3].map((low) => jwt.slice(0, -1) + alphabet[(last & ~3) | ((last + low) & 3)]);
    for (const variant of variants) {
      expect(Buffer.from(variant.split('.')[2]!, 'base64url').equals(Buffer.from(jwt.split('.')[2]!, 'base64url'))).toBe(true);
      expect(await checkToken(db, variant, 'alice', now)).toEqual({ state: 'invalid', reason: 'token signature does not verify' });
    }
  });
});
