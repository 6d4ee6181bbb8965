// `streamctl doctor`: checks the install the way MistServer will meet it — database, programs,
// MistServer's configuration, recordings folder — and says how to fix each problem found.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { childEnv, edgeRecordingsRoot, triggerDatabase } from '../config';
import { recordingsRootProblem } from '../recordings/recording-path';
import { oneLine } from '../lib/errors';
import { usersWithoutPolicy } from '../store/channels';
import { databaseFileMode, excessDatabaseModeBits } from '../store/db-file';
import { openReadOnly, schemaVersion } from '../store/open';
import { requiredSchemaVersion } from '../store/schema-version';
import { TRIGGERS, type TriggerName } from '../triggers/registry';
import { mistCall, type MistApiOptions } from '../mist/api';
import { READ_REQUEST } from '../wiring/desired';
import {
  desiredEntry,
  entriesOf,
  entryDifference,
  installedTriggers,
  isOurEntry,
  NOT_INSTALLED,
  planProtocols,
  planRecordingPush,
  planStreams,
  readEntry,
  REFUSING_DEFAULT,
  specFor,
  type Desired,
} from '../wiring/plan';
import { describeDtsc, dtscEntries, isLoopbackInterface, PUSH_GUARD_REASON } from '../wiring/roles';
import { jwksCheck, mistControllerEnvironments, sessionsCheck, streamKeysCheck } from './bypass-checks';

export type Status = 'ok' | 'warn' | 'fail';

/** One finding: what was checked, what was found, and the fix when it is not ok. */
export interface Finding {
  check: string;
  status: Status;
  message: string;
  fix?: string;
}

/** The account MistServer runs as (its triggers and recorder write with its rights). */
export interface SystemUser {
  name: string;
  uid: number;
  gids: number[];
}

/** Looks a system user up in /etc/passwd and /etc/group; null when there is none. */
export function findSystemUser(name: string): SystemUser | null {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  const row = passwd.split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  if (!row) return null;
  const uid = Number(row[2]);
  const gids = new Set([Number(row[3])]);
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if ((f[3] ?? '').split(',').includes(name)) gids.add(Number(f[2]));
    }
  } catch {
    // no group file: the primary group only
  }
  return { name, uid, gids: [...gids] };
}

/** Whether `user` may do `bits` (4 read, 2 write, 1 execute/search) on a file with these stats. */
function allowed(st: Stats, user: SystemUser | null, bits: number): boolean {
  if (!user) return true; // checked with access() by the caller instead
  if (user.uid === 0) return bits !== 1 || (st.mode & 0o111) !== 0 || st.isDirectory();
  const shift = st.uid === user.uid ? 6 : user.gids.includes(st.gid) ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

/**
 * Whether the user may pass through every folder above `path` (search, x): a program or database
 * under a 0700 folder of another user is out of reach whatever its own mode says.
 */
function canReach(path: string, user: SystemUser | null): boolean {
  if (!user) return true; // this process: access() below walks the path itself
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      if (!allowed(statSync(dir), user, 1)) return false;
    } catch {
      return false;
    }
    if (dir === dirname(dir)) return true;
  }
}

/** Whether the user (else this process) may write `path`; for a directory also create files in it. */
function canWrite(path: string, user: SystemUser | null): boolean {
  if (!canReach(path, user)) return false;
  try {
    const st = statSync(path);
    if (!user) {
      accessSync(path, constants.W_OK | (st.isDirectory() ? constants.X_OK : 0));
      return true;
    }
    return allowed(st, user, st.isDirectory() ? 3 : 2);
  } catch {
    return false;
  }
}

/** Whether the user (else this process) may list and enter the folder `path` (read + search). */
function canRead(path: string, user: SystemUser | null): boolean {
  if (!canReach(path, user)) return false;
  try {
    const st = statSync(path);
    if (!user) {
      accessSync(path, constants.R_OK | constants.X_OK);
      return true;
    }
    return allowed(st, user, 5);
  } catch {
    return false;
  }
}

