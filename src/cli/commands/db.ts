// `streamctl db ...`: the database file itself.
import { Command } from 'commander';
import { knownMigrations } from '../../store/migrations';
import { migrate } from '../../store/migrate';
import { openForCli, schemaVersion } from '../../store/open';
import type { CliContext } from '../context';

/** The database's JSON form: where it is, its schema version and the one this build expects. */
function dbJson(path: string, version: number) {
  const all = knownMigrations();
  return { path, schema_version: version, build_schema_version: all.length ? all[all.length - 1]!.version : 0 };
}

export function dbCommand(ctx: CliContext): Command {
  const cmd = new Command('db').description('the streamctl database');

  cmd
    .command('migrate')
    .description('create the database if needed and apply pending migrations (idempotent)')
    .option('--json', 'print JSON: the database state and the migrations applied')
    .action((opts: { json?: boolean }) => {
      const path = ctx.dbPath();
      const db = openForCli(path);
      try {
        const applied = migrate(db);
        const name = (m: { version: number; name: string }) => `${String(m.version).padStart(4, '0')}_${m.name}`;
        if (opts.json) return ctx.json({ ...dbJson(path, schemaVersion(db)), applied: applied.map(name) });
        for (const m of applied) ctx.out(`applied ${String(m.version).padStart(4, '0')}_${m.name}\n`);
        ctx.out(`${path}: schema version ${schemaVersion(db)}${applied.length ? '' : ' (up to date)'}\n`);
      } finally {
        db.close();
      }
    });

  cmd
    .command('path')
    .description('print the database path in use (STREAMCTL_DB, the installed config, or ./data/streamctl.db)')
    .option('--json', 'print {"path"} as JSON')
    .action((opts: { json?: boolean }) => (opts.json ? ctx.json({ path: ctx.dbPath() }) : ctx.out(`${ctx.dbPath()}\n`)));

  cmd
    .command('status')
    .description('print the schema version of the database and of this build')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const state = dbJson(ctx.dbPath(), schemaVersion(ctx.db()));
      if (opts.json) return ctx.json(state);
      ctx.out(`${state.path}: schema version ${state.schema_version}, this build ${state.build_schema_version}\n`);
    });

  return cmd;
}
