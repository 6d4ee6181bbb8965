// An edge converges on its own to what its replica says about a channel's openness:
// `edge watch` (runTagWatch) against a real primary + replica pair, and a stand-in for the edge's
// MistServer API that keeps tags as MistServer does (active_streams with fields ["tags"], longform;
// tag_stream / untag_stream; invalidate_sessions recorded). The relay's API call is never made here:
// `edges` empty, or the call failed, is exactly this case.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileTags, runTagWatch } from '../../src/edge/tag-watch';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import { keys } from '../../src/replica/schema';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { clearReplicated, putBan, putChannel, putSettings, startReplicaPair, type ReplicaPair } from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

type Json = Record<string, any>;

/** The edge's MistServer as the watcher sees it: live streams with their tags, every request kept. */
function standInMist(live: Record<string, string[]>) {
  const tags = new Map(Object.entries(live).map(([s, t]) => [s, new Set(t)]));
  const requests: Json[] = [];
  let failOn: string | undefined;
  const mist = async (body: Json): Promise<Json> => {
    requests.push(body);
    const key = Object.keys(body)[0]!;
    if (key === failOn) {
      failOn = undefined;
      throw new Error(`cannot reach MistServer at http://127.0.0.1:4242: connect ECONNREFUSED`);
    }
    if (body.tag_stream) for (const [s, t] of Object.entries(body.tag_stream as Record<string, string>)) tags.get(s)?.add(t);
    if (body.untag_stream) for (const [s, t] of Object.entries(body.untag_stream as Record<string, string>)) tags.get(s)?.delete(t);
    if (body.active_streams)
      return { active_streams: tags.size ? Object.fromEntries([...tags].map(([s, t]) => [s, { tags: [...t] }])) : null };
    return {};
  };
  return {
    mist,
    requests,
    tagsOf: (s: string) => [...(tags.get(s) ?? [])],
    /** The next request of this kind fails (the API unreachable once). */
    failNext: (key: string) => void (failOn = key),
    /** Requests that change something (not the active_streams reads). */
    writes: () => requests.filter((r) => !('active_streams' in r)),
  };
}

const NOW = Date.now();

