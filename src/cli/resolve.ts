// Lookups shared by commands, with the user-facing error when nothing matches.
import { UserError } from '../lib/errors';
import { canonicalName } from '../lib/names';
import type { Db } from '../store/open';
import { findUserByName, type User } from '../store/users';

/** The user named on the command line (case-insensitive), or a UserError. */
export function requireUser(db: Db, name: string): User {
  const user = findUserByName(db, canonicalName(name));
  if (!user) throw new UserError(`no user named "${name}" (see 'streamctl user list')`);
  return user;
}
