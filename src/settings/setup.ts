// The installed database's set-up, which install.sh runs on every install and upgrade
// (`streamctl db setup`): the schema, the HS256 token secret the site signs playback tokens with,
// and the settings whose defaults follow the state folder. One CLI start for the whole step.
import { dirname } from 'node:path';
import type { ServerRole } from '../config';
import { UsageError } from '../lib/errors';
import { rotateTokenSecret } from '../access/token-secrets';
import { migrate } from '../store/migrate';
import type { Migration } from '../store/migrations';
import type { Db } from '../store/open';
import { durationMs, getSetting, SETTING_DEFAULTS, type SettingName } from '../store/settings';
import { currentSecret } from '../store/token-keys';
import { setSetting } from './rules';

/** What set-up found or did; the token secret itself is never part of it. */
export interface DatabaseSetup {
  /** Migrations applied now (none: the schema was up to date). */
  applied: Migration[];
  /** created: there was no current secret; kept: there was; none: an edge (it verifies with the origin's keys). */
  tokenSecret: 'created' | 'kept' | 'none';
  /**
   * Secrets a new one stopped at once (token-secret-grace 0 while an old one was still in its
   * grace): their viewers are to be re-checked, as after `token secret`.
   */
  stoppedSecrets: number;
  /** The recordings-root setting after set-up. */
  recordingsRoot: string;
  /** The vod-placeholder setting after set-up. */
  vodPlaceholder: string;
}

/** Stores a value set-up chose, refusing what `config set` would refuse (and as it does: a usage error, exit 2). */
function setDefault(db: Db, name: SettingName, value: string): string {
  const problem = setSetting(db, name, value);
  if (problem) throw new UsageError(`cannot set ${name} to "${value}" (from the state folder): ${problem}`);
  return value;
}

/**
 * Migrates the database, then in one transaction: makes the token secret if there is none (never
 * on an edge), sets recordings-root to <stateDir>/recordings when it is unset, and moves the
 * default vod-placeholder (/var/lib/streamctl/placeholder.mkv) into stateDir when stateDir is
 * another folder. The operator's own values are kept. Idempotent.
 */
export function setUpDatabase(db: Db, opts: { stateDir: string; role: ServerRole; now: number }): DatabaseSetup {
  const applied = migrate(db);
  return db
    .transaction(() => {
      let tokenSecret: DatabaseSetup['tokenSecret'] = 'none';
      let stoppedSecrets = 0;
      if (opts.role !== 'edge' && currentSecret(db)) tokenSecret = 'kept';
      else if (opts.role !== 'edge') {
        // As `token secret` without --grace.
        const grace = durationMs('token-secret-grace', getSetting(db, 'token-secret-grace'));
        const { retired } = rotateTokenSecret(db, opts.now, grace);
        tokenSecret = 'created';
        if (grace === 0) stoppedSecrets = retired;
      }
      let recordingsRoot = getSetting(db, 'recordings-root');
      if (recordingsRoot === '') recordingsRoot = setDefault(db, 'recordings-root', `${opts.stateDir}/recordings`);
      let vodPlaceholder = getSetting(db, 'vod-placeholder');
      const systemPlaceholder = SETTING_DEFAULTS['vod-placeholder'];
      if (vodPlaceholder === systemPlaceholder && opts.stateDir !== dirname(systemPlaceholder)) {
        vodPlaceholder = setDefault(db, 'vod-placeholder', `${opts.stateDir}/placeholder.mkv`);
      }
      return { applied, tokenSecret, stoppedSecrets, recordingsRoot, vodPlaceholder };
    })
    .immediate();
}
