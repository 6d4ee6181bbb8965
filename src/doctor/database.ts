import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { triggerDatabase } from '../config';
import { oneLine } from '../lib/errors';
import { usersWithoutPolicy } from '../store/channels';
import { databaseFileMode, excessDatabaseModeBits } from '../store/db-file';
import { openReadOnly, schemaVersion } from '../store/open';
import { requiredSchemaVersion } from '../store/schema-version';
import type { Finding } from './finding';
import type { DoctorInput, DoctorScope } from './doctor';
import { canWrite, findGroupId, findSystemUser } from './permissions';
import { staleMistProcesses } from './processes';

/** SITE_USER's access: the site's user can write the database, its folder keeps new files in the group. */
function siteAccess(db: string, siteUserName: string, dbGroup: string | undefined): Finding {
  const check = 'site access';
  const fix = `re-run install.sh as root with SITE_USER=${siteUserName}`;
  const site = findSystemUser(siteUserName);
  if (!site) return { check, status: 'fail', message: `no system user ${siteUserName} (site_user= in streamctl.conf)`, fix };
  const gid = dbGroup ? findGroupId(dbGroup) : null;
  if (!dbGroup || gid === null)
    return { check, status: 'fail', message: `the database's group ${dbGroup ?? '(db_group= not set)'} does not exist`, fix };
  const problems: string[] = [];
  if (!site.gids.includes(gid)) problems.push(`${siteUserName} is not in group ${dbGroup}`);
  const unwritable = [db, dirname(db), `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && !canWrite(p, site));
  if (unwritable.length) problems.push(`${siteUserName} cannot write ${unwritable.join(', ')}`);
  const folder = statSync(dirname(db));
  if (folder.gid !== gid || (folder.mode & 0o2000) === 0)
    problems.push(`${dirname(db)} is not setgid group ${dbGroup} (new -wal/-shm files would lock others out)`);
  return problems.length
    ? { check, status: 'fail', message: `${problems.join('; ')}: the site's calls fail`, fix }
    : { check, status: 'ok', message: `the site's user ${siteUserName} can write the database (group ${dbGroup})` };
}

/** The database's modes (it holds the token secret) and SQLite's own integrity check. */
function databaseChecks(db: string): Finding {
  const wide = [db, `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && excessDatabaseModeBits(p) !== 0);
  if (wide.length > 0) {
    return {
      check: 'database',
      status: 'fail',
      message: `${wide.join(', ')} readable or writable by more than its owner and group: the token secret is in there`,
      fix: `chmod ${databaseFileMode(dirname(db)).toString(8)} ${wide.join(' ')}`,
    };
  }
  try {
    const handle = openReadOnly(db);
    try {
      // quick_check: the page-level checks of integrity_check without the slower index comparison.
      const rows = handle.pragma('quick_check') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((t) => t !== 'ok');
      if (problems.length > 0)
        return {
          check: 'database',
          status: 'fail',
          message: `quick_check: ${problems.slice(0, 3).join('; ')}`,
          fix: 'restore the database from a backup',
        };
      // Before 0007 a missing row still meant the defaults; `db migrate` writes them.
      const orphans = schemaVersion(handle) >= 7 ? usersWithoutPolicy(handle) : [];
      if (orphans.length > 0) {
        return {
          check: 'database',
          status: 'fail',
          message: `no channel policy row for ${orphans.slice(0, 5).join(', ')}: their viewers are refused`,
          fix: `streamctl channel set ${orphans[0]} --access <policy> (for each)`,
        };
      }
    } finally {
      handle.close();
    }
  } catch (err) {
    return {
      check: 'database',
      status: 'fail',
      message: `quick_check could not run: ${oneLine(err)}`,
      fix: 'check the file; restore it from a backup if it is damaged',
    };
  }
  return { check: 'database', status: 'ok', message: 'quick_check ok; modes owner-only (or owner and group)' };
}

/** The database: present, migrated, writable by MistServer's user, its modes and integrity; the site user's access; stale groups. */
export function databaseFindings(input: DoctorInput, scope: DoctorScope): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const { who, owner } = scope;
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
          : {
              check: 'database',
              status: 'fail',
              message: `${db} is at schema ${have}, this build needs ${need}: triggers refuse everything`,
              fix: "run 'streamctl db migrate'",
            },
      );
    } catch (err) {
      add({
        check: 'database',
        status: 'fail',
        message: `cannot open ${db}: ${oneLine(err)}`,
        fix: 'check the file; restore it from a backup if it is damaged',
      });
    }
    const unwritable = [db, dirname(db), `${db}-wal`, `${db}-shm`].filter((p) => existsSync(p) && !canWrite(p, input.mistUser));
    add(
      unwritable.length === 0
        ? { check: 'database writable', status: 'ok', message: `${who} can write the database and its folder` }
        : {
            check: 'database writable',
            status: 'fail',
            message: `${who} cannot write ${unwritable.join(', ')}: triggers fail`,
            fix: `chown ${owner} ${unwritable.join(' ')} (or give its group write access)`,
          },
    );
    add(databaseChecks(db));
  }

  if (input.siteUserName && existsSync(db)) add(siteAccess(db, input.siteUserName, input.dbGroup));
  const groupId = input.dbGroup ? findGroupId(input.dbGroup) : null;
  const stale = groupId === null ? [] : staleMistProcesses(groupId);
  if (stale.length) {
    add({
      check: 'database writable',
      status: 'fail',
      message: `MistController (pid ${stale.join(', ')}) runs without the group ${input.dbGroup}: it was started before its user joined it, so its triggers cannot write the database`,
      fix: 'restart MistServer',
    });
  }
  return out;
}

/** The database MistServer's triggers open: found through streamctl.conf, not this shell's environment. */
export function triggerDatabaseFindings(input: DoctorInput, scope: DoctorScope): Finding[] {
  const out: Finding[] = [];
  const add = (f: Finding) => out.push(f);
  const { role } = scope;
  const db = input.dbPath;
  // The database MistServer's triggers open: found through streamctl.conf, not this shell's environment.
  // An edge's triggers open none (they read the Redis replica).
  const seen = triggerDatabase();
  if (role === 'edge') {
    // nothing: the edge's programs never open SQLite
  } else if (!seen.path) {
    add({
      check: 'trigger database',
      status: 'fail',
      message: `${seen.configFile} names no db=: triggers run by MistServer would look for ./data/streamctl.db in its working folder`,
      fix: `add db=${db} to ${seen.configFile} (install.sh writes it)`,
    });
  } else if (seen.path !== db) {
    add({
      check: 'trigger database',
      status: 'fail',
      message: `this command uses ${db} but MistServer's triggers use ${seen.path} (${seen.configFile})`,
      fix: 'unset STREAMCTL_DB, or set db= in the config file to the same path',
    });
  } else {
    add({ check: 'trigger database', status: 'ok', message: `MistServer's triggers use the same database (${seen.configFile})` });
  }
  if (seen.configFromEnv && role !== 'edge') {
    add({
      check: 'trigger database',
      status: 'warn',
      message: `STREAMCTL_CONF points at ${seen.configFile}; MistServer's triggers read the config beside the programs unless their environment sets it too`,
      fix: 'install the config file beside the programs',
    });
  }
  return out;
}
