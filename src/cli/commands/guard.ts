// `streamctl guard list|clear|allow`: the push brute-force guard for operators. A source (an IPv4
// address or an IPv6 /64) with push-guard-failures refused pushes inside push-guard-window is
// refused without a key lookup; a broadcaster's successful push does not reset the count (it
// would let an attacker who shares the address go on guessing). Behind a shared NAT or for a
// restreamer, allowlist the address or range; after a broadcaster's own typos, clear it.
import { Command } from 'commander';
import { UserError } from '../../lib/errors';
import { guardSource, UNKNOWN_SOURCE } from '../../ingest/guard-source';
import { formatRange, parseRange } from '../../lib/ip';
import { addGuardAllow, clearPushFailures, listGuardAllow, listPushFailureSources, removeGuardAllow } from '../../store/push-guard';
import { durationMs, getSettings } from '../../store/settings';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, shortTime, table } from '../format';

/** The source an operator means: an address (IPv6: any address of the /64), the /64 itself, or "unknown". */
function sourceOf(text: string): string {
  if (text.trim() === UNKNOWN_SOURCE) return UNKNOWN_SOURCE;
  const range = parseRange(text);
  const single = range !== null && range.bits === 128;
  const whole64 = range !== null && !range.v4 && range.bits === 64;
  if (!single && !whole64) throw new UserError(`invalid address "${text}": expected an IPv4 address, an IPv6 address or /64, or "unknown"`);
  return whole64 ? formatRange(range) : guardSource(formatRange(range));
}

/** A note as stored: one line, at most 200 characters, null when empty. */
function cleanNote(note: string | undefined): string | null {
  return (
    note
      ?.replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200) || null
  );
}

export function guardCommand(ctx: CliContext): Command {
  const cmd = new Command('guard').description('the push brute-force guard: blocked addresses, clearing them, and an allowlist');

  cmd
    .command('list')
    .description('sources (IPv4 address or IPv6 /64) with refused pushes inside push-guard-window, and the allowlist')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const db = ctx.db();
      const now = ctx.now();
      const settings = getSettings(db, ['push-guard-failures', 'push-guard-window']);
      const limit = Number(settings['push-guard-failures']);
      const sources = listPushFailureSources(db, now - durationMs('push-guard-window', settings['push-guard-window']));
      const allow = listGuardAllow(db);
      if (opts.json) {
        return ctx.json({
          limit,
          window: settings['push-guard-window'],
          sources: sources.map((s) => ({
            source: s.source,
            failures: s.failures,
            blocked: s.failures >= limit,
            first_at: isoTime(s.firstAt),
            last_at: isoTime(s.lastAt),
            last_ip: s.lastIp,
          })),
          allow: allow.map((a) => ({ cidr: a.cidr, note: a.note, created_at: isoTime(a.createdAt) })),
        });
      }
      ctx.out(`a source with ${limit} refused pushes within ${settings['push-guard-window']} is blocked\n`);
      if (sources.length === 0) ctx.out('no refused pushes in the window\n');
      else {
        ctx.out(
          table(
            ['SOURCE', 'FAILURES', 'STATE', 'LAST', 'LAST ADDRESS'],
            sources.map((s) => [s.source, String(s.failures), s.failures >= limit ? 'blocked' : 'counting', shortTime(s.lastAt), s.lastIp]),
          ),
        );
      }
      if (allow.length === 0) return ctx.out('allowlist: empty\n');
      ctx.out(
        'allowlist (never blocked):\n' +
          table(
            ['RANGE', 'ADDED', 'NOTE'],
            allow.map((a) => [a.cidr, shortTime(a.createdAt), a.note ?? '']),
          ),
      );
    });

  cmd
    .command('clear [address]')
    .description('forget the refused pushes of an address (IPv6: its /64), or of every source with --all')
    .option('--all', 'every source')
    .option('--json', 'print JSON')
    .action((address: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      if ((address === undefined) === (opts.all !== true)) throw new UserError('give an address or --all (not both)');
      const source = opts.all ? null : sourceOf(address!);
      const n = clearPushFailures(ctx.db(), source);
      if (n > 0) recordAdmin(ctx, { action: 'guard clear', reason: `cleared ${n} refused push(es) of ${source ?? 'every source'}` });
      if (opts.json) return ctx.json({ source, cleared: n });
      ctx.out(`cleared ${n} refused push(es) of ${source ?? 'every source'}\n`);
    });

  cmd
    .command('allow [range]')
    .description('never block an address or CIDR range (a shared NAT, a restreamer); --remove takes it off again')
    .option('--note <text>', 'why, for operators')
    .option('--remove', 'remove the range from the allowlist')
    .option('--json', 'print JSON')
    .action((text: string | undefined, opts: { note?: string; remove?: boolean; json?: boolean }) => {
      if (text === undefined) throw new UserError('give an address or CIDR range, e.g. 203.0.113.0/24 or 2001:db8::/48');
      const range = parseRange(text);
      if (!range) throw new UserError(`invalid range "${text}": expected an IPv4/IPv6 address or CIDR range`);
      const cidr = formatRange(range);
      const db = ctx.db();
      if (opts.remove) {
        if (!removeGuardAllow(db, cidr)) throw new UserError(`${cidr} is not on the allowlist (see 'streamctl guard list')`);
        recordAdmin(ctx, { action: 'guard allow', reason: `${cidr} removed from the allowlist`, detail: cidr });
        if (opts.json) return ctx.json({ cidr, removed: true });
        return ctx.out(`${cidr} removed from the allowlist\n`);
      }
      const note = cleanNote(opts.note);
      addGuardAllow(db, { cidr, note, now: ctx.now() });
      recordAdmin(ctx, { action: 'guard allow', reason: `${cidr} allowlisted${note ? ` (${note})` : ''}`, detail: cidr });
      if (opts.json) return ctx.json({ cidr, note, removed: false });
      ctx.out(`${cidr} allowlisted: the push guard never blocks it\n`);
    });

  return cmd;
}
