// Shared setup of the in-process `mist apply` / `doctor` tests (test/cli/mist, test/cli/doctor).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { TRIGGERS } from '../../src/triggers/registry';
import { freshDb, tempDir } from './helpers';
import { cli } from './cli';

/** The triggers a one-box `mist apply` installs (RTMP_PUSH_REWRITE is left to the operator). */
export const INSTALLED = Object.entries(TRIGGERS).filter(([name]) => name !== 'RTMP_PUSH_REWRITE');

/** A migrated database whose recordings root and placeholder are in a temp dir. */
export async function setupDb(): Promise<{ db: string; root: string }> {
  const db = freshDb();
  const root = join(tempDir(), 'recordings');
  mkdirSync(root);
  expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
  expect((await cli(db, ['config', 'set', 'vod-placeholder', join(root, 'placeholder.mkv')])).status).toBe(0);
  return { db, root };
}