function canExecute(path: string, user: SystemUser | null): boolean {
  if (!canReach(path, user)) return false;
  try {
    const st = statSync(path);
    if (!st.isFile()) return false;
    if (!user) {
      accessSync(path, constants.X_OK);
      return true;
    }
    return allowed(st, user, 1);
  } catch {
    return false;
  }
}

export interface DoctorInput {
  dbPath: string;
  desired: Desired;
  /** null: checked with this process's own rights. */
  mistUser: SystemUser | null;
  mistUserName: string;
  conn: MistApiOptions;
  /** False when neither --api nor the mist-api setting names MistServer. */
  apiConfigured: boolean;
  /** The site's backend user install.sh gave the database to (SITE_USER), if any. */
  siteUserName?: string;
  /** The group the database is shared with (db_group=), if any. */
  dbGroup?: string;
  /**
   * False: skip the "programs run" check (it starts every trigger program, ~1 s). Only for tests
   * about other checks; the CLI always runs it.
   */
  runPrograms?: boolean;
  /** Where MistController's environment is read (/proc; tests give another folder). */
  procRoot?: string;
}

/** A group's id from /etc/group, or null when there is no such group. */
export function findGroupId(name: string): number | null {
  try {
    const row = readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
    return row ? Number(row[2]) : null;
  } catch {
    return null;
  }
}

/**
 * Running MistController processes (not root) that lack the group: started before install.sh
 * added their user to it, they keep their old groups and their triggers cannot write.
 */
