// `streamctl db ...`: the database file itself.
import { Command, Option } from 'commander';
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { role, type ServerRole } from '../../config';
import { oneLine, UserError } from '../../lib/errors';
import { backupDatabase, backupTargetProblem, checkDatabase } from '../../store/maintenance';
import { knownMigrations } from '../../store/migrations';
import { migrate } from '../../store/migrate';
import { openForCli, openReadOnly, schemaVersion } from '../../store/open';
import { setUpDatabase } from '../../settings/setup';
import type { CliContext } from '../context';
import { recheckEveryChannel } from '../../live/session-effects';

/** A migration as `db migrate` names it: 0007_viewer_sessions. */
const migrationName = (m: { version: number; name: string }) => `${String(m.version).padStart(4, '0')}_${m.name}`;

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
      const db = openForCli(path, { create: true });
      try {
        const applied = migrate(db);
        if (opts.json) return ctx.json({ ...dbJson(path, schemaVersion(db)), applied: applied.map(migrationName) });
        for (const m of applied) ctx.out(`applied ${migrationName(m)}\n`);
        ctx.out(`${path}: schema version ${schemaVersion(db)}${applied.length ? '' : ' (up to date)'}\n`);
      } finally {
        db.close();
      }
    });

  cmd
    .command('setup')
    .description(
      "install.sh's database step in one run: create and migrate the database, make the token secret if there is none (not on an edge), " +
        'put unset recordings-root and the default vod-placeholder in the state folder; prints key=value lines',
    )
    .option('--state-dir <dir>', "the installation's state folder (default: the database's folder)")
    .addOption(new Option('--role <role>', "the server's role (default: the installed role=)").choices(['single', 'origin', 'edge']))
    .option('--json', 'print JSON')
    .action(async (opts: { stateDir?: string; role?: ServerRole; json?: boolean }) => {
      const path = ctx.dbPath();
      const db = openForCli(path, { create: true });
      try {
        const done = setUpDatabase(db, { stateDir: opts.stateDir ?? dirname(path), role: opts.role ?? role(), now: ctx.now() });
        if (done.stoppedSecrets > 0) await recheckEveryChannel(ctx, db, 'token secret rotated');
        const report = {
          ...dbJson(path, schemaVersion(db)),
          applied: done.applied.map(migrationName),
          token_secret: done.tokenSecret,
          recordings_root: done.recordingsRoot,
          vod_placeholder: done.vodPlaceholder,
        };
        if (opts.json) return ctx.json(report);
        // One key=value a line, for a shell to read (install.sh): a value never spans lines.
        const lines = Object.entries(report).flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${key}=${v}`));
        const broken = lines.find((l) => l.includes('\n'));
        if (broken)
          throw new UserError(`${broken.slice(0, broken.indexOf('='))} holds a line break: it cannot be printed as key=value (use --json)`);
        ctx.out(lines.map((l) => `${l}\n`).join(''));
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

  cmd
    .command('backup')
    .description("copy the database to a new file with SQLite's online backup (safe while triggers run); the copy is 0600")
    .argument('<file>', 'the backup file to create (must not exist)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const target = resolve(file);
      const source = ctx.dbPath();
      const clash = backupTargetProblem(source, target);
      if (clash) throw new UserError(clash);
      if (!existsSync(source)) throw new UserError(`no database at ${source}`);
      // The copy holds the token secret: create it 0600 before a byte is written (O_EXCL: never
      // clobber a file), and keep SQLite's own temporary journal beside it private too.
      try {
        closeSync(openSync(target, 'wx', 0o600));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UserError(code === 'EEXIST' ? `${target} already exists; choose a new file` : `cannot create ${target}: ${oneLine(err)}`);
      }
      const umask = process.umask(0o077);
      // Read-only and never migrated: a backup is the database as it is (e.g. before an upgrade).
      const db = openReadOnly(source);
      try {
        const { pages } = await backupDatabase(db, target);
        const bytes = statSync(target).size;
        if (opts.json) return ctx.json({ database: source, backup: target, pages, bytes });
        ctx.out(`${source} backed up to ${target} (${bytes} bytes)\n`);
      } catch (err) {
        rmSync(target, { force: true });
        throw new UserError(`backup to ${target} failed: ${oneLine(err)}`);
      } finally {
        db.close();
        process.umask(umask);
      }
    });

  cmd
    .command('check')
    .description('check the database: integrity_check and foreign_key_check; exit 1 on any problem')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const path = ctx.dbPath();
      if (!existsSync(path)) throw new UserError(`no database at ${path}`);
      const db = openReadOnly(path);
      let report;
      try {
        report = checkDatabase(db);
      } finally {
        db.close();
      }
      const ok = report.integrity.length === 0 && report.foreignKeys.length === 0;
      if (opts.json) {
        ctx.json({ path, ok, integrity: report.integrity, foreign_keys: report.foreignKeys });
      } else {
        for (const line of report.integrity) ctx.out(`integrity: ${line}\n`);
        for (const f of report.foreignKeys) ctx.out(`foreign key: ${f.table} row ${f.rowid ?? '?'} points at a missing ${f.parent} row\n`);
        if (ok) ctx.out(`${path}: ok (integrity_check, foreign_key_check)\n`);
      }
      if (!ok)
        throw new UserError(
          `${path}: ${report.integrity.length} integrity problem(s), ${report.foreignKeys.length} dangling foreign key(s); restore from a backup (docs/operations.md)`,
        );
    });

  return cmd;
}