describe.skipIf(!REDIS_SERVER)("an edge's tags follow its replica", () => {
  let pair: ReplicaPair;
  let replica: RedisClient;
  beforeAll(async () => {
    pair = await startReplicaPair();
    replica = await connectRedis(pair.replica.socket);
  });
  afterAll(async () => {
    replica?.close();
    await pair?.stop();
  });
  beforeEach(async () => {
    await clearReplicated(pair.writer);
    await putSettings(pair.writer);
  });

  it('untags a stream whose channel is no longer open (private, capped, banned, disabled), then re-checks its viewers; tags an open one', async () => {
    await putChannel(pair.writer, 'carol', { access: 'private' });
    await putChannel(pair.writer, 'capped', { viewerCap: 3 });
    await putChannel(pair.writer, 'banned');
    await putBan(pair.writer, 'banned', 1, { kind: 'viewer', value: 'bob', until: null });
    await putChannel(pair.writer, 'off', { disabled: true });
    await putChannel(pair.writer, 'pub');
    await putChannel(pair.writer, 'pubtagged');
    await pair.synced();
    const m = standInMist({
      'streams+carol': ['open'],
      'streams+capped': ['open'],
      'streams+banned': ['open'],
      'streams+off': ['open'],
      'streams+pub': [],
      'streams+pubtagged': ['open'],
      'vod+0123456789abcdef': ['open'],
      somethingelse: ['open'],
    });
    const order: string[] = [];
    const pass = await reconcileTags(
      replica,
      async (b) => (order.push(Object.keys(b)[0]!), m.mist(b)),
      NOW,
      async () => void order.push('settle'),
    );
    expect(pass.untagged.sort()).toEqual(['streams+banned', 'streams+capped', 'streams+carol', 'streams+off']);
    expect(pass.tagged).toEqual(['streams+pub']);
    expect(pass.checked).toBe(6);
    for (const s of pass.untagged) expect(m.tagsOf(s)).toEqual([]);
    expect(m.tagsOf('streams+pub')).toEqual(['open']);
    expect(m.tagsOf('streams+pubtagged')).toEqual(['open']);
    // Not channel streams: left alone.
    expect(m.tagsOf('vod+0123456789abcdef')).toEqual(['open']);
    expect(m.tagsOf('somethingelse')).toEqual(['open']);
    // Every untag before the settle, every re-check after it; the open ones are not re-checked.
    const settleAt = order.indexOf('settle');
    expect(order.lastIndexOf('untag_stream')).toBeLessThan(settleAt);
    expect(order.slice(settleAt + 1)).toEqual(['invalidate_sessions', 'invalidate_sessions', 'invalidate_sessions', 'invalidate_sessions']);
    expect(
      m
        .writes()
        .filter((r) => r.invalidate_sessions)
        .map((r) => r.invalidate_sessions)
        .sort(),
    ).toEqual(pass.untagged.sort());
    // A second pass changes nothing.
    const again = await reconcileTags(replica, m.mist, NOW, async () => {});
    expect(again).toMatchObject({ tagged: [], untagged: [] });
  });

  it('running: a change published to the replica untags within a poll, with no call from the origin; nothing published, nothing sent', async () => {
    await putChannel(pair.writer, 'carol');
    await pair.writer.call('HSET', keys.meta, 'outbox', 1);
    await pair.synced();
    const m = standInMist({ 'streams+carol': ['open'] });
    const stop = new AbortController();
    const lines: string[] = [];
    const watching = runTagWatch({
      replica: () => connectRedis(pair.replica.socket),
      mist: m.mist,
      now: Date.now,
      log: (l) => lines.push(l),
      settle: async () => {},
      signal: stop.signal,
      pollMs: 20,
      fullPassMs: 60_000,
    });
    try {
      await waitUntil(() => m.requests.some((r) => r.active_streams));
      const reads = () => m.requests.filter((r) => r.active_streams).length;
      const before = reads();
      await new Promise((r) => setTimeout(r, 200));
      // sc:meta unchanged: no pass (one HMGET on the replica per poll, no API call).
      expect(reads()).toBe(before);
      expect(m.writes()).toEqual([]);
      // The origin makes carol private and publishes (the relay writes sc:meta outbox with every publish).
      await putChannel(pair.writer, 'carol', { access: 'private' });
      await pair.writer.call('HSET', keys.meta, 'outbox', 2);
      await waitUntil(() => m.writes().some((r) => r.invalidate_sessions === 'streams+carol'));
      expect(m.tagsOf('streams+carol')).toEqual([]);
      expect(m.writes()).toEqual([{ untag_stream: { 'streams+carol': 'open' } }, { invalidate_sessions: 'streams+carol' }]);
      expect(lines).toContain('untagged streams+carol (no longer open in the replica) and re-checked their viewers');
    } finally {
      stop.abort();
    }
    expect(await watching).toMatchObject({ untagged: 1, failures: 0 });
  });

  it('an untag whose re-check could not be sent is re-checked on the next pass', async () => {
    await putChannel(pair.writer, 'carol', { access: 'private' });
    await pair.synced();
    const m = standInMist({ 'streams+carol': ['open'] });
    m.failNext('invalidate_sessions');
    const stop = new AbortController();
    const lines: string[] = [];
    const watching = runTagWatch({
      replica: () => connectRedis(pair.replica.socket),
      mist: m.mist,
      now: Date.now,
      log: (l) => lines.push(l),
      settle: async () => {},
      signal: stop.signal,
      pollMs: 20,
    });
    try {
      await waitUntil(() => m.requests.filter((r) => r.invalidate_sessions).length >= 2);
    } finally {
      stop.abort();
    }
    await watching;
    expect(m.tagsOf('streams+carol')).toEqual([]);
    expect(lines.some((l) => l.includes('ECONNREFUSED') && l.includes('tags left as they are, retrying'))).toBe(true);
    expect(lines).toContain('the replica and MistServer answer again; tags follow the replica');
  });

  it('--once fails (throws) when the replica cannot answer, and sends MistServer nothing', async () => {
    const m = standInMist({ 'streams+carol': ['open'] });
    const broken = () => connectRedis('/nonexistent/redis.sock');
    await expect(
      runTagWatch({
        replica: broken,
        mist: m.mist,
        now: Date.now,
        log: () => {},
        settle: async () => {},
        signal: new AbortController().signal,
        once: true,
      }),
    ).rejects.toThrow();
    expect(m.requests).toEqual([]);
    expect(m.tagsOf('streams+carol')).toEqual(['open']);
  });
});

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