function staleMistProcesses(gid: number): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const stale: number[] = [];
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'MistController') continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const groups = (/^Groups:(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).map(Number);
      const primary = Number(/^Gid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      if (uid !== 0 && primary !== gid && !groups.includes(gid)) stale.push(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return stale;
}

/** SITE_USER's access: the site's user can write the database, its folder keeps new files in the group. */
function siteAccess(db: string, siteUserName: string, dbGroup: string | undefined): Finding {
  const check = 'site access';
  const fix = `re-run install.sh as root with SITE_USER=${siteUserName}`;
  const site = findSystemUser(siteUserName);
  if (!site) return { check, status: 'fail', message: `no system user ${siteUserName} (site_user= in streamctl.conf)`, fix };
  const gid = dbGroup ? findGroupId(dbGroup) : null;
  if (!dbGroup || gid === null) return { check, status: 'fail', message: `the database's group ${dbGroup ?? '(db_group= not set)'} does not exist`, fix };
  const problems: string[] = [];
  if (!site.gids.includes(gid)) problems.push(`${siteUserName} is not in group ${dbGroup}`);
  const unwritable = [db, dirname(db), `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && !canWrite(p, site));
  if (unwritable.length) problems.push(`${siteUserName} cannot write ${unwritable.join(', ')}`);
  const folder = statSync(dirname(db));
  if (folder.gid !== gid || (folder.mode & 0o2000) === 0) problems.push(`${dirname(db)} is not setgid group ${dbGroup} (new -wal/-shm files would lock others out)`);
  return problems.length
    ? { check, status: 'fail', message: `${problems.join('; ')}: the site's calls fail`, fix }
    : { check, status: 'ok', message: `the site's user ${siteUserName} can write the database (group ${dbGroup})` };
}

/** The database's modes (it holds the token secret) and SQLite's own integrity check. */
function databaseChecks(db: string): Finding {
  const wide = [db, `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && excessDatabaseModeBits(p) !== 0);
  if (wide.length > 0) {
    return { check: 'database', status: 'fail', message: `${wide.join(', ')} readable or writable by more than its owner and group: the token secret is in there`, fix: `chmod ${databaseFileMode(dirname(db)).toString(8)} ${wide.join(' ')}` };
  }
  try {
    const handle = openReadOnly(db);
    try {
      // quick_check: the page-level checks of integrity_check without the slower index comparison.
      const rows = handle.pragma('quick_check') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((t) => t !== 'ok');
      if (problems.length > 0) return { check: 'database', status: 'fail', message: `quick_check: ${problems.slice(0, 3).join('; ')}`, fix: 'restore the database from a backup' };
      // Before 0007 a missing row still meant the defaults; `db migrate` writes them.
      const orphans = schemaVersion(handle) >= 7 ? usersWithoutPolicy(handle) : [];
      if (orphans.length > 0) {
        return { check: 'database', status: 'fail', message: `no channel policy row for ${orphans.slice(0, 5).join(', ')}: their viewers are refused`, fix: `streamctl channel set ${orphans[0]} --access <policy> (for each)` };
      }
    } finally {
      handle.close();
    }
  } catch (err) {
    return { check: 'database', status: 'fail', message: `quick_check could not run: ${oneLine(err)}`, fix: 'check the file; restore it from a backup if it is damaged' };
  }
  return { check: 'database', status: 'ok', message: 'quick_check ok; modes owner-only (or owner and group)' };
}

/** Runs every check; the order is the order of the report. */
export async function runDoctor(input: DoctorInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const who = input.mistUser ? `the MistServer user ${input.mistUser.name}` : 'this user';
  const owner = input.mistUserName;

  // Database: present, migrated, writable (SQLite also creates -wal/-shm files beside it).
  const db = input.dbPath;
  if (!existsSync(db)) {
    add({ check: 'database', status: 'fail', message: `no database at ${db}`, fix: "run 'streamctl db migrate' (or install.sh)" });
  } else {
    try {
      const handle = openReadOnly(db);
      const have = schemaVersion(handle);
      handle.close();
      const need = requiredSchemaVersion();
      add(
        have >= need
          ? { check: 'database', status: 'ok', message: `${db} (schema ${have})` }
          : { check: 'database', status: 'fail', message: `${db} is at schema ${have}, this build needs ${need}: triggers refuse everything`, fix: "run 'streamctl db migrate'" },
      );
    } catch (err) {
      add({ check: 'database', status: 'fail', message: `cannot open ${db}: ${oneLine(err)}`, fix: 'check the file; restore it from a backup if it is damaged' });
    }
    const unwritable = [db, dirname(db), `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && !canWrite(p, input.mistUser));
    add(
      unwritable.length === 0
        ? { check: 'database writable', status: 'ok', message: `${who} can write the database and its folder` }
        : { check: 'database writable', status: 'fail', message: `${who} cannot write ${unwritable.join(', ')}: triggers fail`, fix: `chown ${owner} ${unwritable.join(' ')} (or give its group write access)` },
    );
    add(databaseChecks(db));
  }

  if (input.siteUserName && existsSync(db)) add(siteAccess(db, input.siteUserName, input.dbGroup));
  const groupId = input.dbGroup ? findGroupId(input.dbGroup) : null;
  const stale = groupId === null ? [] : staleMistProcesses(groupId);
  if (stale.length) {
    add({ check: 'database writable', status: 'fail', message: `MistController (pid ${stale.join(', ')}) runs without the group ${input.dbGroup}: it was started before its user joined it, so its triggers cannot write the database`, fix: 'restart MistServer' });
  }

  // The database MistServer's triggers open: found through streamctl.conf, not this shell's environment.
  // An edge's triggers open none (they read the Redis replica).
  const role = input.desired.role ?? 'single';
  const seen = triggerDatabase();
  if (role === 'edge') {
    // nothing: the edge's programs never open SQLite
  } else if (!seen.path) {
    add({ check: 'trigger database', status: 'fail', message: `${seen.configFile} names no db=: triggers run by MistServer would look for ./data/streamctl.db in its working folder`, fix: `add db=${db} to ${seen.configFile} (install.sh writes it)` });
  } else if (seen.path !== db) {
    add({ check: 'trigger database', status: 'fail', message: `this command uses ${db} but MistServer's triggers use ${seen.path} (${seen.configFile})`, fix: 'unset STREAMCTL_DB, or set db= in the config file to the same path' });
  } else {
    add({ check: 'trigger database', status: 'ok', message: `MistServer's triggers use the same database (${seen.configFile})` });
  }
  if (seen.configFromEnv && role !== 'edge') {
    add({ check: 'trigger database', status: 'warn', message: `STREAMCTL_CONF points at ${seen.configFile}; MistServer's triggers read the config beside the programs unless their environment sets it too`, fix: 'install the config file beside the programs' });
  }

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
      : { check: 'programs', status: 'fail', message: `missing or not executable by ${who}: ${broken.join(', ')}`, fix: `make them and every folder above them executable by ${owner}, or run install.sh again (it installs and chmods every program)` },
  );
  if (broken.length === 0 && input.runPrograms !== false) {
    const runner = runAs(input.mistUser);
    const wrong = installedTriggers(role)
      .filter((name) => specFor(name, role) !== null)
      .map((name) => ({ name, problem: answersRefusal(runner, desiredEntry(name, input.desired).handler, name, specFor(name, role)!.refusal) }))
      .filter((r) => r.problem !== null);
    add(
      wrong.length === 0
        ? { check: 'programs run', status: 'ok', message: `every trigger program, run as ${runner.who}, answers its refusal to a malformed payload` }
        : {
            check: 'programs run',
            status: 'fail',
            message: `run as ${runner.who}: ${wrong.map((w) => `${w.name}: ${w.problem}`).join('; ')}`,
            fix: `make the programs and every folder above them readable and searchable by ${runner.who}, or run install.sh again`,
          },
    );
    if (runner.note) add({ check: 'programs run', status: 'warn', message: runner.note, fix: `run doctor as root (it then runs them as ${input.mistUser?.name})` });
  }

  // MistServer and its configuration.
  let answer: Record<string, unknown> | undefined;
  try {
    answer = await mistCall(input.conn, READ_REQUEST);
    const config = (answer.config ?? {}) as Record<string, unknown>;
    add({ check: 'mistserver', status: 'ok', message: `reachable at ${input.conn.url}${typeof config.version === 'string' ? ` (${config.version})` : ''}` });
  } catch (err) {
    add({
      check: 'mistserver',
      status: 'fail',
      message: oneLine(err),
      fix: input.apiConfigured ? 'start MistServer, or correct the URL with --api / streamctl config set mist-api <url>' : 'start MistServer, or name it: streamctl config set mist-api <url>',
    });
  }
  if (!input.apiConfigured) {
    add({ check: 'live effects', status: 'warn', message: 'the mist-api setting is empty: key revocations, bans and policy changes do not reach live sessions', fix: 'streamctl config set mist-api <url> (mist apply sets it)' });
  }
  if (answer) {
    for (const f of checkMistConfig(answer, input.desired)) add(f);
  } else {
    // Say what was not checked rather than drop it: a short report must not read as a clean one.
    const skipped = installedTriggers(role).length + MIST_CONFIG_CHECKS;
    add({
      check: 'mistserver config',
      status: 'warn',
      message: `${skipped} check(s) skipped because MistServer could not be asked: ${installedTriggers(role).length} trigger entries, streams, recording push, jwks, stream keys, DTSC`,
      fix: 'run doctor again once MistServer is reachable',
    });
  }
  // NOSESS in MistServer's environment: no sessions, so no USER_NEW (bypass-checks.ts).
  add(sessionsCheck(mistControllerEnvironments(input.procRoot)));

  // The VoD placeholder: what MistServer plays when STREAM_SOURCE answers nothing (an edge too).
  const placeholder = input.desired.vodSource;
  add(
    existsSync(placeholder) && statSync(placeholder).isFile()
      ? { check: 'vod placeholder', status: 'ok', message: placeholder }
      : { check: 'vod placeholder', status: 'warn', message: `${placeholder} does not exist: unknown or deleted recordings play nothing`, fix: `put a short harmless video at ${placeholder} (or streamctl config set vod-placeholder <file>, then mist apply)` },
  );

  // An edge records nothing (the origin does); it plays recordings from the origin's folder, mounted here.
  if (role === 'edge') {
    add(edgeRecordingsCheck(edgeRecordingsRoot(), input.mistUser, who));
    return findings;
  }

  // Recordings root: MistServer's recorder writes there.
  const root = input.desired.recordingsRoot;
  add(
    !existsSync(root) || !statSync(root).isDirectory()
      ? { check: 'recordings root', status: 'fail', message: `${root} does not exist`, fix: `mkdir -p ${root} && chown ${owner} ${root}` }
      : canWrite(root, input.mistUser)
        ? { check: 'recordings root', status: 'ok', message: `${who} can write ${root}` }
        : { check: 'recordings root', status: 'fail', message: `${who} cannot write ${root}: recordings fail`, fix: `chown ${owner} ${root}` },
  );
  return findings;
}

const APPLY = "run 'streamctl mist apply'";

/** An edge's recordings_root=: the origin's recordings folder on shared storage, readable by MistServer's user. */
function edgeRecordingsCheck(root: string | undefined, mistUser: DoctorInput['mistUser'], who: string): Finding {
  const check = 'recordings root';
  const fix = "mount the origin's recordings folder on this edge (NFS, or object storage through a mount) and set recordings_root=<that folder> in streamctl.conf (install.sh ROLE=edge RECORDINGS_ROOT=...)";
  if (!root) return { check, status: 'warn', message: 'no recordings_root= in streamctl.conf: recordings play the placeholder on this edge', fix };
  const problem = recordingsRootProblem(root);
  if (problem !== null) return { check, status: 'fail', message: `recordings_root=${root}: ${problem}`, fix };
  if (!existsSync(root) || !statSync(root).isDirectory()) return { check, status: 'fail', message: `${root} does not exist: recordings play the placeholder on this edge`, fix };
  if (!canRead(root, mistUser)) return { check, status: 'fail', message: `${who} cannot read ${root}: recordings play the placeholder on this edge`, fix: `let ${who} read ${root}` };
  return { check, status: 'ok', message: `${root} (the origin's recordings, shared storage): ${who} can read it` };
}

// No trigger takes 64 lines; every program must refuse this (and never reach a database).
const MALFORMED_PAYLOAD = Array(64).fill('streamctl-doctor').join('\n');

/** checkMistConfig's checks besides one per installed trigger: streams, recording push, jwks, stream keys, DTSC. */
const MIST_CONFIG_CHECKS = 5;

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
    return { who: me.username, wrap: (argv) => argv, note: `the programs ran as ${me.username}, not as MistServer's user ${user.name} (only root can switch); their modes were checked for ${user.name}` };
  }
  const setpriv = firstExisting(['/usr/bin/setpriv', '/bin/setpriv']);
  // The program is exec'd by a shell already running as the user: exec'd by setpriv itself right
  // after its setresuid, some kernels (seen on this project's CI VM) skip the folder permission
  // checks of the interpreter's path, and a program MistServer could not run would pass.
  if (setpriv) {
    return { who: user.name, wrap: (argv) => [setpriv, `--reuid=${user.uid}`, `--regid=${user.gids[0]}`, '--init-groups', '--', '/bin/sh', '-c', 'exec "$0" "$@"', ...argv] };
  }
  const runuser = firstExisting(['/usr/sbin/runuser', '/sbin/runuser']);
  if (runuser) return { who: user.name, wrap: (argv) => [runuser, '-u', user.name, '--', ...argv] };
  return { who: me.username, wrap: (argv) => argv, note: `neither setpriv nor runuser is installed: the programs ran as ${me.username}, not as ${user.name}` };
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
  if (r.stdout !== want) return `answered ${JSON.stringify(r.stdout.slice(0, 40))} instead of ${JSON.stringify(want)}: ${r.stderr.trim().split('\n')[0] ?? ''}`;
  return null;
}

