// Reaching MistServer's API from the CLI: which URL and login, and its failures as user errors.
import { mistApiCredentials } from '../config';
import { EXIT, UserError } from '../lib/errors';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { MistApiError, mistCall, type MistApiOptions } from './api';

/** Default API URL: MistServer's own default, on loopback (authorised without login). */
export const DEFAULT_MIST_API = 'http://127.0.0.1:4242';

export interface MistConnectionOptions {
  api?: string;
  user?: string;
  password?: string;
}

/** The API connection: --api, else the mist-api setting, else loopback; login from flags or the installed config;
 * a configured login that cannot be used is reported through `warn`. */
export function mistConnection(db: Db, opts: MistConnectionOptions, warn: (line: string) => void): MistApiOptions {
  const url = opts.api ?? (getSetting(db, 'mist-api') || DEFAULT_MIST_API);
  if (!/^https?:\/\/[^\s/?#]+/.test(url)) throw new UserError(`invalid --api "${url}": expected a URL such as ${DEFAULT_MIST_API}`);
  if (opts.user !== undefined) return { url, username: opts.user, password: opts.password ?? '' };
  const creds = mistApiCredentials();
  if (creds.problem) warn(creds.problem);
  return { url, username: creds.username, password: creds.password };
}

/** Sends one request; MistServer's failures become one-line user errors with the MistServer exit code. */
export async function callMist(conn: MistApiOptions, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  try {
    return await mistCall(conn, body);
  } catch (err) {
    if (err instanceof MistApiError) throw new UserError(err.message, EXIT.mistUnavailable);
    throw err;
  }
}
