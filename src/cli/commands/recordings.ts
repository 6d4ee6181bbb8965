// `streamctl recordings ...`: the catalogue of recorded broadcasts, playable as <vod-base>+<id>.
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { formatDuration, parseDuration } from '../../lib/duration';
import { UserError } from '../../lib/errors';
import { parseRecordingId } from '../../recordings/recording-id';
import { isUnderRoot } from '../../recordings/recording-path';
import { formatSize, parseSize } from '../../lib/size';
import { channelsWithOwnRetention } from '../../store/channels';
import type { Db } from '../../store/open';
import { findRecording, iterateRecordings, setRecordingPinned, type Recording } from '../../store/recordings';
import { getSetting, getSettings } from '../../store/settings';
import { executePrune, planPrune, type PruneItem } from '../../recordings/prune';
import { removeRecordings } from '../../recordings/remove';
import { requireRecordingsRoot } from '../../recordings/root';
import { scanRecordings } from '../../recordings/scan';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { isoTime, shortTime, table } from '../format';
import { recordingJson } from '../shapes';
import { progressBar } from '../progress';
import { requireUser } from '../resolve';

const DEFAULT_LIST_LIMIT = 100;
/** Output is written in chunks of about this many characters, so a million rows stream. */
const OUT_CHUNK = 64 * 1024;

function listLimit(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('expected a whole number above 0');
  return Number(value);
}

function requireRecording(db: Db, idText: string): Recording {
  const id = parseRecordingId(idText);
  const rec = id === null ? undefined : findRecording(db, id);
  if (!rec) throw new UserError(`no recording "${idText.slice(0, 40)}" (see 'streamctl recordings list')`);
  return rec;
}

function statusText(r: Recording): string {
  return r.deletingAt !== null ? 'deleting' : r.status;
}

function retentionOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === null || ms === 0) throw new InvalidArgumentError('expected a duration such as 30d');
  return ms;
}

function sizeOption(value: string): number {
  const bytes = parseSize(value);
  if (bytes === null || bytes === 0) throw new InvalidArgumentError('expected a size such as 500G');
  return bytes;
}

