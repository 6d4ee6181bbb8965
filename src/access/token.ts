// Playback tokens: standard JWTs minted by the site (or `streamctl token issue`), verified here and
// never by MistServer. Algorithm pinned per key, exp required and bounded, audience = channel name.
import { join } from 'node:path';
import { hmac } from 'fast-sha256';
import type { Db } from '../store/open';
import { durationMs, getSetting } from '../store/settings';
import { activeTokenKeys, type TokenAlg, type TokenKey } from '../store/token-keys';
import { isClaimAge, isEntitlementList, viewerIdProblem } from './viewer-id';

/** A key as verification needs it (SQLite's TokenKey and the edge's replicated key both fit). */
export type VerificationKey = Pick<TokenKey, 'kind' | 'alg' | 'material' | 'label'>;

type Jose = typeof import('./jose-entry');

let jose: Jose | undefined;

/** Run from source (tests call src/ in process, tsx): there is no bundle, the package is loaded. */
const FROM_SOURCE = __filename.endsWith('.ts');
const JOSE_PACKAGE = 'jose';

/**
 * True in the standalone executable (scripts/package.ts), false in dist/ (scripts/build.ts): the
 * executable is one script with nothing beside it to require, so jose is bundled into it.
 */
declare const __JOSE_INSIDE__: boolean | undefined;

/** The JWT library, from its own bundle next to this one (a computed path esbuild leaves alone). */
export function loadJose(): Jose {
  // A literal false in dist/: esbuild drops the branch and does not bundle jose into the programs.
  if (typeof __JOSE_INSIDE__ !== 'undefined' && __JOSE_INSIDE__) return (jose ??= require('./jose-entry') as Jose);
  return (jose ??= require(FROM_SOURCE ? JOSE_PACKAGE : join(__dirname, 'jose.js')) as Jose);
}

/** Clock difference tolerated between the site and this host. */
const CLOCK_SKEW_S = 30;
const ACCEPTED_ALGS: readonly string[] = ['HS256', 'ES256', 'EdDSA'] satisfies TokenAlg[];

/** What a verified token says about the viewer. */
export interface ViewerClaims {
  viewer: string;
  ageVerified: boolean;
  /** Verified age in years, when the site states one. */
  age: number | null;
  entitlements: string[];
  expiresAt: number;
  /** The token's id (`jti`), when it has one: what `streamctl token revoke` names. */
  jti: string | null;
}

