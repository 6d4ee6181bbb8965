// doctor's checks of what only an origin or an edge has: its Redis (docs/deployment.md). An edge
// reads admission data from its local replica, which must refuse rather than serve stale data
// (`replica-serve-stale-data no`) and notice a cut link within seconds (`repl-timeout`); both roles
// reach the origin's primary (the relay writes there, the edges count the viewer cap there).
import type { ServerRole } from '../config';
import { oneLine } from '../lib/errors';
import { connectRedis, type RedisClient, type RespValue } from '../lib/resp';
import { keys } from '../replica/schema';
import type { Finding } from './finding';

/** The longest repl-timeout (s) an edge may have: a cut-off edge must start refusing within ~that. */
export const MAX_REPL_TIMEOUT = 10;

export interface RedisCheckInput {
  role: ServerRole;
  /** An edge's replica socket (redis_replica=). */
  replica?: string;
  /** The origin's primary (redis_primary=). */
  primary?: string;
  password?: string;
  /** A configured password that could not be used, and why. */
  passwordProblem?: string;
  /** This server's stream and VoD names (its settings): an edge's must match the origin's. */
  base: string;
  vodBase: string;
  timeoutMs?: number;
}

const FIX_CONF = 'see docs/deployment.md (Redis); install.sh ROLE=... writes the Redis config';

/** CONFIG GET's answer as one value ('' when the server does not say). */
function configValue(reply: RespValue): string {
  return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '';
}

/** One field of INFO replication ('' when absent). */
function infoField(info: RespValue, field: string): string {
  if (typeof info !== 'string') return '';
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m ? m[1]!.trim() : '';
}

