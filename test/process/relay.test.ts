// The relay as an origin runs it (a systemd service: `streamctl edge relay` until SIGTERM), fed by
// changes other processes make. What it publishes and how: test/replica/relay.test.ts, in process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys } from '../../src/replica/schema';
import { baseEnv, BIN, cliProcess, freshDb } from '../support/helpers';
import { NO_REDIS, REDIS_SERVER, startRedis, type TestRedis } from '../support/redis';

describe.skipIf(!REDIS_SERVER)('streamctl edge relay, the program', () => {
  let server: TestRedis;
  let client: RedisClient;
  beforeAll(async () => {
    server = await startRedis();
    client = await connectRedis(server.socket);
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  it('the built relay runs until SIGTERM, publishes a change made by another process, and exits 0', async () => {
    const file = freshDb();
    const env = { STREAMCTL_REDIS_PRIMARY: server.socket };
    expect(cliProcess(file, ['user', 'add', 'alice'], env).status).toBe(0);
    expect(cliProcess(file, ['edge', 'resync'], env).status).toBe(0);
    const relay = spawn(join(BIN, 'streamctl'), ['edge', 'relay'], {
      env: baseEnv({ STREAMCTL_DB: file, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    relay.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => relay.once('exit', (code) => r(code)));
    try {
      expect(cliProcess(file, ['user', 'disable', 'alice'], env).status).toBe(0);
      const deadline = Date.now() + 10_000;
      while (!JSON.parse(((await client.call('GET', keys.channel('alice'))) as string) || '{}').disabled) {
        expect(Date.now(), `relay did not publish: ${stderr}`).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      relay.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/published 1 change\(s\) from 1 outbox row\(s\)/);
    expect(stderr).toMatch(/stopped: published 1 change/);
  });
});

describe.skipIf(REDIS_SERVER)('streamctl edge relay, the program', () => {
  it.skip(NO_REDIS, () => {});
});