export function recordingsCommand(ctx: CliContext): Command {
  const cmd = new Command('recordings').description('recorded broadcasts: list, play as <vod-base>+<id>, pin, delete, prune');

  cmd
    .command('list [user]')
    .description('recordings, newest first')
    .option('--limit <n>', `how many (default ${DEFAULT_LIST_LIMIT})`, listLimit)
    .option('--all', 'every recording (streams the output; no limit)')
    .option('--before <id>', 'the page after this recording (keyset pagination)')
    .option('--json', 'print JSON (an array, one recording per line)')
    .action((user: string | undefined, opts: { limit?: number; all?: boolean; before?: string; json?: boolean }) => {
      if (opts.all && opts.limit !== undefined) throw new UserError('give --limit or --all, not both');
      const db = ctx.db();
      const userId = user === undefined ? undefined : requireUser(db, user).id;
      const before = opts.before === undefined ? undefined : requireRecording(db, opts.before);
      const limit = opts.all ? null : (opts.limit ?? DEFAULT_LIST_LIMIT);
      const rows = iterateRecordings(db, { userId, limit, before: before && { startedAt: before.startedAt, id: before.id } });
      let buffer = '';
      const write = (text: string) => {
        buffer += text;
        if (buffer.length >= OUT_CHUNK) {
          ctx.out(buffer);
          buffer = '';
        }
      };
      let count = 0;
      let last: Recording | undefined;
      if (opts.json) {
        const vodBase = getSetting(db, 'vod-base');
        write('[');
        for (const r of rows) write(`${count++ === 0 ? '\n' : ',\n'}${JSON.stringify(recordingJson(r, vodBase))}`);
        write(count ? '\n]\n' : ']\n');
      } else {
        for (const r of rows) {
          if (count++ === 0)
            write(
              `${'ID'.padEnd(16)}  ${'USER'.padEnd(16)}  ${'STARTED'.padEnd(20)}  ${'LENGTH'.padEnd(8)}  ${'SIZE'.padEnd(9)}  STATUS\n`,
            );
          const status = statusText(r) + (r.pinned ? ', pinned' : '');
          write(
            `${r.id}  ${r.userName.padEnd(16)}  ${shortTime(r.startedAt).padEnd(20)}  ${formatDuration(r.durationMs).padEnd(8)}  ${formatSize(r.bytes).padEnd(9)}  ${status}\n`,
          );
          last = r;
        }
        if (count === 0) write('no recordings\n');
      }
      ctx.out(buffer);
      if (!opts.json && limit !== null && count === limit && last) ctx.err(`(first ${limit} shown; next page: --before ${last.id})\n`);
    });

  cmd
    .command('show <id>')
    .description('one recording in detail')
    .option('--json', 'print JSON')
    .action((idText: string, opts: { json?: boolean }) => {
      const db = ctx.db();
      const r = requireRecording(db, idText);
      const stream = `${getSetting(db, 'vod-base')}+${r.id}`;
      const fileExists = existsSync(r.path);
      if (opts.json) return ctx.json({ ...recordingJson(r, getSetting(db, 'vod-base')), file_exists: fileExists });
      ctx.out(
        [
          `id:        ${r.id}`,
          `stream:    ${stream}`,
          `user:      ${r.userName}`,
          `started:   ${shortTime(r.startedAt)}`,
          `ended:     ${shortTime(r.endedAt)}`,
          `length:    ${formatDuration(r.durationMs)}`,
          `size:      ${formatSize(r.bytes)} (${r.bytes} bytes)`,
          `status:    ${statusText(r)} (${r.exitCode}: ${r.exitReason})`,
          `pinned:    ${r.pinned ? 'yes' : 'no'}`,
          `broadcast: ${r.broadcastId ?? '-'}`,
          `path:      ${r.path}${fileExists ? '' : ' (file missing)'}`,
        ].join('\n') + '\n',
      );
    });

  for (const [name, pinned] of [
    ['pin', true],
    ['unpin', false],
  ] as const) {
    cmd
      .command(`${name} <id>`)
      .description(pinned ? 'keep a recording whatever the retention (prune skips it)' : 'let prune remove a recording again')
      .option('--json', 'print the recording as JSON')
      .action((idText: string, opts: { json?: boolean }) => {
        const db = ctx.db();
        const r = requireRecording(db, idText);
        setRecordingPinned(db, r.id, pinned);
        if (r.pinned !== pinned)
          recordAdmin(ctx, {
            action: `recordings ${name}`,
            userId: r.userId,
            reason: `${r.id} ${pinned ? 'pinned' : 'unpinned'}`,
            detail: r.id,
          });
        if (opts.json) return ctx.json(recordingJson(requireRecording(db, r.id), getSetting(db, 'vod-base')));
        ctx.out(`${r.id} ${pinned ? 'pinned' : 'unpinned'}\n`);
      });
  }

  cmd
    .command('delete <id>')
    .description('delete a recording: its file and its catalogue row together (a pinned one needs --force)')
    .option('--force', 'delete it even when it is pinned')
    .option('--json', 'print JSON: the recording as it was, and "result" (deleted, or already-gone when its file was missing)')
    .action((idText: string, opts: { force?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const r = requireRecording(db, idText);
      if (r.pinned && !opts.force) throw new UserError(`${r.id} is pinned; add --force to delete it anyway (or unpin it first)`);
      const root = requireRecordingsRoot(db);
      if (!isUnderRoot(root, r.path)) throw new UserError(`${r.id}: ${r.path} is not under recordings-root ${root}; not touching it`);
      const [outcome] = removeRecordings(db, root, [r], ctx.now());
      if (outcome?.result === 'failed')
        throw new UserError(`${r.id}: could not delete ${r.path} (${outcome.error}); the recording is kept`);
      recordAdmin(ctx, {
        action: 'recordings delete',
        userId: r.userId,
        reason: `deleted ${r.id} (${r.path})${r.pinned ? ', pinned' : ''}`,
        detail: r.id,
      });
      if (outcome?.result === 'outside-root') throw new UserError(`${r.id}: ${r.path}: ${outcome.error}`);
      if (opts.json)
        return ctx.json({
          ...recordingJson(r, getSetting(db, 'vod-base')),
          result: outcome?.result === 'already-gone' ? 'already-gone' : 'deleted',
        });
      ctx.out(outcome?.result === 'already-gone' ? `${r.id} removed (its file was already gone)\n` : `${r.id} deleted\n`);
    });

  cmd
    .command('prune')
    .description('remove recordings past their retention and above the size cap (pinned ones are kept); for cron')
    .option(
      '--older-than <duration>',
      'retention for channels without their own (default: the recordings-retention setting)',
      retentionOption,
    )
    .option('--max-total-size <size>', 'keep the catalogue under this size, oldest first (default: recordings-max-total-size)', sizeOption)
    .option('--dry-run', 'show what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action((opts: { olderThan?: number; maxTotalSize?: number; dryRun?: boolean; json?: boolean }) => {
      const db = ctx.db();
      const root = requireRecordingsRoot(db);
      const settings = getSettings(db, ['recordings-retention', 'recordings-max-total-size']);
      const defaultRetention =
        opts.olderThan ?? (settings['recordings-retention'] === 'none' ? null : parseDuration(settings['recordings-retention']));
      const maxTotal =
        opts.maxTotalSize ?? (settings['recordings-max-total-size'] === 'none' ? null : parseSize(settings['recordings-max-total-size']));
      const now = ctx.now();
      const plan = planPrune(db, now, defaultRetention, maxTotal);

      if (opts.dryRun) {
        const items = plan.candidates.map((c) => ({
          id: c.id,
          path: c.path,
          bytes: c.bytes,
          reason: c.reason,
          outside_root: !isUnderRoot(root, c.path),
        }));
        const bytes = items.reduce((s, i) => s + i.bytes, 0);
        // A channel's own retention wins over --older-than and the setting: say so, or the dry
        // run reads as if --older-than applied to every channel.
        const overrides = channelsWithOwnRetention(db).filter((c) => c.retentionMs !== defaultRetention);
        const defaultText =
          opts.olderThan !== undefined
            ? `--older-than ${formatDuration(opts.olderThan)}`
            : `the recordings-retention setting (${settings['recordings-retention']})`;
        if (opts.json) {
          return ctx.json({
            dry_run: true,
            would_delete: items.length,
            would_free_bytes: bytes,
            cap_shortfall_bytes: plan.capShortfall,
            items,
            retention_overrides: overrides.map((c) => ({
              channel: c.userName,
              retention: formatDuration(c.retentionMs),
              retention_ms: c.retentionMs,
            })),
          });
        }
        for (const c of overrides)
          ctx.out(`channel ${c.userName} keeps its own retention ${formatDuration(c.retentionMs)}, not ${defaultText}\n`);
        if (items.length)
          ctx.out(
            table(
              ['ID', 'REASON', 'SIZE', 'PATH'],
              items.map((i) => [i.id, i.reason, formatSize(i.bytes), i.path + (i.outside_root ? ' (outside root: kept)' : '')]),
            ),
          );
        ctx.out(`dry run: would delete ${items.length} recording(s), ${formatSize(bytes)}\n`);
        if (plan.capShortfall > 0) ctx.out(`pinned recordings alone exceed the size cap by ${formatSize(plan.capShortfall)}\n`);
        return;
      }

      const progress = progressBar('pruning');
      const items = executePrune(db, root, plan.candidates, now, (done, total) => progress.update(done, total));
      progress.done();
      const count = (result: PruneItem['result']) => items.filter((i) => i.result === result);
      const deleted = count('deleted');
      const gone = count('already-gone');
      const failed = count('failed');
      const outside = count('outside-root');
      const freed = deleted.reduce((s, i) => s + i.bytes, 0);
      // An interrupted run's leftovers whose file is gone were simply finished, not surprises.
      const goneReported = gone.filter((i) => i.reason !== 'interrupted');
      const resumed = items.filter((i) => i.reason === 'interrupted').length;
      if (opts.json) {
        ctx.json({
          dry_run: false,
          deleted: deleted.length,
          freed_bytes: freed,
          already_gone: goneReported.length,
          resumed,
          failed: failed.length,
          outside_root: outside.length,
          cap_shortfall_bytes: plan.capShortfall,
          problems: [...goneReported, ...failed, ...outside].map((i) => ({
            id: i.id,
            path: i.path,
            result: i.result,
            error: i.error ?? null,
          })),
        });
      } else {
        for (const i of goneReported) ctx.out(`${i.id}: file was already gone; catalogue row removed (${i.path})\n`);
        for (const i of failed) ctx.out(`${i.id}: could not delete ${i.path} (${i.error}); kept\n`);
        for (const i of outside) ctx.out(`${i.id}: ${i.path} is not under recordings-root; kept\n`);
        ctx.out(
          `pruned ${deleted.length + gone.length} recording(s), freed ${formatSize(freed)}` +
            (resumed ? `, finished ${resumed} from an interrupted run` : '') +
            (failed.length ? `; ${failed.length} could not be deleted` : '') +
            (outside.length ? `; ${outside.length} outside the root kept` : '') +
            '\n',
        );
        if (plan.capShortfall > 0) ctx.out(`pinned recordings alone exceed the size cap by ${formatSize(plan.capShortfall)}\n`);
      }
      if (failed.length) throw new UserError(`${failed.length} recording file(s) could not be deleted`, 1);
    });

  cmd
    .command('scan')
    .description('compare the recordings folder with the catalogue (read-only)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const db = ctx.db();
      const root = requireRecordingsRoot(db);
      const report = scanRecordings(db, root, ctx.now());
      const file = (f: { path: string; bytes: number; modifiedAt: number }) => ({
        path: f.path,
        bytes: f.bytes,
        modified_at: isoTime(f.modifiedAt),
      });
      if (opts.json) {
        return ctx.json({
          root,
          files_seen: report.filesSeen,
          rows_seen: report.rowsSeen,
          files_without_row: report.filesWithoutRow.map(file),
          files_in_progress: report.filesInProgress.map(file),
          rows_without_file: report.rowsWithoutFile,
        });
      }
      for (const f of report.filesWithoutRow) ctx.out(`file without row: ${f.path} (${formatSize(f.bytes)})\n`);
      for (const f of report.filesInProgress) ctx.out(`being written:    ${f.path}\n`);
      for (const r of report.rowsWithoutFile) ctx.out(`row without file: ${r.id} ${r.path}\n`);
      ctx.out(
        `${report.filesSeen} file(s), ${report.rowsSeen} row(s): ${report.filesWithoutRow.length} file(s) without row, ` +
          `${report.rowsWithoutFile.length} row(s) without file\n`,
      );
    });

  return cmd;
}
