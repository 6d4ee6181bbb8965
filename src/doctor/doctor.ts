// `streamctl doctor`: checks the install the way MistServer will meet it — database, programs,
// MistServer's configuration, recordings folder — and says how to fix each problem found. Doctor is
// a list of checks, one family per file in this folder; the order of CHECKS is the report's.
import type { MistApiOptions } from '../mist/api';
import type { Desired } from '../wiring/plan';
import { databaseFindings, triggerDatabaseFindings } from './database';
import type { Finding } from './finding';
import { mistServerFindings } from './mist-config';
import type { SystemUser } from './permissions';
import { programFindings } from './programs';
import { storageFindings } from './storage';

export type { Finding, Status } from './finding';
export { findSystemUser, findGroupId, type SystemUser } from './permissions';
export { checkMistConfig } from './mist-config';

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

/** What every check words its findings with: who MistServer runs as, and the server's role. */
export interface DoctorScope {
  /** "the MistServer user <name>", or "this user" when checked with this process's rights. */
  who: string;
  /** The account a fix hands files to (chown). */
  owner: string;
  role: NonNullable<Desired['role']>;
}

/** One family of checks. */
export type Check = (input: DoctorInput, scope: DoctorScope) => Finding[] | Promise<Finding[]>;

/** Every check, in the order of the report. */
export const CHECKS: readonly Check[] = [databaseFindings, triggerDatabaseFindings, programFindings, mistServerFindings, storageFindings];

/** Runs every check; the order is the order of the report. */
export async function runDoctor(input: DoctorInput): Promise<Finding[]> {
  const scope: DoctorScope = {
    who: input.mistUser ? `the MistServer user ${input.mistUser.name}` : 'this user',
    owner: input.mistUserName,
    role: input.desired.role ?? 'single',
  };
  const findings: Finding[] = [];
  for (const check of CHECKS) findings.push(...(await check(input, scope)));
  return findings;
}
