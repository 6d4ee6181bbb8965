// The edge's trigger runner: like run-trigger.ts (stdin → parse → decide → exactly one answer on
// stdout, errors → one stderr line and the refusal), but an edge has no database: decisions read
// Redis (the local replica; the origin's primary for the viewer cap). Loads neither SQLite nor
// anything that opens it, so an edge program's bundle holds no better-sqlite3.
import { debugEnabled, mistEventEnv, redisPassword, redisPrimary, redisReplica } from '../config';
import type { EdgeRedis } from '../edge/edge-redis';
import { connectRedis, type RedisClient } from '../lib/resp';
import type { Answer } from '../triggers/answer';
import { TRIGGERS, type TriggerName } from '../triggers/registry';
import type { EdgeTrigger, EdgeTriggerContext } from '../triggers/types';
import { answerOnce, backgroundInto, closeInheritedSockets, readAllStdin, stderrLine } from './trigger-io';

/**
 * How long the local replica may take to connect and to answer a read. It is on this host (a unix
 * socket, ~0.1 ms); anything this slow is a stuck server, and the viewer is refused.
 */
export const REPLICA_TIMEOUT_MS = 1000;

/** Redis as streamctl.conf describes it (redis_replica=, redis_primary=, redis_password_file=), connected on first use. */
export function edgeRedisFromConfig(log: (line: string) => void): EdgeRedis {
  let password: string | undefined;
  let passwordRead = false;
  const auth = () => {
    if (!passwordRead) {
      passwordRead = true;
      const r = redisPassword();
      if (r.problem) log(r.problem);
      password = r.password;
    }
    return password;
  };
  let replica: Promise<RedisClient> | undefined;
  let primary: Promise<RedisClient> | undefined;
  return {
    replica() {
      const target = redisReplica();
      if (!target)
        return Promise.reject(new Error('no Redis replica configured (redis_replica= in streamctl.conf, or STREAMCTL_REDIS_REPLICA)'));
      return (replica ??= connectRedis(target, { timeoutMs: REPLICA_TIMEOUT_MS, password: auth() }));
    },
    primary(timeoutMs) {
      const target = redisPrimary();
      if (!target)
        return Promise.reject(new Error('no Redis primary configured (redis_primary= in streamctl.conf, or STREAMCTL_REDIS_PRIMARY)'));
      return (primary ??= connectRedis(target, { timeoutMs, password: auth() }));
    },
  };
}

/** Runs one edge trigger as MistServer does: writes exactly one answer and ends the process. */
export function runEdgeTrigger<E, N extends TriggerName>(trigger: EdgeTrigger<E, N>): void | Promise<void> {
  const name = trigger.name;
  // Asynchronous handlers: see run-trigger.ts (signals from the MistServer process that fired them,
  // sockets inherited from it).
  if (!TRIGGERS[name].blocking) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => {});
    closeInheritedSockets();
  }
  const log = (line: string) => stderrLine(name, line);
  const background: Promise<unknown>[] = [];
  const decide = (): Answer | Promise<Answer> => {
    const event = trigger.parse(readAllStdin());
    const now = Date.now();
    const mist = mistEventEnv();
    const ctx: EdgeTriggerContext = {
      now,
      eventTime: Number.isSafeInteger(mist.time) && mist.time > 0 ? mist.time : now,
      eventId: mist.eventId,
      log,
      debug: debugEnabled() ? log : () => {},
      redis: edgeRedisFromConfig(log),
    };
    if (!TRIGGERS[name].blocking) ctx.background = backgroundInto(background, log);
    return trigger.decide(event, ctx);
  };
  return answerOnce(name, log, decide, background);
}
