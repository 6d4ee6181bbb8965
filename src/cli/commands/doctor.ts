// `streamctl doctor`: checks the install end to end and prints the fix for each problem.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { databaseGroup, mistApiCredentials, originHost, readInstalledConfig, redisPassword, redisPrimary, redisReplica, role as configuredRole } from '../../config';
import { UserError } from '../../lib/errors';
import { desiredSetup, DEFAULT_MIST_API } from '../../wiring/desired';
import { mistConnection } from '../../mist/connection';
import { findSystemUser, runDoctor, type Finding } from '../../doctor/doctor';
import { redisChecks } from '../../doctor/role-checks';
import { mistCall } from '../../mist/api';
import { checkReplication } from '../../replica/check';
import { edgeUrls } from '../../live/edge-session-effects';
import { outboxStats } from '../../store/replication';
import { migrate } from '../../store/migrate';
import { openForCli, openReadOnly, type Db } from '../../store/open';
import { getSetting } from '../../store/settings';
import type { CliContext } from '../context';

const LABEL = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description("check the database, programs, MistServer setup and recordings folder, and an origin's or edge's Redis; exit 1 on any problem")
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
        if (mistUserName && !mistUser) throw new UserError(`no system user "${mistUserName}" (give the user MistServer runs as with --mist-user)`);
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
        if (role === 'edge' && !originHost()) findings.push({ check: 'origin', status: 'fail', message: 'no origin= in streamctl.conf: the edge does not know where to pull from', fix: 'install.sh ROLE=edge ORIGIN=<origin host> (or add origin= to streamctl.conf)' });
        if (role === 'origin') findings.push(...(await originReplication(db, findings, redisPrimary(), pw.password, ctx.now())));
        report(ctx, findings, mistUserName, opts.json === true);
        const failed = findings.filter((f) => f.status === 'fail').length;
        if (failed > 0) throw new UserError(`${failed} problem(s) found`);
      } finally {
        db?.close();
      }
    });
}

/** Changes older than this still queued: the relay is not running (it polls every ~100 ms). */
const STUCK_MS = 60_000;

/**
 * The origin's replication: the outbox drains (the relay runs) and Redis matches SQLite. Skipped
 * when the database or the primary already failed (their findings say why).
 */
async function originReplication(db: Db, findings: Finding[], primary: string | undefined, password: string | undefined, now: number): Promise<Finding[]> {
  if (findings.some((f) => (f.check === 'database' || f.check === 'redis primary') && f.status === 'fail') || !primary) return [];
  const out: Finding[] = [];
  const stats = outboxStats(db);
  if (stats.pending > 0 && stats.oldestAt !== null && now - stats.oldestAt > STUCK_MS) {
    out.push({ check: 'outbox', status: 'fail', message: `${stats.pending} change(s) queued, the oldest ${Math.round((now - stats.oldestAt) / 1000)} s ago: edges are not getting bans, revocations or policy changes`, fix: 'start the relay: systemctl enable --now streamctl-relay (or streamctl edge relay)' });
  } else {
    out.push({ check: 'outbox', status: 'ok', message: `${stats.pending} change(s) queued` });
  }
  const r = await checkReplication(db, primary, password, now);
  out.push({ check: 'replication', status: r.status, message: r.message, ...(r.fix ? { fix: r.fix } : {}) });
  out.push(...(await edgeApis(db)));
  return out;
}

/** The edges' APIs the relay sends re-checks to (the `edges` setting): listed, and answering. */
async function edgeApis(db: Db): Promise<Finding[]> {
  const urls = edgeUrls(db);
  if (urls.length === 0) {
    return [{ check: 'edges', status: 'warn', message: 'the edges setting is empty: a ban or policy change reaches the replicas, but viewers already watching on an edge keep playing', fix: 'streamctl config set edges http://<edge>:4242/api,... (every edge)' }];
  }
  const creds = mistApiCredentials();
  const results = await Promise.all(
    urls.map(async (url) => {
      try {
        await mistCall({ url, username: creds.username, password: creds.password, timeoutMs: 3000 }, {});
        return null;
      } catch (err) {
        return `${url}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const failed = results.filter((r): r is string => r !== null);
  return failed.length === 0
    ? [{ check: 'edges', status: 'ok', message: `${urls.length} edge API(s) answer` }]
    : [{ check: 'edges', status: 'fail', message: `${failed.join('; ')}: their viewers are not re-checked after a ban or policy change`, fix: 'start the edge, let the origin reach its API, or set mist_api_user= / mist_api_password_file= (the same account on every edge)' }];
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
