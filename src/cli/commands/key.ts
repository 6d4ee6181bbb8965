// `streamctl key ...`: stream keys. A key is shown once, when made; only its digest is stored.
import { Command } from 'commander';
import { parseDuration } from '../../lib/duration';
import { UsageError } from '../../lib/errors';
import { addKey, revokeKey, rotateKeys } from '../../ingest/keys';
import { nameProblem } from '../../lib/names';
import { keyWorksAt, listKeys, type StreamKey } from '../../store/keys';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, newKeyMessage, shortTime, table } from '../format';
import { keyJson } from '../shapes';
import { applyLiveEffects } from '../../live/session-effects';
import { requireUser } from '../resolve';
import { commitOnceShown } from '../stdio';

function checkLabel(label: string): void {
  const problem = nameProblem(label);
  if (problem) throw new UsageError(`invalid key label "${label}": ${problem.replace('name', 'label')}`);
}

/** State of a key at `now`, for people. */
function keyState(k: StreamKey, now: number): string {
  if (k.revokedAt === null) return 'active';
  return keyWorksAt(k.revokedAt, now) ? `grace until ${shortTime(k.revokedAt)}` : 'revoked';
}

export function keyCommand(ctx: CliContext): Command {
  const cmd = new Command('key').description("manage users' stream keys");

  cmd
    .command('rotate <name>')
    .description('make a new key and revoke the old ones (new key printed once)')
    .option('--grace <duration>', 'keep the old keys working this long (e.g. 10m, 1h, 2d)')
    .option('--label <label>', 'label of the new key (label-2, -3, ... while an old key in its grace holds it)', 'default')
    .option('--json', 'print the new key as JSON (with the key itself in "key")')
    .action(async (name: string, opts: { grace?: string; label: string; json?: boolean }) => {
      checkLabel(opts.label);
      const grace = opts.grace === undefined ? 0 : parseDuration(opts.grace);
      if (grace === null) throw new UsageError(`invalid --grace "${opts.grace}": expected a duration such as 10m, 1h, 2d`);
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const until = grace > 0 ? isoTime(now + grace) : null;
      // The old keys are revoked only once the new one has been written out.
      const result = commitOnceShown(db, () => {
        const rotated = rotateKeys(db, user.id, opts.label, now, grace);
        recordAdmin(ctx, {
          action: 'key rotate',
          userId: user.id,
          reason: `new stream key "${rotated.stored.label}" for ${user.name}; ${rotated.revoked} old key(s) ${grace > 0 ? `work for ${opts.grace}` : 'revoked'}`,
        });
        if (opts.json) {
          ctx.json({ ...keyJson(user.name, rotated.stored, now, rotated.key), revoked_keys: rotated.revoked, old_keys_work_until: until });
        } else {
          ctx.out(
            newKeyMessage(rotated.key, rotated.stored.label) +
              (rotated.revoked === 0
                ? 'no old keys to revoke\n'
                : grace > 0
                  ? `${rotated.revoked} old key(s) keep working until ${until}\n`
                  : `${rotated.revoked} old key(s) revoked\n`),
          );
        }
        return rotated;
      });
      if (grace === 0 && result.revoked > 0) {
        await applyLiveEffects(ctx, [{ kind: 'stop-publisher', user: user.name, reason: 'stream key rotated' }]);
      }
    });

  cmd
    .command('add <name>')
    .description('add another key (e.g. for a backup encoder); printed once')
    .requiredOption('--label <label>', "name for this key, unique among the user's working keys")
    .option('--json', 'print the new key as JSON (with the key itself in "key")')
    .action((name: string, opts: { label: string; json?: boolean }) => {
      checkLabel(opts.label);
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      commitOnceShown(db, () => {
        const result = addKey(db, user, opts.label, now);
        recordAdmin(ctx, { action: 'key add', userId: user.id, reason: `added stream key "${result.stored.label}" for ${user.name}` });
        if (opts.json) ctx.json(keyJson(user.name, result.stored, now, result.key));
        else ctx.out(newKeyMessage(result.key, result.stored.label));
      });
    });

  cmd
    .command('list <name>')
    .description("list a user's keys (never the keys themselves)")
    .option('--all', 'include revoked keys')
    .option('--json', 'print JSON')
    .action((name: string, opts: { all?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const keys = listKeys(db, user.id, now, opts.all === true);
      if (opts.json) return ctx.json(keys.map((k) => keyJson(user.name, k, now)));
      if (keys.length === 0) return ctx.out(`${user.name} has no working keys (make one with 'streamctl key rotate ${user.name}')\n`);
      ctx.out(
        table(
          ['LABEL', 'PREFIX', 'STATE', 'CREATED', 'LAST USED', 'LAST IP'],
          keys.map((k) => [k.label, `${k.hint}…`, keyState(k, now), shortTime(k.createdAt), shortTime(k.lastUsedAt), k.lastIp ?? '-']),
        ),
      );
    });

  cmd
    .command('revoke <name> <label-or-prefix>')
    .description("revoke one key at once (including one in its rotation grace), named by its label or the prefix 'key list' shows")
    .option('--json', 'print the revoked key as JSON')
    .action(async (name: string, which: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const revoked = revokeKey(db, user, which, now);
      recordAdmin(ctx, {
        action: 'key revoke',
        userId: user.id,
        reason: `revoked stream key "${revoked.label}" (${revoked.hint}…) of ${user.name}`,
      });
      if (opts.json) ctx.json(keyJson(user.name, revoked, now));
      else ctx.out(`revoked key "${revoked.label}" (${revoked.hint}…) of ${user.name}\n`);
      await applyLiveEffects(ctx, [{ kind: 'stop-publisher', user: user.name, reason: `stream key "${revoked.label}" revoked` }]);
    });

  return cmd;
}
