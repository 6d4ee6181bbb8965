// The deployment settings in streamctl.conf (role, Redis endpoints, password file),
// with the STREAMCTL_* environment overrides tests and operators use.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisPassword, redisPrimary, redisReplica, role } from '../src/config';
import { tempDir } from './support/helpers';

const VARS = ['STREAMCTL_CONF', 'STREAMCTL_ROLE', 'STREAMCTL_REDIS_REPLICA', 'STREAMCTL_REDIS_PRIMARY', 'STREAMCTL_REDIS_PASSWORD_FILE'];
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
afterEach(() => {
  for (const v of VARS)
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
});

function useConf(text: string): string {
  const dir = tempDir();
  const conf = join(dir, 'streamctl.conf');
  writeFileSync(conf, text);
  for (const v of VARS) delete process.env[v];
  process.env.STREAMCTL_CONF = conf;
  return dir;
}

describe('role and Redis settings', () => {
  it('defaults to a single box with no Redis', () => {
    useConf('db=/tmp/x.db\n');
    expect(role()).toBe('single');
    expect(redisReplica()).toBeUndefined();
    expect(redisPrimary()).toBeUndefined();
    expect(redisPassword()).toEqual({});
  });

  it('reads role, replica and primary from streamctl.conf, and the environment overrides them', () => {
    useConf('role=edge\nredis_replica=/run/redis/replica.sock\nredis_primary=10.0.0.1:6379\n');
    expect(role()).toBe('edge');
    expect(redisReplica()).toBe('/run/redis/replica.sock');
    expect(redisPrimary()).toBe('10.0.0.1:6379');
    process.env.STREAMCTL_ROLE = 'origin';
    process.env.STREAMCTL_REDIS_REPLICA = '/tmp/r.sock';
    process.env.STREAMCTL_REDIS_PRIMARY = '/tmp/p.sock';
    expect([role(), redisReplica(), redisPrimary()]).toEqual(['origin', '/tmp/r.sock', '/tmp/p.sock']);
  });

  it('refuses an unknown role, naming the value and where it came from', () => {
    useConf('role=edgy\n');
    expect(() => role()).toThrow(/unknown role "edgy" in .*streamctl\.conf \(role=\): expected single, origin or edge/);
    process.env.STREAMCTL_ROLE = 'primary';
    expect(() => role()).toThrow(/unknown role "primary" in STREAMCTL_ROLE/);
  });

  it('reads the Redis password from its file, and not from one everyone may read', () => {
    const dir = useConf('');
    const file = join(dir, 'redis.pw');
    writeFileSync(file, 'pw-123\n');
    chmodSync(file, 0o640);
    process.env.STREAMCTL_REDIS_PASSWORD_FILE = file;
    expect(redisPassword()).toEqual({ password: 'pw-123' });
    chmodSync(file, 0o644);
    const r = redisPassword();
    expect(r.password).toBeUndefined();
    expect(r.problem).toContain('readable by everyone');
    expect(r.problem).not.toContain('pw-123');
    process.env.STREAMCTL_REDIS_PASSWORD_FILE = join(dir, 'missing');
    expect(redisPassword().problem).toMatch(/cannot read .*missing \(ENOENT\)/);
  });
});
