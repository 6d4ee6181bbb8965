// The minimal RESP2 client against a real redis-server (unix socket, and TCP for chunked values).
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, RedisReplyError, type RedisClient } from '../../src/lib/resp';
import { NO_REDIS, REDIS_SERVER, startRedis, type TestRedis } from '../support/redis';

if (!REDIS_SERVER) console.log(NO_REDIS);

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe.skipIf(!REDIS_SERVER)('resp client', () => {
  let redis: TestRedis;
  let client: RedisClient;
  beforeAll(async () => {
    redis = await startRedis();
    client = await connectRedis(redis.socket);
  });
  afterAll(async () => {
    client?.close();
    await redis?.stop();
  });

  it('reads simple strings, bulk strings, integers and nil', async () => {
    expect(await client.call('PING')).toBe('PONG');
    expect(await client.call('SET', 'k', 'v')).toBe('OK');
    expect(await client.call('GET', 'k')).toBe('v');
    expect(await client.call('INCRBY', 'n', 41)).toBe(41);
    expect(await client.call('INCR', 'n')).toBe(42);
    expect(await client.call('GET', 'missing')).toBeNull();
    expect(await client.call('SET', 'empty', '')).toBe('OK');
    expect(await client.call('GET', 'empty')).toBe('');
  });

  it('reads arrays, empty arrays, nil inside arrays and nested arrays', async () => {
    await client.call('DEL', 'h');
    await client.call('HSET', 'h', 'a', '1', 'b', '2');
    expect(await client.call('HGETALL', 'h')).toEqual(['a', '1', 'b', '2']);
    expect(await client.call('HGETALL', 'nothing')).toEqual([]);
    expect(await client.call('MGET', 'k', 'missing')).toEqual(['v', null]);
    expect(await client.call('EVAL', "return {1, 'two', {3, {'four'}}, false}", 0)).toEqual([1, 'two', [3, ['four']], null]);
  });

  it('rejects a call with the error reply, and puts error replies in a pipeline in place', async () => {
    await client.call('SET', 'str', 'x');
    const err = await client.call('HGET', 'str', 'f').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisReplyError);
    expect((err as Error).message).toMatch(/^WRONGTYPE/);
    const replies = await client.pipeline([['GET', 'str'], ['HGET', 'str', 'f'], ['NOSUCHCOMMAND'], ['GET', 'k']]);
    expect(replies[0]).toBe('x');
    expect(replies[1]).toBeInstanceOf(Error);
    expect(replies[2]).toBeInstanceOf(Error);
    expect((replies[2] as Error).message).toMatch(/unknown command/i);
    expect(replies[3]).toBe('v');
    // An error reply inside an array (Lua returning a table with an error) stays an Error too.
    const nested = (await client.call('EVAL', "return {1, redis.error_reply('BAD thing')}", 0)) as unknown[];
    expect(nested[0]).toBe(1);
    expect(nested[1]).toBeInstanceOf(Error);
    // The connection is still usable after error replies.
    expect(await client.call('PING')).toBe('PONG');
  });

  it('is binary-safe: CR LF, NUL and multi-byte UTF-8 round-trip with byte lengths', async () => {
    const value = 'a\r\nb\0c é € 🎥 $3\r\n*1\r\n';
    await client.call('SET', 'bin', value);
    expect(await client.call('GET', 'bin')).toBe(value);
    expect(await client.call('STRLEN', 'bin')).toBe(Buffer.byteLength(value));
    await client.call('SET', 'key with spaces é', 'ok');
    expect(await client.call('GET', 'key with spaces é')).toBe('ok');
  });

  it('answers a pipeline in order, in one round trip, alongside concurrent calls', async () => {
    const cmds = Array.from({ length: 200 }, (_, i) => ['SET', `p${i}`, `v${i}`]);
    const sets = client.pipeline(cmds);
    const gets = client.pipeline(Array.from({ length: 200 }, (_, i) => ['GET', `p${i}`]));
    const single = client.call('GET', 'p7');
    expect(await sets).toEqual(Array(200).fill('OK'));
    expect(await gets).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
    expect(await single).toBe('v7');
    expect(await client.pipeline([])).toEqual([]);
  });

  it('reads a big value that arrives in many chunks, over a unix socket and over TCP', async () => {
    // Multi-byte characters make chunk boundaries fall inside a character too.
    const big = '€x'.repeat(700_000);
    await client.call('SET', 'big', big);
    const [a, b, c] = await client.pipeline([
      ['GET', 'big'],
      ['STRLEN', 'big'],
      ['GET', 'k'],
    ]);
    expect(a).toBe(big);
    expect(b).toBe(Buffer.byteLength(big));
    expect(c).toBe('v');

    const port = await freePort();
    const tcp = await startRedis(['--port', String(port), '--bind', '127.0.0.1']);
    try {
      const overTcp = await connectRedis(`127.0.0.1:${port}`);
      await overTcp.call('SET', 'big', big);
      const list = Array.from({ length: 5000 }, (_, i) => `item-${i}-é`);
      await overTcp.call('RPUSH', 'list', ...list);
      const [value, items] = await overTcp.pipeline([
        ['GET', 'big'],
        ['LRANGE', 'list', 0, -1],
      ]);
      expect(value).toBe(big);
      expect(items).toEqual(list);
      overTcp.close();
    } finally {
      await tcp.stop();
    }
  });

  it('names the target when it cannot connect', async () => {
    const path = `${redis.dir}/no-such.sock`;
    await expect(connectRedis(path)).rejects.toThrow(`redis ${path}: ENOENT`);
    const port = await freePort();
    await expect(connectRedis(`127.0.0.1:${port}`)).rejects.toThrow(`redis 127.0.0.1:${port}: ECONNREFUSED`);
    await expect(connectRedis('no-port-here')).rejects.toThrow('redis no-port-here: not a socket path or host:port');
  });

  it('times out on a stopped server, naming the target, and later calls fail fast', async () => {
    const other = await startRedis();
    try {
      const c = await connectRedis(other.socket, { timeoutMs: 150 });
      expect(await c.call('PING')).toBe('PONG');
      other.pause();
      const started = Date.now();
      await expect(c.call('GET', 'k')).rejects.toThrow(`redis ${other.socket}: no answer within 150 ms`);
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(c.pipeline([['PING']])).rejects.toThrow(other.socket);
      // Connecting to a stopped server succeeds at the socket level; the first call times out.
      const late = await connectRedis(other.socket, { timeoutMs: 100 });
      await expect(late.call('PING')).rejects.toThrow('no answer within 100 ms');
    } finally {
      await other.stop();
    }
  });

  it('rejects calls after close and when the server goes away', async () => {
    const other = await startRedis();
    const c = await connectRedis(other.socket);
    c.close();
    await expect(c.call('PING')).rejects.toThrow(`redis ${other.socket}: connection closed`);
    const d = await connectRedis(other.socket);
    await other.stop();
    await expect(d.call('PING')).rejects.toThrow(other.socket);
  });

  it('authenticates with a password and never shows it in an error', async () => {
    const secured = await startRedis(['--requirepass', 's3cret-pw']);
    try {
      const ok = await connectRedis(secured.socket, { password: 's3cret-pw' });
      expect(await ok.call('PING')).toBe('PONG');
      ok.close();
      const wrong = await connectRedis(secured.socket, { password: 'nope-pw' }).catch((e: Error) => e);
      expect(wrong).toBeInstanceOf(Error);
      expect((wrong as Error).message).toContain(`redis ${secured.socket}: AUTH refused`);
      expect((wrong as Error).message).not.toContain('nope-pw');
      const none = await connectRedis(secured.socket);
      await expect(none.call('GET', 'k')).rejects.toThrow(/NOAUTH/);
      none.close();
    } finally {
      await secured.stop();
    }
  });
});
