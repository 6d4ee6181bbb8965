// The recordings root as commands that touch files need it: set, usable, absolute.
import { resolve } from 'node:path';
import { UserError } from '../lib/errors';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { recordingsRootProblem } from './recording-path';

/** The configured root, or a UserError: nothing on disk is touched without one. */
export function requireRecordingsRoot(db: Db): string {
  const root = getSetting(db, 'recordings-root');
  if (root === '') throw new UserError('recordings-root is not set (streamctl config set recordings-root <dir>)');
  const problem = recordingsRootProblem(root);
  if (problem) throw new UserError(`recordings-root "${root}" is unusable: ${problem}`);
  return resolve(root);
}
