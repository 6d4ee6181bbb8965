// Doctor's replication checks on an origin: the outbox drains (the relay runs), Redis matches
// SQLite, and the edges' APIs the relay sends re-checks to answer.
import { mistApiCredentials } from '../config';
import { edgeUrls } from '../live/edge-session-effects';
import { mistCall } from '../mist/api';
import { checkReplication } from '../replica/check';
import type { Db } from '../store/open';
import { outboxStats } from '../store/replication';
import type { Finding } from './finding';

/** Changes older than this still queued: the relay is not running (it polls every ~100 ms). */
const STUCK_MS = 60_000;

/**
 * The origin's replication: the outbox drains (the relay runs) and Redis matches SQLite. Skipped
 * when the database or the primary already failed (their findings say why).
 */
export async function originReplication(
  db: Db,
  findings: Finding[],
  primary: string | undefined,
  password: string | undefined,
  now: number,
): Promise<Finding[]> {
  if (findings.some((f) => (f.check === 'database' || f.check === 'redis primary') && f.status === 'fail') || !primary) return [];
  const out: Finding[] = [];
  const stats = outboxStats(db);
  if (stats.pending > 0 && stats.oldestAt !== null && now - stats.oldestAt > STUCK_MS) {
    out.push({
      check: 'outbox',
      status: 'fail',
      message: `${stats.pending} change(s) queued, the oldest ${Math.round((now - stats.oldestAt) / 1000)} s ago: edges are not getting bans, revocations or policy changes`,
      fix: 'start the relay: systemctl enable --now streamctl-relay (or streamctl edge relay)',
    });
  } else {
    out.push({ check: 'outbox', status: 'ok', message: `${stats.pending} change(s) queued` });
  }
  const r = await checkReplication(db, primary, password, now);
  out.push({ check: 'replication', status: r.status, message: r.message, ...(r.fix ? { fix: r.fix } : {}) });
  out.push(...(await edgeApis(db)));
  return out;
}

/** The edges' APIs the relay sends re-checks to (the `edges` setting): listed, and answering. */
async function edgeApis(db: Db): Promise<Finding[]> {
  const urls = edgeUrls(db);
  if (urls.length === 0) {
    return [
      {
        check: 'edges',
        status: 'warn',
        message:
          'the edges setting is empty: a ban or policy change reaches the replicas, but viewers already watching on an edge keep playing',
        fix: 'streamctl config set edges http://<edge>:4242/api,... (every edge)',
      },
    ];
  }
  const creds = mistApiCredentials();
  const results = await Promise.all(
    urls.map(async (url) => {
      try {
        await mistCall({ url, username: creds.username, password: creds.password, timeoutMs: 3000 }, {});
        return null;
      } catch (err) {
        return `${url}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const failed = results.filter((r): r is string => r !== null);
  return failed.length === 0
    ? [{ check: 'edges', status: 'ok', message: `${urls.length} edge API(s) answer` }]
    : [
        {
          check: 'edges',
          status: 'fail',
          message: `${failed.join('; ')}: their viewers are not re-checked after a ban or policy change`,
          fix: 'start the edge, let the origin reach its API, or set mist_api_user= / mist_api_password_file= (the same account on every edge)',
        },
      ];
}