async function withClient<T>(target: string, input: RedisCheckInput, fn: (c: RedisClient) => Promise<T>): Promise<T> {
  const client = await connectRedis(target, { timeoutMs: input.timeoutMs ?? 1000, password: input.password });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The edge's replica: reachable, a replica of a live primary, refusing when stale, quick to notice a cut. */
async function replicaChecks(input: RedisCheckInput): Promise<Finding[]> {
  const check = 'redis replica';
  if (!input.replica) {
    return [
      {
        check,
        status: 'fail',
        message: 'no redis_replica= in streamctl.conf: the edge cannot admit anyone',
        fix: 'install.sh ROLE=edge REDIS_REPLICA=/run/redis/redis-server.sock (or set redis_replica=)',
      },
    ];
  }
  if (!input.replica.startsWith('/')) {
    return [
      {
        check,
        status: 'warn',
        message: `redis_replica=${input.replica} is not a unix socket: every viewer pays a TCP round trip`,
        fix: "use the replica's unixsocket (replica.conf)",
      },
    ];
  }
  try {
    return await withClient(input.replica, input, async (c) => {
      const [info, stale, timeout, settings] = await c.pipeline([
        ['INFO', 'replication'],
        ['CONFIG', 'GET', 'replica-serve-stale-data'],
        ['CONFIG', 'GET', 'repl-timeout'],
        ['GET', keys.settings],
      ]);
      const out: Finding[] = [];
      const role = infoField(info!, 'role');
      const link = infoField(info!, 'master_link_status');
      if (role !== 'slave') {
        out.push({
          check,
          status: 'fail',
          message: `${input.replica} is a ${role || 'server of unknown role'}, not a replica: nothing the origin changes reaches it`,
          fix: `replicaof <origin> 6379 in its config; ${FIX_CONF}`,
        });
      } else if (link !== 'up') {
        out.push({
          check,
          status: 'fail',
          message: `${input.replica}: link to the primary ${infoField(info!, 'master_host')}:${infoField(info!, 'master_port')} is ${link || 'unknown'}: non-public channels are refused`,
          fix: 'check the network to the origin and its Redis (bind, requirepass/masterauth)',
        });
      } else {
        out.push({
          check,
          status: 'ok',
          message: `${input.replica}: replica of ${infoField(info!, 'master_host')}:${infoField(info!, 'master_port')}, link up`,
        });
      }
      if (stale instanceof Error || timeout instanceof Error) {
        out.push({
          check: 'redis replica config',
          status: 'warn',
          message: `cannot read the replica's settings (${oneLine(stale instanceof Error ? stale : timeout)}): replica-serve-stale-data and repl-timeout unchecked`,
          fix: FIX_CONF,
        });
      } else {
        const problems: string[] = [];
        if (configValue(stale!) !== 'no')
          problems.push(
            `replica-serve-stale-data is ${configValue(stale!) || 'unset'}: a cut-off edge would admit from stale data (bans, revocations missed)`,
          );
        const t = Number(configValue(timeout!));
        if (!(t > 0 && t <= MAX_REPL_TIMEOUT))
          problems.push(
            `repl-timeout is ${configValue(timeout!) || 'unset'}: a cut link is noticed only after that many seconds (want ≤ ${MAX_REPL_TIMEOUT}, e.g. 5)`,
          );
        out.push(
          problems.length === 0
            ? { check: 'redis replica config', status: 'ok', message: `replica-serve-stale-data no, repl-timeout ${t}` }
            : {
                check: 'redis replica config',
                status: 'fail',
                message: problems.join('; '),
                fix: `replica-serve-stale-data no and repl-timeout 5 in the replica's config; ${FIX_CONF}`,
              },
        );
      }
      // The edge names its streams from its own settings; they must be the origin's.
      if (typeof settings === 'string') {
        try {
          const s = JSON.parse(settings) as Record<string, string>;
          const wrong = [
            ['stream-base', input.base],
            ['vod-base', input.vodBase],
          ].filter(([k, v]) => s[k!] !== undefined && s[k!] !== v);
          out.push(
            wrong.length === 0
              ? { check: 'stream names', status: 'ok', message: `${input.base} and ${input.vodBase}, as on the origin` }
              : {
                  check: 'stream names',
                  status: 'fail',
                  message: wrong.map(([k, v]) => `${k} is ${v} here but ${s[k!]} on the origin`).join('; '),
                  fix: `streamctl config set ${wrong[0]![0]} ${s[wrong[0]![0]!]}, then streamctl mist apply`,
                },
          );
        } catch {
          out.push({
            check: 'stream names',
            status: 'warn',
            message: `${keys.settings} on the replica is not JSON`,
            fix: 'streamctl edge resync (on the origin)',
          });
        }
      } else if (!(settings instanceof Error)) {
        out.push({
          check: 'stream names',
          status: 'warn',
          message: `the replica holds no ${keys.settings}: the origin has not published yet`,
          fix: 'streamctl edge resync (on the origin)',
        });
      }
      return out;
    });
  } catch (err) {
    return [
      {
        check,
        status: 'fail',
        message: `${oneLine(err)}: the edge refuses every non-public viewer`,
        fix: `start the replica (redis-server with replica.conf); ${FIX_CONF}`,
      },
    ];
  }
}

/** The origin's primary: reachable (the relay writes there; edges count the viewer cap there). */
async function primaryCheck(input: RedisCheckInput): Promise<Finding> {
  const check = 'redis primary';
  if (!input.primary) {
    return {
      check,
      status: 'fail',
      message: `no redis_primary= in streamctl.conf: ${input.role === 'edge' ? 'capped channels refuse every viewer' : 'the relay cannot publish'}`,
      fix: 'install.sh REDIS_PRIMARY=<origin>:6379 (or set redis_primary=)',
    };
  }
  try {
    return await withClient(input.primary, input, async (c) => {
      const info = await c.call('INFO', 'replication');
      const role = infoField(info, 'role');
      if (role !== 'master')
        return {
          check,
          status: 'fail',
          message: `${input.primary} is a ${role || 'server of unknown role'}, not the primary`,
          fix: "point redis_primary= at the origin's Redis",
        };
      return {
        check,
        status: 'ok',
        message: `${input.primary}: primary, ${infoField(info, 'connected_slaves') || '0'} replica(s) connected`,
      };
    });
  } catch (err) {
    return {
      check,
      status: 'fail',
      message: `${oneLine(err)}: ${input.role === 'edge' ? 'capped channels refuse every viewer' : 'changes do not reach the edges'}`,
      fix: `start the origin's Redis and let this host reach it; ${FIX_CONF}`,
    };
  }
}

/** The Redis findings for this role (none for one box). */
export async function redisChecks(input: RedisCheckInput): Promise<Finding[]> {
  if (input.role === 'single') return [];
  const out: Finding[] = [];
  if (input.passwordProblem)
    out.push({
      check: 'redis password',
      status: 'fail',
      message: input.passwordProblem,
      fix: "chmod 640 the password file (owner root, group of MistServer's user)",
    });
  if (input.role === 'edge') out.push(...(await replicaChecks(input)));
  out.push(await primaryCheck(input));
  return out;
}
