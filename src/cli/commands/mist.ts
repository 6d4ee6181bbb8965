// `streamctl mist apply`: sets MistServer up for streamctl through its JSON API — the live and VoD
// streams, one handler per registry trigger, the recording push — and checks that it kept it.
import { Command } from 'commander';
import { accessSync, constants } from 'node:fs';
import { originHost, packagedExecutable, role as configuredRole, type ServerRole } from '../../config';
import { UserError } from '../../lib/errors';
import { callMist, mistConnection, type MistConnectionOptions } from '../../mist/connection';
import { DEFAULT_MIST_API, desiredSetup, READ_REQUEST } from '../../wiring/desired';
import { desiredEntry, installedTriggers, MIST_FIELD_MAX, planSetup, type Change, type Desired } from '../../wiring/plan';
import { originProblem } from '../../wiring/roles';
import { setSetting } from '../../settings/rules';
import { getSetting } from '../../store/settings';
import type { CliContext } from '../context';

const SIGN = { add: '+', update: '~', remove: '-' } as const;

/** One line per change, e.g. "+ trigger USER_NEW: /opt/streamctl/bin/user-new (blocking, default "false")". */
export function formatChange(c: Change): string {
  return `  ${SIGN[c.action]} ${c.area} ${c.name}: ${c.detail}\n`;
}

/** Problems that make the planned handlers unusable; apply refuses to point MistServer at them. */
function handlerProblems(desired: Desired): string[] {
  const problems: string[] = [];
  // The standalone executable dispatches on the trigger name alone, i.e. to the one-box programs.
  if (desired.role === 'edge' && packagedExecutable()) {
    problems.push('the standalone executable runs the one-box programs only: install an edge from the source tree (install.sh ROLE=edge)');
  }
  if (desired.recordingsRoot === '' && desired.role !== 'edge') {
    problems.push("no recordings root is set: run 'streamctl config set recordings-root <absolute folder MistServer can write>' first");
  }
  for (const name of installedTriggers(desired.role)) {
    const entry = desiredEntry(name, desired);
    // The edge's push guard runs no program.
    if (entry.handler === '') continue;
    if (Buffer.byteLength(entry.handler) > MIST_FIELD_MAX)
      problems.push(`${entry.handler} is longer than MistServer's ${MIST_FIELD_MAX}-byte handler field (install to a shorter path)`);
    try {
      accessSync(entry.handler, constants.X_OK);
    } catch {
      problems.push(`${entry.handler} (for ${name}) is missing or not executable (run the install again)`);
    }
  }
  return [...new Set(problems)];
}

const ROLES: readonly ServerRole[] = ['single', 'origin', 'edge'];

/** --role, else role= in streamctl.conf, else single; an edge also needs its origin (--origin, else origin=). */
export function chooseRole(opts: { role?: string; origin?: string }): { role: ServerRole; origin?: string } {
  if (opts.role !== undefined && !(ROLES as readonly string[]).includes(opts.role)) {
    throw new UserError(`invalid --role "${opts.role.slice(0, 32)}": expected single, origin or edge`);
  }
  const role = (opts.role as ServerRole | undefined) ?? configuredRole();
  if (role !== 'edge') {
    if (opts.origin !== undefined) throw new UserError(`--origin is for an edge; this server's role is ${role}`);
    return { role };
  }
  const origin = opts.origin ?? originHost() ?? '';
  const problem = originProblem(origin);
  if (problem) throw new UserError(problem);
  return { role, origin };
}

export function mistCommand(ctx: CliContext): Command {
  const cmd = new Command('mist').description('set MistServer up for streamctl through its API');

  cmd
    .command('apply')
    .description(
      "create the streams, triggers and recording push streamctl needs for this server's role (idempotent; other triggers are kept)",
    )
    .option(
      '--role <role>',
      'single (one box), origin (takes pushes; edges pull from it) or edge (pulls from the origin, admits from Redis); default: role= in streamctl.conf, else single',
    )
    .option('--origin <host>', "an edge's origin, host or host:port of its DTSC output (default: origin= in streamctl.conf)")
    .option('--api <url>', `MistServer API (default: the mist-api setting, else ${DEFAULT_MIST_API})`)
    .option('--user <name>', 'API account (not needed from the same host)')
    .option('--password <password>', 'API password (or set STREAMCTL_MIST_PASSWORD with STREAMCTL_MIST_USER)')
    .option('--dry-run', 'print what would change and send nothing; exit 1 when something would change')
    .option('--json', 'print a JSON report: the changes, notes, whether they were applied')
    .action(async (opts: MistConnectionOptions & { dryRun?: boolean; json?: boolean; role?: string; origin?: string }) => {
      const choice = chooseRole(opts);
      const db = ctx.db();
      const conn = mistConnection(db, opts, (line) => ctx.err(`streamctl: ${line}\n`));
      const desired = desiredSetup(db, choice);
      const problems = handlerProblems(desired);
      if (problems.length > 0) throw new UserError(problems.join('; '));

      const plan = planSetup(await callMist(conn, READ_REQUEST), desired);
      const out = (text: string) => opts.json || ctx.out(text);
      out(`MistServer at ${conn.url} (${choice.role}${choice.origin ? `, origin ${choice.origin}` : ''}):\n`);
      for (const c of plan.changes) out(formatChange(c));
      for (const n of plan.notes) out(`  ! ${n}\n`);
      let applied = 0;
      if (plan.changes.length === 0) {
        out('  already set up: nothing to change\n');
      } else if (opts.dryRun) {
        out(`dry run: ${plan.changes.length} change(s) would be made; nothing was sent\n`);
        // Pending changes are a negative answer to "is MistServer set up?", for scripts and cron.
        ctx.answerNo();
      } else {
        // The answers are never printed: they echo the configuration (and key material for jwks).
        for (const body of plan.requests) await callMist(conn, body);
        const left = planSetup(await callMist(conn, READ_REQUEST), desired).changes;
        if (left.length > 0) {
          throw new UserError(`MistServer did not keep ${left.length} change(s): ${left.map((c) => `${c.area} ${c.name}`).join(', ')}`);
        }
        applied = plan.changes.length;
        out(`applied ${applied} change(s)\n`);
      }
      let mistApiSet: string | null = null;
      if (!opts.dryRun && getSetting(db, 'mist-api') === '' && setSetting(db, 'mist-api', conn.url) === null) {
        mistApiSet = conn.url;
        out(`mist-api = ${conn.url} (admin changes now reach live sessions)\n`);
      }
      if (opts.json) {
        ctx.json({
          api: conn.url,
          role: choice.role,
          dry_run: opts.dryRun === true,
          changes: plan.changes.map((c) => ({ action: c.action, area: c.area, name: c.name, detail: c.detail })),
          notes: plan.notes,
          pending: opts.dryRun ? plan.changes.length : 0,
          applied,
          mist_api_set: mistApiSet,
        });
      }
    });

  return cmd;
}
