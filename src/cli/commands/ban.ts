// `streamctl ban ...`: bans by viewer id or address/CIDR, on one channel or all. Bans win over any
// token or grant.
import { Command } from 'commander';
import { UsageError, UserError } from '../../lib/errors';
import { formatRange, parseRange } from '../../lib/ip';
import { checkViewerId } from '../../access/viewer-id';
import { deleteBan, findBan, insertBan, listBans, type Ban } from '../../store/bans';
import type { Db } from '../../store/open';
import { liveChannels } from '../../store/broadcasts';
import { channelsWithOpenSessions } from '../../store/viewer-sessions';
import { findUserById } from '../../store/users';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, shortTime, table } from '../format';
import { banJson } from '../shapes';
import { parseUntil } from '../input';
import { applyLiveEffects, type LiveEffect } from '../../live/session-effects';
import { requireUser } from '../resolve';

/** Re-check the viewers a ban affects: its channel, or every channel watched now for a global ban. */
async function recheckFor(ctx: CliContext, db: Db, b: Ban, reason: string): Promise<void> {
  // A global ban also reaches live channels without recorded sessions: open channels admit viewers without USER_NEW.
  const ids = b.userName !== null ? [] : [...new Set([...channelsWithOpenSessions(db), ...liveChannels(db).map((c) => c.userId)])];
  const names = b.userName !== null ? [b.userName] : ids.map((id) => findUserById(db, id)?.name);
  const effects: LiveEffect[] = names
    .filter((n): n is string => n !== undefined)
    .map((user) => ({ kind: 'recheck-viewers', user, reason }));
  if (effects.length) await applyLiveEffects(ctx, effects);
}

/** A ban in words: what it bans, where. */
function describeBan(b: Ban): string {
  return `${b.kind} ${b.value} on ${b.userName ?? 'every channel'}`;
}

export function banCommand(ctx: CliContext): Command {
  const cmd = new Command('ban').description('ban viewers by id or address, on one channel or everywhere');

  cmd
    .command('add')
    .description('ban a viewer id (--viewer) or an address or CIDR range (--ip); global unless --channel')
    .option('--viewer <id>', "the site's viewer id (a token's sub)")
    .option('--ip <address>', 'an IPv4/IPv6 address or CIDR range, e.g. 203.0.113.0/24, 2001:db8::/32')
    .option('--channel <user>', 'only on this channel')
    .option('--until <time>', 'end of the ban: a duration (7d) or a time (2027-01-31T00:00:00Z)')
    .option('--reason <text>', 'a note for operators')
    .option('--json', 'print JSON')
    .action(async (opts: { viewer?: string; ip?: string; channel?: string; until?: string; reason?: string; json?: boolean }) => {
      if ((opts.viewer === undefined) === (opts.ip === undefined))
        throw new UsageError('give exactly one of --viewer <id> or --ip <address>');
      let value: string;
      if (opts.viewer !== undefined) {
        checkViewerId(opts.viewer);
        value = opts.viewer;
      } else {
        const range = parseRange(opts.ip!);
        if (!range) throw new UsageError(`invalid --ip "${opts.ip}": expected an IPv4/IPv6 address or CIDR range`);
        value = formatRange(range);
      }
      const reason = opts.reason?.replace(/\s+/g, ' ').trim().slice(0, 200) || null;
      const db = ctx.db();
      const now = ctx.now();
      const user = opts.channel !== undefined ? requireUser(db, opts.channel) : null;
      const until = opts.until === undefined ? null : parseUntil(opts.until, now);
      if (until !== null && until <= now) throw new UsageError('invalid --until: it is in the past');
      const ban = insertBan(db, { userId: user?.id ?? null, kind: opts.viewer !== undefined ? 'viewer' : 'ip', value, reason, until, now });
      recordAdmin(ctx, {
        action: 'ban add',
        userId: user?.id ?? null,
        reason: `ban #${ban.id}: ${describeBan(ban)}${until === null ? '' : ` until ${isoTime(until)}`}${reason ? ` (${reason})` : ''}`,
        detail: ban.value,
      });
      if (opts.json) ctx.json(banJson(ban, now));
      else
        ctx.out(
          `ban #${ban.id}: ${ban.kind} ${ban.value} on ${user ? user.name : 'every channel'}${until === null ? '' : ` until ${isoTime(until)}`}\n`,
        );
      await recheckFor(ctx, db, ban, 'ban added');
    });

  cmd
    .command('list')
    .description('list bans in force (a channel: its own and the global ones)')
    .option('--channel <user>', 'only bans that apply to this channel')
    .option('--all', 'include expired bans')
    .option('--json', 'print JSON')
    .action((opts: { channel?: string; all?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const now = ctx.now();
      const user = opts.channel !== undefined ? requireUser(db, opts.channel) : undefined;
      const bans = listBans(db, { userId: user?.id, withGlobal: true, now, includeExpired: opts.all === true });
      if (opts.json) return ctx.json(bans.map((b) => banJson(b, now)));
      if (bans.length === 0) return ctx.out('no bans\n');
      ctx.out(
        table(
          ['ID', 'CHANNEL', 'KIND', 'VALUE', 'UNTIL', 'REASON'],
          bans.map((b) => [
            String(b.id),
            b.userName ?? '(all)',
            b.kind,
            b.value,
            b.until === null ? '-' : shortTime(b.until),
            b.reason ?? '',
          ]),
        ),
      );
    });

  cmd
    .command('remove <id>')
    .description('lift a ban')
    .option('--json', 'print the lifted ban as JSON (as it was)')
    .action(async (idText: string, opts: { json?: boolean }) => {
      if (!/^\d{1,9}$/.test(idText)) throw new UsageError(`invalid ban id "${idText}" (see 'streamctl ban list')`);
      const db = ctx.db();
      const ban = findBan(db, Number(idText));
      if (!ban || !deleteBan(db, ban.id)) throw new UserError(`no ban #${idText} (see 'streamctl ban list')`);
      recordAdmin(ctx, {
        action: 'ban remove',
        userId: ban.userId,
        reason: `lifted ban #${ban.id}: ${describeBan(ban)}`,
        detail: ban.value,
      });
      if (opts.json) ctx.json(banJson(ban, ctx.now()));
      else ctx.out(`ban #${ban.id} lifted\n`);
      // Lifting a ban admits no one by itself (refused sessions are cached by MistServer for ~10
      // minutes), but a re-check is harmless and keeps the rule simple: any change, re-check.
      await recheckFor(ctx, db, ban, 'ban removed');
    });

  return cmd;
}
