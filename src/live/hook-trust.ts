// Who a site hook runs as, and whether its program may run at all. The hooks table is in the
// database, which MistServer's user can write by design, so a hook is something that user could
// have chosen. Two rules keep that from becoming more than MistServer's own rights:
//  1. The program (links resolved) and every folder above it must be owned by root or by the
//     account the hook runs as, and writable by nobody else (a sticky folder such as /tmp aside:
//     others cannot rename or remove what they do not own there), so no less privileged user could
//     have written or swapped it. The resolved path is what runs, so a link cannot be re-pointed
//     between the check and the run.
//  2. A hook never runs with more rights than the accounts that can write the database: as root,
//     streamctl runs it as the database file's owner, or as the installed config's mist_user when
//     root owns a group-writable database; when it can find neither, it does not run it.
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { readInstalledConfig } from '../config';

/** The account a hook runs as; uid/gid undefined = this process's own. */
export interface HookRunner {
  uid?: number;
  gid?: number;
  /** For messages: "this user", "mistserver (uid 112)". */
  who: string;
}

/** uid and primary gid of a system account from /etc/passwd, or null. */
function passwdEntry(name: string): { uid: number; gid: number } | null {
  try {
    const row = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name);
    return row ? { uid: Number(row[2]), gid: Number(row[3]) } : null;
  } catch {
    return null;
  }
}

/** Who the hook runs as when the database at `dbPath` is the one that named it; a string is why it must not run. */
export function hookRunner(dbPath: string): HookRunner | string {
  const euid = process.geteuid?.();
  if (euid === undefined || euid !== 0) return { who: 'this user' };
  // An in-memory database (tests, the Node entry point) has no file another user could have written.
  if (dbPath === ':memory:') return { who: 'this user' };
  let st;
  try {
    st = statSync(dbPath);
  } catch {
    return 'cannot check who owns the database';
  }
  if (st.uid !== 0) return { uid: st.uid, gid: st.gid, who: `the database owner (uid ${st.uid})` };
  if ((st.mode & 0o022) === 0) return { who: 'root (only root can write the database)' };
  const name = readInstalledConfig().mist_user;
  const account = name ? passwdEntry(name) : null;
  if (!account)
    return 'streamctl runs as root and others can write the database, but no mist_user= in the installed config says whom to run the hook as';
  return { uid: account.uid, gid: account.gid, who: `${name} (uid ${account.uid})` };
}

/** Owners a hook program and its folders may have: root and the account it runs as. */
function trustedOwner(uid: number, runner: HookRunner): boolean {
  return uid === 0 || uid === (runner.uid ?? process.geteuid?.());
}

/** The real path to run, or why the program is not trusted (see rule 1 above). */
export function trustedHookProgram(program: string, runner: HookRunner): { path: string } | { problem: string } {
  if (!isAbsolute(program)) return { problem: 'not an absolute path' };
  let real: string;
  try {
    real = realpathSync(program);
  } catch (err) {
    return { problem: `cannot resolve it (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  for (let p = real, isProgram = true; ; p = dirname(p), isProgram = false) {
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      return { problem: `cannot check ${p} (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    if (isProgram && !st.isFile()) return { problem: 'not a regular file' };
    if (!trustedOwner(st.uid, runner)) return { problem: `${p} is owned by uid ${st.uid}, neither root nor ${runner.who}` };
    // A sticky folder (/tmp) may be shared: others cannot rename or remove what they do not own.
    if ((st.mode & 0o022) !== 0 && (isProgram || (st.mode & 0o1000) === 0))
      return { problem: `${p} is writable by its group or by others` };
    if (p === dirname(p)) break;
  }
  return { path: real };
}
