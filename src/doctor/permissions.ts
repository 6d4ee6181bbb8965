import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

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
  const row = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
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
export function canReach(path: string, user: SystemUser | null): boolean {
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
export function canWrite(path: string, user: SystemUser | null): boolean {
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
export function canRead(path: string, user: SystemUser | null): boolean {
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

export function canExecute(path: string, user: SystemUser | null): boolean {
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

/** A group's id from /etc/group, or null when there is no such group. */
export function findGroupId(name: string): number | null {
  try {
    const row = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name);
    return row ? Number(row[2]) : null;
  } catch {
    return null;
  }
}
