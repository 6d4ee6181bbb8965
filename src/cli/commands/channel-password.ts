// `streamctl channel password|check-password`: the password of a password-protected channel.
// Passwords travel on stdin only; the stored form is a slow salted hash (src/access/password.ts).
import type { Command } from 'commander';
import { UserError } from '../../lib/errors';
import { hashPassword, verifyPassword } from '../../access/password';
import { getChannel, updateChannel } from '../../store/channels';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { readSecretFromStdin } from '../input';
import { channelJson } from '../shapes';
import { applyLiveEffects } from '../../live/session-effects';
import { requireUser } from '../resolve';

const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** Adds `password` and `check-password` to the `channel` command. */
export function addChannelPasswordCommands(cmd: Command, ctx: CliContext): void {
  cmd
    .command('password <user>')
    .description('set the channel password from stdin (e.g. printf %s "$PW" | streamctl channel password alice)')
    .option('--clear', 'remove the password (a password channel then admits nobody)')
    .option('--json', 'print the channel as JSON')
    .action(async (name: string, opts: { clear?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      if (opts.clear) {
        const had = getChannel(db, user.id)?.passwordHash != null;
        const channel = updateChannel(db, user.id, { passwordHash: null }, ctx.now());
        if (had) recordAdmin(ctx, { action: 'channel password', userId: user.id, reason: `removed the password of ${user.name}` });
        if (opts.json) ctx.json(channelJson(user.name, channel));
        else ctx.out(`password of ${user.name} removed\n`);
        if (had && channel.access === 'password')
          await applyLiveEffects(ctx, [{ kind: 'recheck-viewers', user: user.name, reason: 'channel password removed' }]);
        return;
      }
      const password = readSecretFromStdin(ctx, 'password');
      if (password.length < MIN_PASSWORD_LENGTH)
        throw new UserError(`the password is too short (at least ${MIN_PASSWORD_LENGTH} characters)`);
      if (password.length > MAX_PASSWORD_LENGTH)
        throw new UserError(`the password is too long (at most ${MAX_PASSWORD_LENGTH} characters)`);
      const channel = updateChannel(db, user.id, { passwordHash: hashPassword(password) }, ctx.now());
      recordAdmin(ctx, { action: 'channel password', userId: user.id, reason: `set the password of ${user.name}` });
      if (opts.json) return ctx.json(channelJson(user.name, channel));
      ctx.out(
        `password of ${user.name} set${channel.access === 'password' ? '' : ` (access is ${channel.access}: use --access password to require it)`}\n`,
      );
    });

  cmd
    .command('check-password <user>')
    .description('check a password given on stdin: exit 0 when it matches, 1 when not (for sites that shell out)')
    .option('--json', 'print {"user", "match"} as JSON (exit 1 still means no match)')
    .action((name: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const password = readSecretFromStdin(ctx, 'password');
      const stored = getChannel(db, user.id)?.passwordHash ?? null;
      if (stored === null) throw new UserError(`${user.name} has no channel password`);
      const match = password.length <= MAX_PASSWORD_LENGTH && verifyPassword(password, stored);
      // A wrong password is an answer, not a failure: exit 1, and no error line in JSON mode.
      if (opts.json) {
        ctx.json({ user: user.name, match });
        if (!match) ctx.answerNo();
        return;
      }
      if (!match) throw new UserError('wrong password');
      ctx.out('ok\n');
    });
}