/** The outcome of looking at the token line; reasons never include the token. */
export type TokenCheck =
  | { state: 'none' }
  | { state: 'valid'; claims: ViewerClaims; keyLabel: string }
  | { state: 'invalid'; reason: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The JWT in MistServer's token line, or null when there is none: without a token MistServer puts a
 * generated number (HTTP) or a PID (RTMP) there, and plain `?tkn=` strings are not JWTs either.
 * `Authorization: Bearer` reaches USER_NEW with its first character dropped (capture 20d); a JWT
 * header always starts with "e" (base64url of `{`), so that one character is put back. This cannot
 * weaken anything: the signature covers the header, and a wrong guess simply fails to verify.
 */
export function playbackJwt(tokenLine: string): { jwt: string; repaired: boolean } | null {
  if (!JWT_SHAPE.test(tokenLine)) return null;
  if (tokenLine.startsWith('ey')) return { jwt: tokenLine, repaired: false };
  if (tokenLine.startsWith('yJ')) return { jwt: 'e' + tokenLine, repaired: true };
  return null;
}

async function verificationKey(j: Jose, k: VerificationKey): Promise<Uint8Array | Awaited<ReturnType<Jose['importSPKI']>>> {
  return k.kind === 'secret' ? new TextEncoder().encode(k.material) : j.importSPKI(k.material, k.alg);
}

/** Why jose refused a token whose signature checked out, in words fit for logs. */
function claimProblem(j: Jose, err: unknown): string {
  if (err instanceof j.errors.JWTExpired) return 'token expired';
  if (err instanceof j.errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'token is for another channel';
    if (err.claim === 'nbf') return 'token not valid yet';
    if (err.claim === 'iat') return 'token issued in the future';
    if (err.reason === 'missing') return `token has no "${err.claim}" claim`;
    return `token claim "${err.claim}" is invalid`;
  }
  return 'token is malformed';
}

/** Verifies a playback token for a channel with the keys and token-max-ttl in the database. */
export function checkToken(db: Db, jwt: string, channelName: string, now: number): Promise<TokenCheck> {
  return verifyToken(jwt, channelName, now, activeTokenKeys(db, now), () => durationMs('token-max-ttl', getSetting(db, 'token-max-ttl')));
}

/**
 * Verifies a playback token for a channel (async: jose uses WebCrypto). Never throws for bad tokens.
 * `keys`: those that verify at `now`, newest first; `maxTtlMs`: token-max-ttl in ms (a function
 * when reading it costs something: it is needed only once a signature matched). The one-box reads
 * both from SQLite, an edge from its Redis replica.
 */
export async function verifyToken(
  jwt: string,
  channelName: string,
  now: number,
  activeKeys: readonly VerificationKey[],
  maxTtlMs: number | (() => number),
): Promise<TokenCheck> {
  const j = loadJose();
  let alg: unknown;
  try {
    alg = j.decodeProtectedHeader(jwt).alg;
  } catch {
    return { state: 'invalid', reason: 'token header is malformed' };
  }
  if (typeof alg !== 'string' || !ACCEPTED_ALGS.includes(alg))
    return { state: 'invalid', reason: `token algorithm "${String(alg).slice(0, 16)}" is not accepted` };
  const keys = activeKeys.filter((k) => k.alg === alg);
  if (keys.length === 0) return { state: 'invalid', reason: `no ${alg} key is configured (see 'streamctl token')` };

  const claimOptions = { audience: channelName, requiredClaims: ['exp', 'sub'], clockTolerance: CLOCK_SKEW_S, currentDate: new Date(now) };
  for (const key of keys) {
    let payload: Record<string, unknown>;
    try {
      if (key.alg === 'HS256') {
        if (!hs256SignatureMatches(jwt, key.material)) continue; // another secret may match
        ({ payload } = j.UnsecuredJWT.decode(asUnsecured(jwt), claimOptions));
      } else {
        ({ payload } = await j.jwtVerify(jwt, await verificationKey(j, key), { ...claimOptions, algorithms: [key.alg] }));
      }
    } catch (err) {
      if (err instanceof j.errors.JWSSignatureVerificationFailed) continue; // another key may match
      return { state: 'invalid', reason: claimProblem(j, err) };
    }
    return claimsFrom(payload, now, key, typeof maxTtlMs === 'number' ? maxTtlMs : maxTtlMs());
  }
  return { state: 'invalid', reason: 'token signature does not verify' };
}

/**
 * HS256 signature check with a synchronous HMAC (fast-sha256, already on the hot path for stream
 * keys): jose can only verify through WebCrypto, whose start-up alone costs ~6 ms per viewer. The
 * header must be exactly what we verify: alg HS256, no `crit`/`b64` extensions (RFC 7515 §4.1.11,
 * RFC 7797), which jose would otherwise interpret.
 */
function hs256SignatureMatches(jwt: string, secret: string): boolean {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { alg?: unknown }).alg !== 'HS256') return false;
  if ('crit' in parsed || 'b64' in parsed) return false;
  if (signature.length !== 43) return false; // 32 bytes, unpadded base64url
  // Compared as text, against the canonical encoding: decoding the given text would ignore the low
  // 2 bits of its last character, so four spellings of one signature would all verify.
  const expected = Buffer.from(hmac(new TextEncoder().encode(secret), new TextEncoder().encode(`${header}.${payload}`))).toString(
    'base64url',
  );
  let difference = 0; // constant time: no early exit on the first wrong character
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ signature.charCodeAt(i);
  return difference === 0;
}

/**
 * The verified token's claims as an unsecured JWT, so jose's own claim checks (exp, nbf, iat,
 * aud, required claims, clock tolerance) apply exactly as in jwtVerify, with no second copy here.
 */
function asUnsecured(jwt: string): string {
  return `${UNSECURED_HEADER}.${jwt.split('.')[1]}.`;
}

const UNSECURED_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

function claimsFrom(p: Record<string, unknown>, now: number, key: VerificationKey, maxTtl: number): TokenCheck {
  const exp = p.exp as number;
  if (exp * 1000 > now + maxTtl + CLOCK_SKEW_S * 1000) return { state: 'invalid', reason: 'token lifetime is longer than token-max-ttl' };
  // jose checks a future `iat` only together with maxTokenAge, which also makes `iat` required; ours
  // is optional, so the check is here (jose has already refused an `iat` that is not a number).
  if (typeof p.iat === 'number' && p.iat * 1000 > now + CLOCK_SKEW_S * 1000)
    return { state: 'invalid', reason: 'token issued in the future' };
  if (typeof p.sub !== 'string' || viewerIdProblem(p.sub) !== null) return { state: 'invalid', reason: 'token "sub" is not a viewer id' };
  if (p.age_verified !== undefined && typeof p.age_verified !== 'boolean')
    return { state: 'invalid', reason: 'token "age_verified" is not a boolean' };
  if (p.age !== undefined && !isClaimAge(p.age)) return { state: 'invalid', reason: 'token "age" is not a whole number of years' };
  if (p.jti !== undefined && !(typeof p.jti === 'string' && p.jti !== '' && p.jti.length <= 200))
    return { state: 'invalid', reason: 'token "jti" is not a token id' };
  if (p.ent !== undefined && !isEntitlementList(p.ent)) {
    return { state: 'invalid', reason: 'token "ent" is not a list of strings' };
  }
  return {
    state: 'valid',
    keyLabel: key.label,
    claims: {
      viewer: p.sub,
      ageVerified: p.age_verified === true,
      age: typeof p.age === 'number' ? p.age : null,
      entitlements: (p.ent as string[] | undefined) ?? [],
      expiresAt: exp * 1000,
      jti: typeof p.jti === 'string' ? p.jti : null,
    },
  };
}
