// `streamctl doctor`: checks the install end to end and prints the fix for each problem.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  databaseGroup,
  originHost,
  readInstalledConfig,
  redisPassword,
  redisPrimary,
  redisReplica,
  role as configuredRole,
} from '../../config';
import { UserError } from '../../lib/errors';
import { desiredSetup, DEFAULT_MIST_API } from '../../wiring/desired';
import { mistConnection } from '../../mist/connection';
import { findSystemUser, runDoctor, type Finding } from '../../doctor/doctor';
import { originReplication } from '../../doctor/replication';
import { redisChecks } from '../../doctor/role-checks';
import { migrate } from '../../store/migrate';
import { openForCli, openReadOnly, type Db } from '../../store/open';
import { getSetting } from '../../store/settings';
import type { CliContext } from '../context';

const LABEL = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description(
      "check the database, programs, MistServer setup and recordings folder, and an origin's or edge's Redis; exit 1 on any problem",
    )
    .option('--api <url>', `MistServer API (default: the mist-api setting, else ${DEFAULT_MIST_API})`)
    .option('--user <name>', 'API account (not needed from the same host)')
    .option('--password <password>', 'API password')
    .option('--mist-user <name>', "the system user MistServer runs as (default: the installed config's mist_user)")
    .option('--json', 'print JSON')
    .action(async (opts: { api?: string; user?: string; password?: string; mistUser?: string; json?: boolean }) => {
      const path = ctx.dbPath();
      // Never create or migrate here: a missing database is a finding. Settings fall back to defaults.
      let db: Db | undefined;
      try {
        if (existsSync(path)) db = openReadOnly(path);
      } catch {
        db = undefined; // reported by the database check
      }
      try {
        const mistUserName = opts.mistUser ?? readInstalledConfig().mist_user ?? '';
        const mistUser = mistUserName ? findSystemUser(mistUserName) : null;
        if (mistUserName && !mistUser)
          throw new UserError(`no system user "${mistUserName}" (give the user MistServer runs as with --mist-user)`);
        const settingsDb = db ?? (db = defaultsOnly());
        // The role and origin install.sh wrote (role=, origin=): what this server should be.
        const role = configuredRole();
        const desired = desiredSetup(settingsDb, { role, origin: role === 'edge' ? (originHost() ?? '') : undefined });
        const findings = await runDoctor({
          dbPath: path,
          desired,
          mistUser,
          mistUserName: mistUserName || userInfo().username,
          conn: mistConnection(settingsDb, opts, (line) => ctx.err(`streamctl: ${line}\n`)),
          apiConfigured: opts.api !== undefined || getSetting(settingsDb, 'mist-api') !== '',
          siteUserName: readInstalledConfig().site_user,
          dbGroup: databaseGroup(),
          runPrograms: ctx.runTriggerPrograms,
        });
        const pw = redisPassword();
        findings.push(
          ...(await redisChecks({
            role,
            replica: redisReplica(),
            primary: redisPrimary(),
            password: pw.password,
            passwordProblem: pw.problem,
            base: desired.base,
            vodBase: desired.vodBase,
          })),
        );
        if (role === 'edge' && !originHost())
          findings.push({
            check: 'origin',
            status: 'fail',
            message: 'no origin= in streamctl.conf: the edge does not know where to pull from',
            fix: 'install.sh ROLE=edge ORIGIN=<origin host> (or add origin= to streamctl.conf)',
          });
        if (role === 'origin') findings.push(...(await originReplication(db, findings, redisPrimary(), pw.password, ctx.now())));
        report(ctx, findings, mistUserName, opts.json === true);
        const failed = findings.filter((f) => f.status === 'fail').length;
        if (failed > 0) throw new UserError(`${failed} problem(s) found`);
      } finally {
        db?.close();
      }
    });
}

/** An empty in-memory database, so every setting reads as its default. */
function defaultsOnly(): Db {
  const mem = openForCli(':memory:');
  migrate(mem);
  return mem;
}

function report(ctx: CliContext, findings: Finding[], mistUser: string, json: boolean): void {
  if (json) {
    ctx.json({
      ok: findings.every((f) => f.status !== 'fail'),
      mist_user: mistUser || null,
      checks: findings.map((f) => ({ check: f.check, status: f.status, message: f.message, fix: f.fix ?? null })),
    });
    return;
  }
  if (!mistUser) ctx.out('(no MistServer user given: rights checked for this user; use --mist-user)\n');
  for (const f of findings) {
    ctx.out(`${LABEL[f.status]}  ${f.check}: ${f.message}\n`);
    if (f.status !== 'ok' && f.fix) ctx.out(`      fix: ${f.fix}\n`);
  }
}