/** Compares MistServer's configuration with what apply sets, naming each difference. */
export function checkMistConfig(answer: Record<string, unknown>, desired: Desired): Finding[] {
  const out: Finding[] = [];
  const config = (answer.config ?? {}) as Record<string, unknown>;
  const triggers = config.triggers;
  const isOurs = (raw: unknown) => isOurEntry(raw, desired);
  const role = desired.role ?? 'single';

  for (const name of installedTriggers(role)) {
    const check = `trigger ${name}`;
    const list = entriesOf(triggers, name);
    const ours = list.filter(isOurs);
    const wanted = desiredEntry(name, desired);
    const last = ours.length > 0 ? readEntry(ours[ours.length - 1]) : null;
    if (!last) {
      out.push({ check, status: 'fail', message: `missing handler: MistServer does not run streamctl for ${name}`, fix: APPLY });
      continue;
    }
    const problems: string[] = [];
    const diff = entryDifference(last, wanted);
    if (diff) problems.push(diff);
    if (ours.length > 1) problems.push(`${ours.length} streamctl handlers`);
    if (list[list.length - 1] !== ours[ours.length - 1]) problems.push("another handler runs after streamctl's and its answer wins");
    if (last.handler !== '' && !canExecute(last.handler, null)) problems.push(`handler ${last.handler} is missing`);
    if (problems.length > 0) {
      out.push({ check, status: 'fail', message: problems.join('; '), fix: APPLY });
      continue;
    }
    const spec = specFor(name, role);
    if (spec === null) {
      // The edge's push guard: foreign PUSH_REWRITE handlers run before it, but its answer wins.
      out.push({ check, status: 'ok', message: `no handler, default "${REFUSING_DEFAULT}": ${PUSH_GUARD_REASON}` });
      continue;
    }
    const foreign = list.length - ours.length;
    if (foreign > 0 && spec.blocking) {
      out.push({ check, status: 'warn', message: `${foreign} other handler(s) also run on ${name}; MistServer refuses if any of them refuses`, fix: 'remove them unless you meant them' });
    }
    const note = spec.blocking && spec.refusal === '' ? ` (default "${REFUSING_DEFAULT}" stands for the empty refusal: MistServer would turn an empty default into true)` : '';
    // USER_NEW's `!#open` filter: the fast path for open channels (entryDifference fails without it).
    const filter = wanted.streams.length > 0 ? `, streams ${wanted.streams.join(',')}` : '';
    out.push({ check, status: 'ok', message: `${last.handler}${spec.blocking ? ', blocking' : ''}${filter}${note}` });
  }

  // Trigger names apply does not install: streamctl handlers there are stale; both rewrites clash.
  const names = triggers && typeof triggers === 'object' ? Object.keys(triggers) : [];
  for (const name of names) {
    if ((installedTriggers(role) as string[]).includes(name)) continue;
    const list = entriesOf(triggers, name);
    const ours = list.filter(isOurs);
    if (name === 'RTMP_PUSH_REWRITE' && list.length > 0) {
      out.push({ check: `trigger ${name}`, status: 'fail', message: `both rewrite triggers are set: ${NOT_INSTALLED.RTMP_PUSH_REWRITE}`, fix: ours.length === list.length ? APPLY : 'remove the RTMP_PUSH_REWRITE handlers in MistServer' });
      continue;
    }
    if (ours.length > 0) {
      const why = role === 'edge' && name in TRIGGERS ? `a one-box handler is set on this edge (${readEntry(ours[0])?.handler ?? ''}): an edge runs only the viewer-side triggers` : 'a streamctl handler is set on a trigger streamctl does not handle';
      out.push({ check: `trigger ${name}`, status: 'fail', message: why, fix: APPLY });
    }
    for (const raw of list.filter((e) => !isOurs(e))) {
      const seen = readEntry(raw);
      if (!seen) continue;
      if (seen.sync && seen.default === '') {
        out.push({ check: `trigger ${name}`, status: 'warn', message: `blocking handler ${seen.handler} (not streamctl's) has an empty default: fail-open when it is slow`, fix: 'give it an explicit refusing default in MistServer' });
      }
      if (seen.handler.startsWith('/') && !existsSync(seen.handler)) {
        out.push({ check: `trigger ${name}`, status: 'warn', message: `missing handler ${seen.handler} (not streamctl's)`, fix: 'remove the entry or install the program' });
      }
    }
  }

  const streams = planStreams(answer.streams, desired).changes;
  out.push(
    streams.length === 0
      ? {
          check: 'streams',
          status: 'ok',
          message: role === 'edge' ? `${desired.base} pulls from ${desired.pullSource ?? ''}, ${desired.vodBase} (${desired.vodSource})` : `${desired.base} (push://) and ${desired.vodBase} (${desired.vodSource})`,
        }
      : { check: 'streams', status: 'fail', message: streams.map((c) => `${c.name}: ${c.action === 'add' ? 'missing' : c.detail}`).join('; '), fix: APPLY },
  );
  const push = planRecordingPush(answer, desired).changes;
  out.push(
    push.length === 0
      ? { check: 'recording push', status: 'ok', message: role === 'edge' ? 'none (the origin records)' : `${desired.base}+ → ${desired.recordingsRoot}` }
      : { check: 'recording push', status: 'fail', message: push.map((c) => `${c.action === 'add' ? 'missing' : 'extra'}: ${c.detail}`).join('; '), fix: APPLY },
  );
  out.push(jwksCheck(answer), streamKeysCheck(answer));
  out.push(...dtscChecks(answer, desired));
  return out;
}

