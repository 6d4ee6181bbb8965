// `streamctl sync [file]`: the site's users, channel policies, grants and bans, made true in one
// transaction from a JSON document (schemas/sync-input.schema.json). The logic is src/site/sync.ts.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { oneLine, UserError } from '../../lib/errors';
import { syncSite, type SyncChange, type SyncReport } from '../../site/sync';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { applyLiveEffects } from '../../live/session-effects';
import { StdioError } from '../stdio';

function readInput(ctx: CliContext, file: string | undefined): unknown {
  const from = file === undefined || file === '-' ? 'stdin' : file;
  let text: string;
  if (from === 'stdin') text = ctx.readStdin('reading the sync document from stdin (Ctrl-D to end):\n');
  else {
    try {
      text = readFileSync(from, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read ${from}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${from} is not JSON: ${oneLine(err)}`);
  }
}

function describe(c: SyncChange): string {
  const fields = (f: Record<string, { from: unknown; to: unknown }>) =>
    Object.entries(f)
      .map(([k, v]) => `${k} ${JSON.stringify(v.from)} -> ${JSON.stringify(v.to)}`)
      .join(', ');
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

const counts = (report: SyncReport) =>
  Object.entries(report.summary)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace('_', ' ')} ${n}`);

export function syncCommand(ctx: CliContext): Command {
  return new Command('sync')
    .description(
      "make users, channel policies, grants and the site's bans match a JSON document (file, or - / none for stdin), in one transaction",
    )
    .argument('[file]', 'the sync document (schemas/sync-input.schema.json); - or none: stdin')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--json', 'print the report as JSON (includes the keys of created users)')
    .action(async (file: string | undefined, opts: { dryRun?: boolean; json?: boolean }) => {
      const input = readInput(ctx, file);
      const db = ctx.db();
      // A report with the keys of created users is written before the commit: when stdout fails,
      // nothing is changed and no key is lost. Any other report is written after the commit, so a
      // big one (600,000 grant changes) is not written while the sync holds the write lock. The
      // admin event commits with the change.
      const hasKeys = (report: SyncReport) => report.changes.some((c) => c.object === 'user' && c.action === 'create');
      let shown = false;
      const print = (report: SyncReport) => {
        shown = true;
        if (opts.json) return ctx.json(report);
        const prefix = report.dry_run ? 'would ' : '';
        let text = '';
        for (const c of report.changes) {
          text += `${prefix}${describe(c)}\n`;
          if (c.object === 'user' && c.action === 'create' && c.key)
            text += `  stream key "${c.key_label}" of ${c.user} (shown once, store it now): ${c.key}\n`;
        }
        ctx.out(`${text}${report.dry_run ? 'dry run: ' : ''}${counts(report).length ? counts(report).join(', ') : 'nothing to change'}\n`);
      };
      const beforeCommit = (report: SyncReport) => {
        if (!report.dry_run && counts(report).length > 0) recordAdmin(ctx, { action: 'sync', reason: counts(report).join(', ') });
        if (report.dry_run || hasKeys(report)) print(report);
      };
      let report: SyncReport;
      try {
        report = syncSite(db, input, { now: ctx.now(), dryRun: opts.dryRun === true, beforeCommit });
      } catch (err) {
        if (err instanceof StdioError && err.stream === 'stdout')
          throw new StdioError('stdout', err.code, 'nothing was changed: the keys of new users could not be shown');
        throw err;
      }
      if (!shown) {
        try {
          print(report);
        } catch (err) {
          if (err instanceof StdioError && err.stream === 'stdout')
            throw new StdioError('stdout', err.code, 'the changes were made; only the report could not be written');
          throw err;
        }
      }
      if (!report.dry_run) await applyLiveEffects(ctx, report.live_effects);
    });
}
