// `streamctl token ...`: the keys that verify playback tokens, and minting a token by hand.
// Keys stay in streamctl's database: never registered with MistServer (see docs/access-control.md).
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadJose } from '../../access/token';
import { rotateTokenSecret } from '../../access/token-secrets';
import { jtiProblem, revokeTokenId } from '../../access/revocation';
import { isClaimAge, viewerIdProblem } from '../../access/viewer-id';
import { formatDuration, parseDuration } from '../../lib/duration';
import { UsageError, UserError } from '../../lib/errors';
import { nameProblem } from '../../lib/names';
import { durationMs, getSetting } from '../../store/settings';
import { currentSecret, insertTokenKey, listTokenKeys, retireTokenKey, type TokenAlg } from '../../store/token-keys';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, shortTime, table } from '../format';
import { tokenKeyJson } from '../shapes';
import { applyLiveEffects, recheckEveryChannel } from '../../live/session-effects';
import { findUserById } from '../../store/users';
import { liveChannels } from '../../store/broadcasts';
import { requireUser } from '../resolve';
import { commitOnceShown } from '../stdio';

/** ES256 for a P-256 key, EdDSA for Ed25519; anything else is refused (one pinned algorithm per key). */
function algorithmOf(key: KeyObject): TokenAlg {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new UserError(
    `unsupported key type ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''}: use an EC P-256 (ES256) or Ed25519 (EdDSA) public key`,
  );
}