/**
 * MistServer's DTSC output: the origin needs it where edges reach it; anywhere else it is a way
 * around USER_NEW (a DTSC pull is an output session: MistServer runs no USER_NEW for it). Streams
 * an edge could take pushes for are named too (the push guard refuses them anyway).
 */
function dtscChecks(answer: Record<string, unknown>, desired: Desired): Finding[] {
  const out: Finding[] = [];
  const config = (answer.config ?? {}) as Record<string, unknown>;
  const role = desired.role ?? 'single';
  const open = dtscEntries(config.protocols).filter((p) => !isLoopbackInterface(p.interface));
  const where = open.map(describeDtsc).join(', ');
  if (role === 'origin') {
    const planned = planProtocols(config.protocols, desired).changes;
    out.push(
      planned.length > 0
        ? { check: 'dtsc', status: 'fail', message: `edges cannot pull: ${planned.map((c) => c.detail).join('; ')}`, fix: APPLY }
        : { check: 'dtsc', status: 'warn', message: `DTSC on ${where} serves every stream without USER_NEW: only the edges may reach it`, fix: 'firewall the DTSC port to the edges\' addresses (docs/deployment.md)' },
    );
  } else if (open.length > 0) {
    out.push({ check: 'dtsc', status: 'warn', message: `DTSC listens on ${where}: anyone who reaches it plays every stream without USER_NEW`, fix: 'bind MistServer\'s DTSC protocol to 127.0.0.1 (or remove it), or firewall the port' });
  } else {
    out.push({ check: 'dtsc', status: 'ok', message: 'DTSC not reachable from other hosts' });
  }
  if (role === 'edge') {
    const streams = (answer.streams ?? {}) as Record<string, { source?: unknown }>;
    const pushable = Object.entries(streams).filter(([, v]) => typeof v?.source === 'string' && v.source.startsWith('push://')).map(([k]) => k);
    if (pushable.length > 0) out.push({ check: 'pushes', status: 'warn', message: `stream(s) ${pushable.join(', ')} take pushes on this edge (the PUSH_REWRITE guard refuses them while it is set)`, fix: 'remove them: an edge takes no pushes' });
  }
  return out;
}
