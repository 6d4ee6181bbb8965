// The origin's replicated data written straight into Redis by the layout in src/replica/schema.ts
// (the relay and `edge resync` write the same keys from SQLite), plus a real primary + replica pair
// (`replicaof`, `replica-serve-stale-data no`, as an edge runs it) for the edge's tests.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys, REPLICATED_SETTINGS, type BanValue, type ChannelValue, type KeyValue, type SettingsValue } from '../../src/replica/schema';
import { SETTING_DEFAULTS } from '../../src/store/settings';
import { startRedis, type TestRedis } from './redis';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export interface ReplicaPair {
  /** The origin's primary: TCP on loopback (`host:port`, as an edge reaches it) and a socket. */
  primary: TestRedis;
  primaryTarget: string;
  /** The edge's local replica: its unix socket. */
  replica: TestRedis;
  /** A client on the primary for writing test data. */
  writer: RedisClient;
  /** Waits until every replica has every write made so far. */
  synced(): Promise<void>;
  /** Starts another replica of the primary (a second edge); stopped with the pair. */
  addReplica(): Promise<TestRedis>;
  stop(): Promise<void>;
}

/** Waits until a replica reports its link to the primary up. */
async function linked(replica: TestRedis): Promise<void> {
  const probe = await connectRedis(replica.socket, { timeoutMs: 5000 });
  try {
    const deadline = Date.now() + 10_000;
    while (!/master_link_status:up/.test(String(await probe.call('INFO', 'replication')))) {
      if (Date.now() > deadline) throw new Error('the replica did not link to the primary within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    probe.close();
  }
}

/** Starts a primary and a replica of it, as on an origin and an edge. */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const port = await freePort();
  // No 5 s wait for more replicas before the first full sync (the default): tests start them one by one.
  const primary = await startRedis(['--port', String(port), '--bind', '127.0.0.1', '--repl-diskless-sync-delay', '0']);
  const replica = await startRedis([
    '--replicaof',
    '127.0.0.1',
    String(port),
    '--replica-serve-stale-data',
    'no',
    '--replica-read-only',
    'yes',
  ]);
  const writer = await connectRedis(primary.socket, { timeoutMs: 5000 });
  await linked(replica);
  const replicas = [replica];
  return {
    primary,
    primaryTarget: `127.0.0.1:${port}`,
    replica,
    writer,
    async synced() {
      // WAIT covers this connection's own writes only; one write here comes after every write other
      // clients (the relay) made before it, so its acknowledgement covers theirs too.
      await writer.call('INCR', 'test:synced');
      const acked = await writer.call('WAIT', replicas.length, 5000);
      if (acked !== replicas.length) throw new Error(`${String(acked)} of ${replicas.length} replicas acknowledged`);
    },
    async addReplica() {
      const another = await startRedis([
        '--replicaof',
        '127.0.0.1',
        String(port),
        '--replica-serve-stale-data',
        'no',
        '--replica-read-only',
        'yes',
      ]);
      await linked(another);
      replicas.push(another);
      return another;
    },
    async stop() {
      writer.close();
      for (const r of replicas) await r.stop();
      await primary.stop();
    },
  };
}

/** `sc:settings` with every replicated setting's default, some replaced. */
export async function putSettings(c: RedisClient, over: Partial<SettingsValue> = {}): Promise<void> {
  const value = Object.fromEntries(REPLICATED_SETTINGS.map((n) => [n, SETTING_DEFAULTS[n]])) as SettingsValue;
  await c.call('SET', keys.settings, JSON.stringify({ ...value, ...over }));
}

let nextId = 1;

/** `sc:chan:<name>`: a public, enabled channel unless told otherwise. */
export async function putChannel(c: RedisClient, name: string, over: Partial<ChannelValue> = {}): Promise<void> {
  const value: ChannelValue = {
    id: nextId++,
    name,
    disabled: false,
    externalId: null,
    access: 'public',
    minAge: null,
    viewerCap: null,
    passwordSet: false,
    ...over,
  };
  await c.call('SET', keys.channel(name), JSON.stringify(value));
}

/** A ban on one channel, or on every channel (channel null). */
export async function putBan(c: RedisClient, channel: string | null, id: number, ban: BanValue): Promise<void> {
  await c.call('HSET', channel === null ? keys.globalBans : keys.channelBans(channel), String(id), JSON.stringify(ban));
}

/** A viewer's grant on a channel (until null: no end). */
export async function putGrant(c: RedisClient, channel: string, viewer: string, until: number | null): Promise<void> {
  await c.call('HSET', keys.grants(channel), viewer, until === null ? '' : String(until));
}

/** `sc:keys`. */
export async function putKeys(c: RedisClient, list: KeyValue[]): Promise<void> {
  await c.call('SET', keys.tokenKeys, JSON.stringify(list));
}

/** `sc:vod:<recording id>` → the channel's name. */
export async function putVod(c: RedisClient, recordingId: string, channel: string): Promise<void> {
  await c.call('SET', keys.vod(recordingId), channel);
}

/** `sc:vodfile:<recording id>` → the recording's file relative to the recordings root. */
export async function putVodFile(c: RedisClient, recordingId: string, relative: string): Promise<void> {
  await c.call('SET', keys.vodFile(recordingId), relative);
}

/** Deletes every replicated key (a fresh origin). */
export async function clearReplicated(c: RedisClient): Promise<void> {
  await c.call('EVAL', "for _, k in ipairs(redis.call('KEYS', 'sc:*')) do redis.call('DEL', k) end return 1", 0);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A playback token signed with an HS256 secret, as a site makes them. */
export function hs256(secret: string, claims: object): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
