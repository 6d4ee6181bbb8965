// Doctor's program checks: every handler apply configures is installed, executable and, run as
// MistServer's user for real, answers its refusal to a malformed payload.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { childEnv } from '../config';
import type { TriggerName } from '../triggers/registry';
import { desiredEntry, installedTriggers, specFor } from '../wiring/plan';
import type { Finding } from './finding';
import type { DoctorInput, DoctorScope } from './doctor';
import { canExecute, type SystemUser } from './permissions';

// No trigger takes 64 lines; every program must refuse this (and never reach a database).
const MALFORMED_PAYLOAD = Array(64).fill('streamctl-doctor').join('\n');

/** How to start a program as MistServer's user, and who that turned out to be. */
interface Runner {
  who: string;
  /** The command line that runs `argv` as that user. */
  wrap(argv: string[]): string[];
  /** Set when the programs could not be run as MistServer's user. */
  note?: string;
}

const firstExisting = (paths: string[]) => paths.find((p) => existsSync(p));

/**
 * Runs the programs as MistServer's user for real (a mode-bit reading misses ACLs, mount options
 * and the like): as root through setpriv (util-linux; sets the user's supplementary groups, as a
 * service manager would) or runuser. Node's own uid/gid spawn options would drop the supplementary
 * groups, so a group-based install would look broken.
 */
function runAs(user: SystemUser | null): Runner {
  const me = userInfo();
  if (!user || user.uid === me.uid) return { who: user?.name ?? me.username, wrap: (argv) => argv };
  if (me.uid !== 0) {
    return {
      who: me.username,
      wrap: (argv) => argv,
      note: `the programs ran as ${me.username}, not as MistServer's user ${user.name} (only root can switch); their modes were checked for ${user.name}`,
    };
  }
  const setpriv = firstExisting(['/usr/bin/setpriv', '/bin/setpriv']);
  // The program is exec'd by a shell already running as the user: exec'd by setpriv itself right
  // after its setresuid, some kernels (seen on this project's CI VM) skip the folder permission
  // checks of the interpreter's path, and a program MistServer could not run would pass.
  if (setpriv) {
    return {
      who: user.name,
      wrap: (argv) => [
        setpriv,
        `--reuid=${user.uid}`,
        `--regid=${user.gids[0]}`,
        '--init-groups',
        '--',
        '/bin/sh',
        '-c',
        'exec "$0" "$@"',
        ...argv,
      ],
    };
  }
  const runuser = firstExisting(['/usr/sbin/runuser', '/sbin/runuser']);
  if (runuser) return { who: user.name, wrap: (argv) => [runuser, '-u', user.name, '--', ...argv] };
  return {
    who: me.username,
    wrap: (argv) => argv,
    note: `neither setpriv nor runuser is installed: the programs ran as ${me.username}, not as ${user.name}`,
  };
}

/**
 * The program behind an asynchronous trigger's detaching wrapper (dist/<program>.sh, see
 * scripts/build.ts), or null. The wrapper exits 0 whether or not its program could start, so the
 * program is run on its own too.
 */
function programBehindWrapper(handler: string): string | null {
  let real: string;
  try {
    real = realpathSync(handler);
  } catch {
    return null;
  }
  const js = `${real.slice(0, -'.sh'.length)}.js`;
  return real.endsWith('.sh') && existsSync(js) ? js : null;
}

/** Runs a handler as MistServer would on a malformed payload; null when it answers its refusal. */
function answersRefusal(runner: Runner, handler: string, trigger: TriggerName, want: string): string | null {
  const problem = runsAndRefuses(runner, handler, trigger, want);
  const program = problem === null ? programBehindWrapper(handler) : null;
  return program === null ? problem : runsAndRefuses(runner, program, trigger, want);
}

function runsAndRefuses(runner: Runner, handler: string, trigger: TriggerName, want: string): string | null {
  const [cmd, ...args] = runner.wrap([handler, trigger]);
  const r = spawnSync(cmd!, args, {
    input: MALFORMED_PAYLOAD,
    encoding: 'utf8',
    timeout: 5000,
    env: childEnv({ STREAMCTL_DB: '/nonexistent/streamctl-doctor.db', MIST_TRIGGER: trigger }),
  });
  if (r.error) return `did not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  // Every program exits 0 after its answer; anything else (126/127 from setpriv: cannot execute)
  // means it never ran, even when the expected refusal is the empty answer.
  if (r.status !== 0) return `did not run (exit ${r.status ?? r.signal}): ${r.stderr.trim().split('\n')[0] ?? ''}`;
  if (r.stdout !== want)
    return `answered ${JSON.stringify(r.stdout.slice(0, 40))} instead of ${JSON.stringify(want)}: ${r.stderr.trim().split('\n')[0] ?? ''}`;
  return null;
}

/** The trigger programs: installed and executable, then run as MistServer's user. */
export function programFindings(input: DoctorInput, scope: DoctorScope): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const { who, owner, role } = scope;
  // Programs: every handler apply configures.
  const handlers = new Map<string, string[]>();
  for (const name of installedTriggers(role)) {
    const h = desiredEntry(name, input.desired).handler;
    if (h === '') continue; // the edge's push guard runs no program
    handlers.set(h, [...(handlers.get(h) ?? []), name]);
  }
  const broken = [...handlers.keys()].filter((h) => !canExecute(h, input.mistUser));
  add(
    broken.length === 0
      ? { check: 'programs', status: 'ok', message: `${handlers.size} trigger program(s) installed and executable by ${who}` }
      : {
          check: 'programs',
          status: 'fail',
          message: `missing or not executable by ${who}: ${broken.join(', ')}`,
          fix: `make them and every folder above them executable by ${owner}, or run install.sh again (it installs and chmods every program)`,
        },
  );
  if (broken.length === 0 && input.runPrograms !== false) {
    const runner = runAs(input.mistUser);
    const wrong = installedTriggers(role)
      .filter((name) => specFor(name, role) !== null)
      .map((name) => ({
        name,
        problem: answersRefusal(runner, desiredEntry(name, input.desired).handler, name, specFor(name, role)!.refusal),
      }))
      .filter((r) => r.problem !== null);
    add(
      wrong.length === 0
        ? {
            check: 'programs run',
            status: 'ok',
            message: `every trigger program, run as ${runner.who}, answers its refusal to a malformed payload`,
          }
        : {
            check: 'programs run',
            status: 'fail',
            message: `run as ${runner.who}: ${wrong.map((w) => `${w.name}: ${w.problem}`).join('; ')}`,
            fix: `make the programs and every folder above them readable and searchable by ${runner.who}, or run install.sh again`,
          },
    );
    if (runner.note)
      add({
        check: 'programs run',
        status: 'warn',
        message: runner.note,
        fix: `run doctor as root (it then runs them as ${input.mistUser?.name})`,
      });
  }
  return out;
}
