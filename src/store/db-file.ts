// The database file's permissions. It holds the HS256 token secret and the channel policies, so
// only its owner may read it (0600), or its owner and one group (0660) when the folder is shared
// with a group the way install.sh shares it with MistServer's user: setgid on the folder, so every
// file SQLite makes there keeps that group. SQLite gives the -wal and -shm files the database's own
// mode, so getting the main file right at creation covers all three.
import { closeSync, fchmodSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The mode a database in `folder` gets: 0660 in a setgid (group-shared) folder, else 0600. */
export function databaseFileMode(folder: string): number {
  try {
    return (statSync(folder).mode & 0o2000) !== 0 ? 0o660 : 0o600;
  } catch {
    return 0o600;
  }
}

/** Creates an empty database file with databaseFileMode, whatever the umask; an existing file is left alone. */
export function createDatabaseFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return; // made by a concurrent migrate
    throw err;
  }
  try {
    // Explicit, so a permissive umask cannot widen it and a strict one cannot take the group away.
    fchmodSync(fd, databaseFileMode(dirname(path)));
  } finally {
    closeSync(fd);
  }
}

/** The permission bits of a database file (or its -wal/-shm) that go beyond what it should have. */
export function excessDatabaseModeBits(path: string): number {
  return statSync(path).mode & 0o777 & ~databaseFileMode(dirname(path));
}
