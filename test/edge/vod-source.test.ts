// STREAM_SOURCE on an edge: `vod+<id>` plays the recording's file from shared storage (the origin's
// recordings folder, mounted at the edge's recordings_root=), the path joined from the replica's
// sc:vodfile:<id>, checked like the one-box STREAM_SOURCE (under the root, no links). Anything
// else keeps the placeholder (empty answer). In process against a real primary + replica pair,
// then the built program as MistServer runs it.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { edgeVodSource } from '../../src/edge/vod-source';
import { connectRedis, type RedisClient } from '../../src/lib/resp';
import edgeStreamSource from '../../src/triggers/edge-stream-source';
import type { EdgeTriggerContext } from '../../src/triggers/types';
import { tempDir } from '../support/helpers';
import { NO_REDIS, REDIS_SERVER } from '../support/redis';
import { clearReplicated, putSettings, putVod, putVodFile, startReplicaPair, type ReplicaPair } from '../support/replica';

if (!REDIS_SERVER) console.log(NO_REDIS);

const ID = 'abcdefghijklmnop';
const OTHER = 'qrstuvwxyz234567';

describe.skipIf(!REDIS_SERVER)('STREAM_SOURCE on an edge (shared storage)', () => {
  let pair: ReplicaPair;
  let replica: Promise<RedisClient>;
  /** The edge's view of the origin's recordings folder, and a folder beside it (outside the root). */
  const base = tempDir('streamctl-edge-vod-');
  const root = join(base, 'recordings');
  const outside = join(base, 'elsewhere');
  const file = join(root, '3', '20261127-150000-000.mkv');
  beforeAll(async () => {
    pair = await startReplicaPair();
    replica = connectRedis(pair.replica.socket);
    mkdirSync(join(root, '3'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(file, 'recording');
    writeFileSync(join(outside, 'secret.mkv'), 'not a recording');
    // A link planted inside the root (MistServer's user can write there), to a file outside it.
    symlinkSync(join(outside, 'secret.mkv'), join(root, '3', 'link.mkv'));
    // A linked channel folder leading outside the root.
    symlinkSync(outside, join(root, '4'));
  });
  afterAll(async () => {
    (await replica.catch(() => undefined))?.close();
    await pair?.stop();
  });
  beforeEach(async () => {
    await clearReplicated(pair.writer);
    await putSettings(pair.writer);
    await putVod(pair.writer, ID, 'alice');
    await putVodFile(pair.writer, ID, '3/20261127-150000-000.mkv');
    await pair.synced();
  });
  const set = async (relative: string) => {
    await putVodFile(pair.writer, OTHER, relative);
    await pair.synced();
  };
  const source = (stream: string, r = root) => edgeVodSource(() => replica, stream, r);

  it("answers the recording under the edge's own root, whatever case the id is in", async () => {
    expect(await source(`vod+${ID}`)).toEqual({ path: file });
    expect(await source(`vod+${ID.toUpperCase()}`)).toEqual({ path: file });
  });

  it('keeps the placeholder for an unknown id, a live stream, another base and a missing file', async () => {
    expect(await source(`vod+${OTHER}`)).toEqual({ why: `no recording ${OTHER} in the replica` });
    expect(await source('streams+alice')).toMatchObject({ quiet: true });
    expect(await source(`other+${ID}`)).toMatchObject({ quiet: true });
    expect(await source('vod+../../etc/passwd')).toMatchObject({ quiet: true });
    await set('3/gone.mkv');
    expect(await source(`vod+${OTHER}`)).toEqual({
      why: expect.stringMatching(/the file is missing \(is the origin's recordings folder mounted at /),
    });
  });

  it('refuses replicated paths that escape the root, absolute ones and links', async () => {
    for (const bad of [
      '../elsewhere/secret.mkv',
      '3/../../elsewhere/secret.mkv',
      join(outside, 'secret.mkv'),
      '3//x.mkv',
      './3/20261127-150000-000.mkv',
      '3\\x.mkv',
      '3/x\n.mkv',
      '',
    ]) {
      await set(bad);
      expect(await source(`vod+${OTHER}`), bad).toEqual({
        why: expect.stringMatching(/not served: the replicated path is not a plain relative path/),
      });
    }
    await set('3/link.mkv');
    expect(await source(`vod+${OTHER}`)).toEqual({ why: expect.stringContaining('the file is a symbolic link') });
    await set('4/secret.mkv');
    expect(await source(`vod+${OTHER}`)).toEqual({
      why: expect.stringContaining('its folder leads outside recordings-root (a symbolic link)'),
    });
  });

  it('without a recordings root on the edge, plays the placeholder and says why', async () => {
    expect(await edgeVodSource(() => replica, `vod+${ID}`, undefined)).toEqual({
      why: expect.stringContaining('no recordings root on this edge'),
    });
    expect(await source(`vod+${ID}`, 'relative/root')).toEqual({ why: expect.stringContaining('is not usable') });
  });

  it('the trigger answers the file, or UNCHANGED (the placeholder) with one log line, a down replica included', async () => {
    const lines: string[] = [];
    const ctx = (replicaOf: () => Promise<RedisClient>): EdgeTriggerContext => ({
      now: Date.now(),
      eventTime: Date.now(),
      eventId: '',
      log: (l) => lines.push(l),
      debug: () => {},
      redis: { replica: replicaOf, primary: () => Promise.reject(new Error('no primary here')) },
    });
    process.env.STREAMCTL_RECORDINGS_ROOT = root;
    try {
      expect(
        await edgeStreamSource.decide(
          { stream: `vod+${ID}` },
          ctx(() => replica),
        ),
      ).toEqual({ kind: 'value', value: file });
      expect(
        await edgeStreamSource.decide(
          { stream: `vod+${OTHER}` },
          ctx(() => replica),
        ),
      ).toEqual({ kind: 'unchanged' });
      expect(lines).toEqual([`"vod+${OTHER}": no recording ${OTHER} in the replica; playing the placeholder`]);
      lines.length = 0;
      const down = () => connectRedis(join(base, 'no-such.sock'), { timeoutMs: 200 });
      expect(await edgeStreamSource.decide({ stream: `vod+${ID}` }, ctx(down))).toEqual({ kind: 'unchanged' });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/ENOENT.*playing the placeholder$/);
      // A live stream is answered without touching the replica.
      lines.length = 0;
      expect(await edgeStreamSource.decide({ stream: 'streams' }, ctx(down))).toEqual({ kind: 'unchanged' });
      expect(lines).toEqual([]);
    } finally {
      delete process.env.STREAMCTL_RECORDINGS_ROOT;
    }
  });
});
