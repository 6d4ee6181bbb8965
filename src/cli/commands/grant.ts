// `streamctl grant ...`: viewers entitled to a paid channel, or on a private channel's allow list.
import { Command } from 'commander';
import { UsageError, UserError } from '../../lib/errors';
import { printable } from '../../lib/names';
import { checkViewerId } from '../../access/viewer-id';
import { deleteGrant, listGrants, upsertGrant } from '../../store/grants';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, shortTime, table } from '../format';
import { grantJson } from '../shapes';
import { parseUntil } from '../input';
import { applyLiveEffects } from '../../live/session-effects';
import { requireUser } from '../resolve';

export function grantCommand(ctx: CliContext): Command {
  const cmd = new Command('grant').description('viewers allowed on paid and private channels');

  cmd
    .command('add <user> <viewer>')
    .description("let a viewer (the site's viewer id) watch the channel; adding again changes --until")
    .option('--until <time>', 'end of the grant: a duration (30d) or a time (2027-01-31T00:00:00Z)')
    .option('--json', 'print the grant as JSON')
    .action((name: string, viewer: string, opts: { until?: string; json?: boolean }) => {
      checkViewerId(viewer);
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const until = opts.until === undefined ? null : parseUntil(opts.until, now);
      if (until !== null && until <= now) throw new UsageError('invalid --until: it is in the past');
      upsertGrant(db, { userId: user.id, viewer, until, now });
      recordAdmin(ctx, {
        action: 'grant add',
        userId: user.id,
        reason: `${viewer} may watch ${user.name}${until === null ? '' : ` until ${isoTime(until)}`}`,
        detail: viewer,
      });
      const grant = listGrants(db, user.id, now, true).find((g) => g.viewer === viewer);
      if (opts.json && grant) return ctx.json(grantJson(user.name, grant, now));
      ctx.out(`${viewer} may watch ${user.name}${until === null ? '' : ` until ${isoTime(until)}`}\n`);
    });

  cmd
    .command('list <user>')
    .description("list a channel's grants")
    .option('--all', 'include expired grants')
    .option('--json', 'print JSON')
    .action((name: string, opts: { all?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const grants = listGrants(db, user.id, now, opts.all === true);
      if (opts.json) return ctx.json(grants.map((g) => grantJson(user.name, g, now)));
      if (grants.length === 0) return ctx.out(`${user.name} has no grants\n`);
      ctx.out(
        table(
          ['VIEWER', 'UNTIL', 'CREATED'],
          grants.map((g) => [g.viewer, g.until === null ? '-' : shortTime(g.until), shortTime(g.createdAt)]),
        ),
      );
    });

  cmd
    .command('remove <user> <viewer>')
    .description('take a grant away (open sessions are re-checked)')
    .option('--json', 'print the removed grant as JSON (as it was)')
    .action(async (name: string, viewer: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const grant = listGrants(db, user.id, now, true).find((g) => g.viewer === viewer);
      if (!grant || !deleteGrant(db, user.id, viewer))
        throw new UserError(`${user.name} has no grant for "${printable(viewer.slice(0, 40))}" (see 'streamctl grant list ${user.name}')`);
      recordAdmin(ctx, {
        action: 'grant remove',
        userId: user.id,
        reason: `removed the grant of ${viewer} on ${user.name}`,
        detail: viewer,
      });
      if (opts.json) ctx.json(grantJson(user.name, grant, now));
      else ctx.out(`removed the grant of ${viewer} on ${user.name}\n`);
      await applyLiveEffects(ctx, [{ kind: 'recheck-viewers', user: user.name, reason: 'grant removed' }]);
    });

  return cmd;
}
