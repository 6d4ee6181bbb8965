// `streamctl db ...`: the database file itself.
import { Command } from 'commander';
import { databasePath } from '../../config';
import { knownMigrations } from '../../store/migrations';
import { migrate } from '../../store/migrate';
import { openForCli, schemaVersion } from '../../store/open';
import type { CliContext } from '../context';

export function dbCommand(ctx: CliContext): Command {
  const cmd = new Command('db').description('the streamctl database');

  cmd
    .command('migrate')
    .description('create the database if needed and apply pending migrations (idempotent)')
    .action(() => {
      const path = databasePath();
      const db = openForCli(path, { create: true });
      try {
        const applied = migrate(db);
        for (const m of applied) ctx.out(`applied ${String(m.version).padStart(4, '0')}_${m.name}\n`);
        ctx.out(`${path}: schema version ${schemaVersion(db)}${applied.length ? '' : ' (up to date)'}\n`);
      } finally {
        db.close();
      }
    });

  cmd
    .command('path')
    .description('print the database path in use (STREAMCTL_DB, the installed config, or ./data/streamctl.db)')
    .action(() => ctx.out(`${databasePath()}\n`));

  cmd
    .command('status')
    .description('print the schema version of the database and of this build')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const all = knownMigrations();
      const latest = all.length ? all[all.length - 1]!.version : 0;
      const version = schemaVersion(ctx.db());
      if (opts.json) return ctx.json({ path: ctx.dbPath(), schema_version: version, build_schema_version: latest });
      ctx.out(`${ctx.dbPath()}: schema version ${version}, this build ${latest}\n`);
    });

  return cmd;
}
