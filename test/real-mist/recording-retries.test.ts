// On the real MistServer: a live channel that does not record runs PUSH_OUT_START once
// per broadcast, not every few seconds. MistServer retries an auto-push whose PUSH_OUT_START
// answered no target every push_settings.wait (3) s while the stream is live (runPushCheck in
// controller_push.cpp) and checks the push's `inhibit` before each retry: `mist apply` inhibits the
// recording push for streams tagged `norecord`, and STREAM_BUFFER FULL tags channels that do not
// record. Counted with MistServer's own Prometheus trigger counts; the same broadcast is also
// measured with the recording push as earlier versions set it (no inhibit), side by side.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, sleep, waitFor, type Pusher } from './harness';

const mist = new RealMist();
const METRICS = 'streamctl-metrics';
const pushes: Pusher[] = [];

/** MistServer's count of PUSH_OUT_START runs so far. */
async function pushOutStarts(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:4242/${METRICS}`)).text();
  const m = text.match(/^mist_trigger_count\{trigger="PUSH_OUT_START"\}\s*(\d+)/m);
  return m ? Number(m[1]) : 0;
}

/** Runs during `ms` from now. */
async function runsDuring(ms: number): Promise<number> {
  const before = await pushOutStarts();
  await sleep(ms);
  return (await pushOutStarts()) - before;
}

const tags = async (stream: string): Promise<string[]> => {
  const t = (await mist.api({ stream_tags: [stream] })).stream_tags?.[stream];
  return Array.isArray(t) ? t : [];
};

const recordingPushes = async () =>
  Object.entries((await mist.api({ push_auto_list: true })).auto_push ?? {}).filter(
    ([, p]: [string, any]) => p.stream === 'streams+' && String(p.target).startsWith('/'),
  ) as [string, { target: string; inhibit?: string }][];

beforeAll(async () => {
  await mist.start();
  await mist.api({ config: { prometheus: METRICS } });
});
afterAll(async () => {
  for (const p of pushes) await p.end();
  await mist.stop();
});

describe('a live channel that does not record', () => {
  it('runs PUSH_OUT_START once per broadcast with the inhibited push, every ~4 s without it', async () => {
    const [[, push] = ['', undefined]] = await recordingPushes();
    expect(push).toMatchObject({ inhibit: '#norecord' });
    const key = mist.user('quiet');
    const atStart = await pushOutStarts();
    const p = mist.push('rtmp', key, 120);
    pushes.push(p);
    await waitFor('quiet live', () => mist.scJson(['status', 'quiet']).state === 'live', 20_000);
    await waitFor('streams+quiet tagged norecord', async () => (await tags('streams+quiet')).includes('norecord'), 10_000);
    const inhibited = await runsDuring(15_000);
    const perBroadcast = (await pushOutStarts()) - atStart;

    // The recording push as before this change: same stream and target, no inhibit.
    const [key1] = (await recordingPushes())[0]!;
    await mist.api({ push_auto_remove: key1 });
    await mist.api({ push_auto_add: { stream: 'streams+', target: push!.target } });
    expect((await recordingPushes()).map(([, q]) => q.inhibit)).toEqual([undefined]);
    const uninhibited = await runsDuring(15_000);
    console.log(
      `PUSH_OUT_START runs for one live channel that does not record: ${perBroadcast} from the push's start until 15 s after its norecord tag (of which ${inhibited} in those 15 s), with the inhibited push; ${uninhibited} in 15 s with the push as before (no inhibit)`,
    );
    expect(inhibited).toBe(0);
    // One when the stream starts (MistServer's doAutoPush), at most one retry before FULL tags it.
    expect(perBroadcast).toBeLessThanOrEqual(2);
    expect(uninhibited).toBeGreaterThanOrEqual(3);

    // mist apply puts the inhibited push back; the retries stop again.
    mist.ok(['mist', 'apply']);
    expect((await recordingPushes()).map(([, q]) => q.inhibit)).toEqual(['#norecord']);
    expect(await runsDuring(8000)).toBe(0);
  });

  it('records within seconds once recording is switched on while live, and stops retrying once switched off', async () => {
    const id = mist.scJson<{ id: number }>(['user', 'show', 'quiet']).id;
    const folder = join(mist.recordings, String(id));
    const files = () => {
      try {
        return readdirSync(folder);
      } catch {
        return [];
      }
    };
    expect(files()).toEqual([]);
    const switched = Date.now();
    mist.ok(['channel', 'set', 'quiet', '--record', 'on']);
    expect(await tags('streams+quiet')).not.toContain('norecord');
    await waitFor('a recording of quiet', () => files().length === 1, 15_000, 250);
    console.log(`recording switched on while live: file written ${Date.now() - switched} ms later`);
    mist.ok(['channel', 'set', 'quiet', '--record', 'off']);
    expect(await tags('streams+quiet')).toContain('norecord');
  });
});
