// `streamctl init --db <path>`: the set-up step for an installation install.sh did not make (the
// standalone executable): writes db= into the config file the programs read — streamctl.conf
// beside the executable, where MistServer's trigger runs find it with no environment — and
// creates and migrates that database.
import { Command } from 'commander';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { installedConfigPath, readInstalledConfig } from '../../config';
import { oneLine, UserError } from '../../lib/errors';
import { migrate } from '../../store/migrate';
import { openForCli, schemaVersion } from '../../store/open';
import type { CliContext } from '../context';

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
    .description('set up an installation install.sh did not make (the standalone executable): record the database in streamctl.conf and create it')
    .requiredOption('--db <path>', 'the database file (created and migrated if missing)')
    .option('--force', 'replace a db= the config file already names')
    .option('--json', 'print JSON')
    .action((opts: { db: string; force?: boolean; json?: boolean }) => {
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
      try {
        migrate(handle);
        version = schemaVersion(handle);
      } finally {
        handle.close();
      }
      if (opts.json) return ctx.json({ config: conf, path: db, schema_version: version });
      ctx.out(`${conf}: db=${db}\n${db}: schema version ${version}\n`);
      ctx.out('next: streamctl mist apply --dry-run (then without --dry-run), streamctl doctor\n');
    });
}
