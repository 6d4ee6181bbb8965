// `streamctl sync [file]`: the site's users, channel policies, grants and bans, made true in one
// transaction from a JSON document (schemas/sync-input.schema.json). The logic is src/site/sync.ts.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { oneLine, UserError } from '../../lib/errors';
import { syncSite, type SyncChange } from '../../site/sync';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { applyLiveEffects } from '../live-effects';

function readInput(ctx: CliContext, file: string | undefined): unknown {
  const from = file === undefined || file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = from === 'stdin' ? ctx.readStdin('reading the sync document from stdin (Ctrl-D to end):\n') : readFileSync(from, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${from}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${from} is not JSON: ${oneLine(err)}`);
  }
}

function describe(c: SyncChange): string {
  const fields = (f: Record<string, { from: unknown; to: unknown }>) =>
    Object.entries(f).map(([k, v]) => `${k} ${JSON.stringify(v.from)} -> ${JSON.stringify(v.to)}`).join(', ');
  switch (c.object) {
    case 'user':
      return c.action === 'create' ? `create user ${c.user}` : `update user ${c.user}: ${fields(c.fields)}`;
    case 'channel':
      return `update channel ${c.user}: ${fields(c.fields)}`;
    case 'grant':
      return `${c.action} grant ${c.viewer} on ${c.user}${c.action !== 'remove' && c.until ? ` until ${c.until}` : ''}`;
    case 'ban':
      return `${c.action} ban ${c.kind} ${c.value} on ${c.channel ?? 'every channel'}${c.action !== 'remove' && c.until ? ` until ${c.until}` : ''}`;
  }
}

export function syncCommand(ctx: CliContext): Command {
  return new Command('sync')
    .description("make users, channel policies, grants and the site's bans match a JSON document (file, or - / none for stdin), in one transaction")
    .argument('[file]', 'the sync document (schemas/sync-input.schema.json); - or none: stdin')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--json', 'print the report as JSON (includes the keys of created users)')
    .action(async (file: string | undefined, opts: { dryRun?: boolean; json?: boolean }) => {
      const input = readInput(ctx, file);
      const db = ctx.db();
      const report = syncSite(db, input, { now: ctx.now(), dryRun: opts.dryRun === true });
      const counts = Object.entries(report.summary).filter(([, n]) => n > 0).map(([k, n]) => `${k.replace('_', ' ')} ${n}`);
      if (!report.dry_run && counts.length > 0) recordAdmin(ctx, { action: 'sync', reason: counts.join(', ') });
      if (opts.json) ctx.json(report);
      else {
        const prefix = report.dry_run ? 'would ' : '';
        for (const c of report.changes) {
          ctx.out(`${prefix}${describe(c)}\n`);
          if (c.object === 'user' && c.action === 'create' && c.key) ctx.out(`  stream key "${c.key_label}" of ${c.user} (shown once, store it now): ${c.key}\n`);
        }
        ctx.out(`${report.dry_run ? 'dry run: ' : ''}${counts.length ? counts.join(', ') : 'nothing to change'}\n`);
      }
      if (!report.dry_run) await applyLiveEffects(ctx, report.live_effects);
    });
}
