// `streamctl doctor`: checks the install the way MistServer will meet it — database, programs,
// MistServer's configuration, recordings folder — and says how to fix each problem found.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { childEnv, triggerDatabase } from '../config';
import { oneLine } from '../lib/errors';
import { openReadOnly, schemaVersion } from '../store/open';
import { requiredSchemaVersion } from '../store/schema-version';
import { TRIGGERS, type TriggerName } from '../triggers/registry';
import { mistCall, type MistApiOptions } from './api';
import { READ_REQUEST } from './desired';
import {
  desiredEntry,
  entriesOf,
  entryDifference,
  installedTriggers,
  jwksCount,
  NOT_INSTALLED,
  planRecordingPush,
  planStreams,
  readEntry,
  REFUSING_DEFAULT,
  type Desired,
} from './plan';

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

/** Whether the user (else this process) may write `path`; for a directory also create files in it. */
function canWrite(path: string, user: SystemUser | null): boolean {
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

function canExecute(path: string, user: SystemUser | null): boolean {
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
  }

  // The database MistServer's triggers open: found through streamctl.conf, not this shell's environment.
  const seen = triggerDatabase();
  if (!seen.path) {
    add({ check: 'trigger database', status: 'fail', message: `${seen.configFile} names no db=: triggers run by MistServer would look for ./data/streamctl.db in its working folder`, fix: `add db=${db} to ${seen.configFile} (install.sh writes it)` });
  } else if (seen.path !== db) {
    add({ check: 'trigger database', status: 'fail', message: `this command uses ${db} but MistServer's triggers use ${seen.path} (${seen.configFile})`, fix: 'unset STREAMCTL_DB, or set db= in the config file to the same path' });
  } else {
    add({ check: 'trigger database', status: 'ok', message: `MistServer's triggers use the same database (${seen.configFile})` });
  }
  if (seen.configFromEnv) {
    add({ check: 'trigger database', status: 'warn', message: `STREAMCTL_CONF points at ${seen.configFile}; MistServer's triggers read the config beside the programs unless their environment sets it too`, fix: 'install the config file beside the programs' });
  }

  // Programs: every handler apply configures.
  const handlers = new Map<string, string[]>();
  for (const name of installedTriggers()) {
    const h = desiredEntry(name, input.desired).handler;
    handlers.set(h, [...(handlers.get(h) ?? []), name]);
  }
  const broken = [...handlers.keys()].filter((h) => !canExecute(h, input.mistUser));
  add(
    broken.length === 0
      ? { check: 'programs', status: 'ok', message: `${handlers.size} trigger program(s) installed and executable by ${who}` }
      : { check: 'programs', status: 'fail', message: `missing or not executable by ${who}: ${broken.join(', ')}`, fix: 'run install.sh again (it installs and chmods every program)' },
  );
  if (broken.length === 0) {
    const wrong = installedTriggers()
      .map((name) => ({ name, problem: answersRefusal(desiredEntry(name, input.desired).handler, name) }))
      .filter((r) => r.problem !== null);
    add(
      wrong.length === 0
        ? { check: 'programs run', status: 'ok', message: 'every trigger program answers its refusal to a malformed payload' }
        : { check: 'programs run', status: 'fail', message: wrong.map((w) => `${w.name}: ${w.problem}`).join('; '), fix: 'run install.sh again (npm run build, or npm run package for the executable)' },
    );
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
  if (answer) for (const f of checkMistConfig(answer, input.desired)) add(f);

  // The VoD placeholder: what MistServer plays when STREAM_SOURCE answers nothing.
  const placeholder = input.desired.vodSource;
  add(
    existsSync(placeholder) && statSync(placeholder).isFile()
      ? { check: 'vod placeholder', status: 'ok', message: placeholder }
      : { check: 'vod placeholder', status: 'warn', message: `${placeholder} does not exist: unknown or deleted recordings play nothing`, fix: `put a short harmless video at ${placeholder} (or streamctl config set vod-placeholder <file>, then mist apply)` },
  );

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

// No trigger takes 64 lines; every program must refuse this (and never reach a database).
const MALFORMED_PAYLOAD = Array(64).fill('streamctl-doctor').join('\n');

/** Runs a handler as MistServer would on a malformed payload; null when it answers its refusal. */
function answersRefusal(handler: string, trigger: TriggerName): string | null {
  const r = spawnSync(handler, [trigger], {
    input: MALFORMED_PAYLOAD,
    encoding: 'utf8',
    timeout: 5000,
    env: childEnv({ STREAMCTL_DB: '/nonexistent/streamctl-doctor.db', MIST_TRIGGER: trigger }),
  });
  if (r.error) return `did not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  const want = TRIGGERS[trigger].refusal;
  if (r.stdout !== want) return `answered ${JSON.stringify(r.stdout.slice(0, 40))} instead of ${JSON.stringify(want)}: ${r.stderr.trim().split('\n')[0] ?? ''}`;
  return null;
}

/** Compares MistServer's configuration with what apply sets, naming each difference. */
export function checkMistConfig(answer: Record<string, unknown>, desired: Desired): Finding[] {
  const out: Finding[] = [];
  const config = (answer.config ?? {}) as Record<string, unknown>;
  const triggers = config.triggers;
  const isOurs = (raw: unknown) => desired.isOurHandler(readEntry(raw)?.handler ?? '');

  for (const name of installedTriggers()) {
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
    if (!canExecute(last.handler, null)) problems.push(`handler ${last.handler} is missing`);
    if (problems.length > 0) {
      out.push({ check, status: 'fail', message: problems.join('; '), fix: APPLY });
      continue;
    }
    const spec = TRIGGERS[name];
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
    if ((installedTriggers() as string[]).includes(name)) continue;
    const list = entriesOf(triggers, name);
    const ours = list.filter(isOurs);
    if (name === 'RTMP_PUSH_REWRITE' && list.length > 0) {
      out.push({ check: `trigger ${name}`, status: 'fail', message: `both rewrite triggers are set: ${NOT_INSTALLED.RTMP_PUSH_REWRITE}`, fix: ours.length === list.length ? APPLY : 'remove the RTMP_PUSH_REWRITE handlers in MistServer' });
      continue;
    }
    if (ours.length > 0) out.push({ check: `trigger ${name}`, status: 'fail', message: 'a streamctl handler is set on a trigger streamctl does not handle', fix: APPLY });
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
      ? { check: 'streams', status: 'ok', message: `${desired.base} (push://) and vod (${desired.vodSource})` }
      : { check: 'streams', status: 'fail', message: streams.map((c) => `${c.name}: ${c.action === 'add' ? 'missing' : c.detail}`).join('; '), fix: APPLY },
  );
  const push = planRecordingPush(answer, desired).changes;
  out.push(
    push.length === 0
      ? { check: 'recording push', status: 'ok', message: `${desired.base}+ → ${desired.recordingsRoot}` }
      : { check: 'recording push', status: 'fail', message: push.map((c) => `${c.action === 'add' ? 'missing' : 'extra'}: ${c.detail}`).join('; '), fix: APPLY },
  );
  const keys = jwksCount(answer);
  out.push(
    keys === 0
      ? { check: 'jwks', status: 'ok', message: 'no keys registered in MistServer (streamctl checks tokens itself)' }
      : { check: 'jwks', status: 'fail', message: `${keys} key(s) registered in MistServer's jwks: their token holders skip USER_NEW (no bans, caps or revocation)`, fix: `${APPLY}, then restart MistServer` },
  );
  return out;
}
