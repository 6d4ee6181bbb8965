// The origin's Redis primary as streamctl.conf names it (redis_primary=, redis_password_file=),
// for the origin's own trigger programs: its USER_NEW and USER_END count and free viewer-cap and
// viewer-sessions places there, in the same hashes as the edges (one count per channel
// wherever the viewer lands). Connected on first use only.
import { redisPassword, redisPrimary } from '../config';
import { connectRedis, type RedisClient } from '../lib/resp';
import type { EdgeRedis } from './admit';

/** The primary, connected on first use; `log` gets a password file problem. */
export function primaryFromConfig(log: (line: string) => void): Pick<EdgeRedis, 'primary'> {
  let primary: Promise<RedisClient> | undefined;
  return {
    primary(timeoutMs) {
      const target = redisPrimary();
      if (!target)
        return Promise.reject(new Error('no Redis primary configured (redis_primary= in streamctl.conf, or STREAMCTL_REDIS_PRIMARY)'));
      const auth = redisPassword();
      if (auth.problem) log(auth.problem);
      return (primary ??= connectRedis(target, { timeoutMs, password: auth.password }));
    },
  };
}