export function tokenCommand(ctx: CliContext): Command {
  const cmd = new Command('token').description('playback tokens (JWT): verification keys, and minting one by hand');

  cmd
    .command('secret')
    .description('create or rotate the HS256 secret the site signs tokens with (printed once); --show prints the current one')
    .option('--grace <duration>', 'keep the old secret verifying this long (default: the token-secret-grace setting)')
    .option('--show', 'print the current secret instead of rotating')
    .option('--json', 'print JSON (includes "secret")')
    .action(async (opts: { grace?: string; show?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const now = ctx.now();
      if (opts.show) {
        const current = currentSecret(db);
        if (!current) throw new UserError("no token secret yet: create one with 'streamctl token secret'");
        if (opts.json) return ctx.json(tokenKeyJson(current, now, current.material));
        return ctx.out(`${current.material}\n`);
      }
      const graceText = opts.grace ?? getSetting(db, 'token-secret-grace');
      const grace = parseDuration(graceText);
      if (grace === null) throw new UsageError(`invalid --grace "${graceText}": expected a duration such as 10m, 1h, 2d`);
      const { retired } = commitOnceShown(db, () => {
        const rotated = rotateTokenSecret(db, now, grace);
        recordAdmin(ctx, {
          action: 'token secret',
          reason: `new HS256 token secret #${rotated.id}; ${rotated.retired} old secret(s) ${rotated.retired > 0 && grace > 0 ? `verify for ${graceText}` : 'stopped'}`,
        });
        const oldUntil = rotated.retired > 0 ? isoTime(now + grace) : null;
        const made = listTokenKeys(db, now, true).find((k) => k.id === rotated.id)!;
        if (opts.json)
          ctx.json({ ...tokenKeyJson(made, now, rotated.secret), retired_secrets: rotated.retired, old_secrets_work_until: oldUntil });
        else {
          const old =
            rotated.retired === 0
              ? ''
              : grace > 0
                ? `the old secret keeps verifying tokens until ${oldUntil}\n`
                : 'the old secret stopped working\n';
          ctx.out(`HS256 token secret (shown once; put it in the site's configuration): ${rotated.secret}\n${old}`);
        }
        return rotated;
      });
      if (retired > 0 && grace === 0) await recheckEveryChannel(ctx, db, 'token secret rotated');
    });

  const key = cmd.command('key').description('public keys (ES256/EdDSA) for sites that keep the private key');
  key
    .command('add <pem-file>')
    .description('add a public key (PEM, SPKI); its algorithm is pinned from the key type')
    .option('--label <label>', 'name for the key', 'site')
    .option('--json', 'print JSON')
    .action((file: string, opts: { label: string; json?: boolean }) => {
      const problem = nameProblem(opts.label);
      if (problem) throw new UsageError(`invalid --label "${opts.label}": ${problem.replace('name', 'label')}`);
      let pem: string;
      try {
        pem = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (/PRIVATE KEY/.test(pem))
        throw new UserError(`${file} holds a private key: give the public key only (the site keeps the private one)`);
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey({ key: pem, format: 'pem' });
      } catch {
        throw new UserError(`${file} is not a PEM public key`);
      }
      const alg = algorithmOf(publicKey);
      const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const db = ctx.db();
      const now = ctx.now();
      const id = insertTokenKey(db, { kind: 'public', alg, material: spki, label: opts.label, now });
      recordAdmin(ctx, { action: 'token key add', reason: `added ${alg} public key #${id} "${opts.label}"` });
      if (opts.json) return ctx.json(tokenKeyJson({ id, kind: 'public', alg, label: opts.label, createdAt: now, retiredAt: null }, now));
      ctx.out(`added ${alg} public key #${id} "${opts.label}"\n`);
    });
  key
    .command('remove <id>')
    .description('stop accepting tokens verified by this key or secret, at once')
    .option('--json', 'print the retired key as JSON')
    .action(async (idText: string, opts: { json?: boolean }) => {
      if (!/^\d{1,9}$/.test(idText)) throw new UsageError(`invalid key id "${idText}" (see 'streamctl token list')`);
      const db = ctx.db();
      const now = ctx.now();
      if (!retireTokenKey(db, Number(idText), now)) throw new UserError(`no working token key #${idText} (see 'streamctl token list')`);
      recordAdmin(ctx, { action: 'token key remove', reason: `retired token key #${idText}` });
      const retired = listTokenKeys(db, now, true).find((k) => k.id === Number(idText));
      if (opts.json && retired) ctx.json(tokenKeyJson(retired, now));
      else ctx.out(`token key #${idText} retired\n`);
      await recheckEveryChannel(ctx, db, 'token key removed');
    });

  cmd
    .command('list')
    .description('list the keys that verify tokens (never the secrets)')
    .option('--all', 'include retired keys')
    .option('--json', 'print JSON')
    .action((opts: { all?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const now = ctx.now();
      const keys = listTokenKeys(db, now, opts.all === true);
      if (opts.json) return ctx.json(keys.map((k) => tokenKeyJson(k, now)));
      if (keys.length === 0) return ctx.out("no token keys (create a secret with 'streamctl token secret')\n");
      ctx.out(
        table(
          ['ID', 'KIND', 'ALG', 'LABEL', 'STATE', 'CREATED', 'RETIRED'],
          keys.map((k) => [
            String(k.id),
            k.kind,
            k.alg,
            k.label,
            tokenKeyJson(k, now).state,
            shortTime(k.createdAt),
            shortTime(k.retiredAt),
          ]),
        ),
      );
    });

  cmd
    .command('issue <channel>')
    .description('mint a playback token for a channel with the current HS256 secret (what the site does)')
    .requiredOption('--viewer <id>', "the viewer's id on the site (the sub claim)")
    .option('--ttl <duration>', 'lifetime (at most the token-max-ttl setting)', '1h')
    .option('--age-verified', 'the viewer is a verified adult (age_verified claim)')
    .option('--age <years>', 'verified age in years (age claim, with --age-verified)')
    .option('--ent <list>', 'entitlements, comma-separated (e.g. paid)')
    .option('--json', 'print JSON')
    .action(
      async (channel: string, opts: { viewer: string; ttl: string; ageVerified?: boolean; age?: string; ent?: string; json?: boolean }) => {
        const db = ctx.db();
        const user = requireUser(db, channel);
        const ttl = parseDuration(opts.ttl);
        if (ttl === null || ttl < 1000) throw new UsageError(`invalid --ttl "${opts.ttl}": expected a duration such as 15m, 1h`);
        const maxTtl = durationMs('token-max-ttl', getSetting(db, 'token-max-ttl'));
        if (ttl > maxTtl) throw new UserError(`--ttl ${opts.ttl} is longer than the token-max-ttl setting (${formatDuration(maxTtl)})`);
        // The verifier's own rules (src/access/viewer-id.ts): a token it would refuse is not minted.
        const viewerProblem = viewerIdProblem(opts.viewer);
        if (viewerProblem) throw new UsageError(`--viewer: ${viewerProblem}`);
        if (opts.age !== undefined && !(/^\d{1,3}$/.test(opts.age) && isClaimAge(Number(opts.age)) && opts.ageVerified))
          throw new UsageError('--age takes whole years (0 to 199) and needs --age-verified');
        const secret = currentSecret(db);
        if (!secret) throw new UserError("no token secret yet: create one with 'streamctl token secret'");
        const claims: Record<string, unknown> = {};
        if (opts.ageVerified) claims.age_verified = true;
        if (opts.age !== undefined) claims.age = Number(opts.age);
        if (opts.ent !== undefined)
          claims.ent = opts.ent
            .split(',')
            .map((e) => e.trim())
            .filter(Boolean);
        const now = ctx.now();
        const exp = Math.floor((now + ttl) / 1000);
        // The token's id, for `token revoke`: 16 random bytes, unique without asking the database.
        const jti = randomBytes(16).toString('base64url');
        const jose = loadJose();
        const token = await new jose.SignJWT(claims)
          .setJti(jti)
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(opts.viewer)
          .setAudience(user.name)
          .setIssuedAt(Math.floor(now / 1000))
          .setExpirationTime(exp)
          .sign(new TextEncoder().encode(secret.material));
        if (opts.json) return ctx.json({ channel: user.name, viewer: opts.viewer, expires_at: isoTime(exp * 1000), jti, token });
        ctx.out(`${token}\n`);
      },
    );

  cmd
    .command('revoke <jti>')
    .description('refuse the token with this id (its jti claim) from now on, and stop the sessions it admitted')
    .option('--json', 'print JSON')
    .action(async (jti: string, opts: { json?: boolean }) => {
      const problem = jtiProblem(jti);
      if (problem) throw new UsageError(`invalid token id: ${problem}`);
      const db = ctx.db();
      const now = ctx.now();
      const r = revokeTokenId(db, jti, now);
      // The jti names the token without being it: a revoked id admits nobody, so it is no secret.
      recordAdmin(ctx, {
        action: 'token revoke',
        reason: `revoked token ${jti} (kept until ${isoTime(r.revoked.until)}); ${r.stopped.length} session(s) stopped`,
        detail: jti,
      });
      if (opts.json) {
        ctx.json({
          jti,
          revoked_at: isoTime(r.revoked.revokedAt),
          until: isoTime(r.revoked.until),
          until_from: r.untilFrom,
          sessions_stopped: r.stopped.length,
        });
      } else {
        ctx.out(
          `token ${JSON.stringify(jti)} revoked (kept until ${isoTime(r.revoked.until)}${r.untilFrom === 'token-max-ttl' ? ', token-max-ttl: no session showed its exp' : ''}); ${r.stopped.length} session(s) stopped\n`,
        );
      }
      // The sessions it is known to have admitted stop now; every live channel is re-checked as well,
      // for a session admitted without a row (a busy database) or on a VoD stream.
      const stops = r.stopped.map((s) => ({
        kind: 'stop-session' as const,
        user: findUserById(db, s.userId)?.name ?? '',
        stream: s.stream,
        sessionId: s.sessionId,
        reason: 'token revoked',
      }));
      const rechecks = liveChannels(db).map((c) => ({ kind: 'recheck-viewers' as const, user: c.userName, reason: 'token revoked' }));
      await applyLiveEffects(ctx, [...stops, ...rechecks]);
    });

  return cmd;
}
