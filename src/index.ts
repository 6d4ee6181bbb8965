// The Node entry point (`require('streamctl')` / `import ... from 'streamctl'`): the same typed
// functions the CLI commands call, for a Node site that would rather not spawn the CLI. Built by
// scripts/build.ts into dist/index.js with its declarations in dist/types/.
import { databasePath } from './config';
import { UserError } from './lib/errors';
import { applyLiveEffects as applyEffects, type LiveEffect } from './live/session-effects';
import { migrate } from './store/migrate';
import { openForCli, type Db } from './store/open';

export type { Db } from './store/open';
export { UserError };
export { canonicalName, nameProblem } from './lib/names';
export { checkViewerId } from './access/viewer-id';
export { createUserWithKey, addKey, rotateKeys } from './ingest/keys';
export { findUserByName, findUserByExternalId, listUsers, setUserDisabled, deleteUser, type User } from './store/users';
export { ACCESS_POLICIES, getChannel, updateChannel, type AccessPolicy, type Channel, type ChannelPatch } from './store/channels';
export { upsertGrant, deleteGrant, listGrants, findActiveGrant, type Grant } from './store/grants';
export { insertBan, deleteBan, listBans, type Ban, type BanKind } from './store/bans';
export { rotateTokenSecret } from './access/token-secrets';
export { currentSecret, type TokenKey } from './store/token-keys';
export {
  syncSite,
  SyncInputError,
  SYNC_INPUT_SCHEMA,
  type SyncInput,
  type SyncUser,
  type SyncChannel,
  type SyncBan,
  type SyncChange,
  type SyncReport,
  type SyncSummary,
  type SyncLiveEffect,
} from './site/sync';
export type { LiveEffect } from './live/session-effects';

/**
 * Opens streamctl's database (default: STREAMCTL_DB, else the installed streamctl.conf's db=) and
 * migrates it like the CLI does. A missing file is an error (a mistyped path must not become a new
 * empty database) unless `create` is given. Close it with `db.close()`.
 */
export function openDatabase(path: string = databasePath(), opts: { create?: boolean } = {}): Db {
  // openForCli names a missing file unless create is given (the same rule as the CLI).
  const db = openForCli(path, { create: opts.create });
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Sends live effects (a sync's `live_effects`, or your own) to MistServer through the `mist-api`
 * setting, as the CLI does after a change; never throws. Each outcome is one line to `log`.
 */
export async function applyLiveEffects(
  db: Db,
  effects: LiveEffect[],
  log: (line: string) => void = (l) => void process.stderr.write(l),
): Promise<void> {
  await applyEffects({ db: () => db, err: log }, effects);
}
