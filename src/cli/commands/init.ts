// `streamctl init --db <path>`: the set-up step for an installation install.sh did not make (the
// standalone executable): writes db= into the config file the programs read — streamctl.conf
// beside the executable, where MistServer's trigger runs find it with no environment — and
// sets that database up as install.sh's `db setup` does: schema, token secret (so `token issue`
// works at once), recordings-root and vod-placeholder beside the database.
import { Command } from 'commander';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { installedConfigPath, readInstalledConfig, role } from '../../config';
import { oneLine, UserError } from '../../lib/errors';
import { setUpDatabase, type DatabaseSetup } from '../../settings/setup';
import { openForCli, schemaVersion } from '../../store/open';
import type { CliContext } from '../context';
import { recheckEveryChannel } from '../../live/session-effects';

/** Sets key=value in the config file, keeping every other line (as install.sh's set_conf does). */
function setConfigLine(file: string, key: string, value: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# streamctl installation config (key=value); written by streamctl init\n';
  const lines = old.split('\n').filter((l) => l !== '' && !l.startsWith(`${key}=`));
  const tmp = `${file}.${process.pid}.tmp`;
  // Readable by MistServer's user (its trigger runs read it); it holds paths, never secrets.
  writeFileSync(tmp, [...lines, `${key}=${value}`].join('\n') + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

export function initCommand(ctx: CliContext): Command {
  return new Command('init')
    .description(
      'set up an installation install.sh did not make (the standalone executable): record the database in streamctl.conf and set it up as db setup does (schema, token secret)',
    )
    .requiredOption('--db <path>', 'the database file (created and migrated if missing)')
    .option('--force', 'replace a db= the config file already names')
    .option('--json', 'print JSON')
    .action(async (opts: { db: string; force?: boolean; json?: boolean }) => {
      const conf = installedConfigPath();
      const db = resolve(opts.db);
      const current = readInstalledConfig(conf).db;
      if (current && resolve(current) !== db && !opts.force) {
        throw new UserError(`${conf} already names the database ${current}; add --force to replace it`);
      }
      try {
        setConfigLine(conf, 'db', db);
      } catch (err) {
        throw new UserError(`cannot write ${conf}: ${oneLine(err)} (run init as the owner of its folder)`);
      }
      const handle = openForCli(db, { create: true });
      let version: number;
      let done: DatabaseSetup;
      try {
        done = setUpDatabase(handle, { stateDir: dirname(db), role: role(), now: ctx.now() });
        version = schemaVersion(handle);
        if (done.stoppedSecrets > 0) await recheckEveryChannel(ctx, handle, 'token secret rotated');
      } finally {
        handle.close();
      }
      const report = {
        config: conf,
        path: db,
        schema_version: version,
        token_secret: done.tokenSecret,
        recordings_root: done.recordingsRoot,
        vod_placeholder: done.vodPlaceholder,
      };
      if (opts.json) return ctx.json(report);
      ctx.out(`${conf}: db=${db}\n${db}: schema version ${version}\n`);
      const secret = {
        created: 'created (streamctl token secret --show prints it)',
        kept: 'kept',
        none: "none (an edge verifies with the origin's keys)",
      }[done.tokenSecret];
      ctx.out(`token secret: ${secret}\nrecordings-root: ${done.recordingsRoot}\n`);
      ctx.out('next: streamctl mist apply --dry-run (then without --dry-run), streamctl doctor\n');
    });
}
