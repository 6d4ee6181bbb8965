// Recording and VoD on the real MistServer: the automatic push `mist apply` configured records a
// live channel into the recordings root, RECORDING_END catalogues it, it plays back as vod+<id>,
// offline channels send their viewers to the replay or the offline stream (DEFAULT_STREAM), and
// prune removes file and row.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealMist, waitFor } from './harness';

const mist = new RealMist();
let rec: any; // the catalogue row of the recording, once RECORDING_END has written it

beforeAll(async () => {
  await mist.start();
  const key = mist.user('alice');
  mist.ok(['channel', 'set', 'alice', '--record', 'on', '--replay-offline', 'on']);
  const p = mist.push('rtmp', key, 8);
  await waitFor('alice live', () => mist.scJson(['status', 'alice']).state === 'live', 20_000);
  await p.exited;
});
afterAll(() => mist.stop());

/** Every file under the recordings root. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

const vodTs = (id: string, query = '') => `http://127.0.0.1:8080/${encodeURIComponent(`vod+${id}`)}.ts${query}`;

describe('a recorded broadcast', () => {
  it('is written by MistServer under the recordings root, at the path PUSH_OUT_START chose', () => {
    const files = filesUnder(mist.recordings);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${mist.recordings}/\\d+/\\d{8}-\\d{6}-\\d{3}\\.mkv$`));
    expect(statSync(files[0]!).size).toBeGreaterThan(10_000);
  });

  // The recorder (MistOutEBML) SIGINTs the RECORDING_END handler as it exits (lib/procs.cpp); the
  // row used to be lost in most runs. The installed program runs detached (dist/recording-end.sh).
  it('is catalogued by RECORDING_END with its duration', async () => {
    rec = await waitFor('RECORDING_END catalogued the file', () => mist.scJson<any[]>(['recordings', 'list', 'alice'])[0], 15_000, 500);
    expect(rec.path).toBe(filesUnder(mist.recordings)[0]);
    expect(rec.path.endsWith('.mkv')).toBe(true);
    expect(rec).toMatchObject({ status: 'ok', format: 'EBML' }); // MistServer's name for its Matroska writer
    expect(rec.bytes).toBeGreaterThan(10_000);
    expect(rec.duration_ms).toBeGreaterThan(4000);
    expect(rec.duration_ms).toBeLessThan(12_000);
  });

  it('is linked to its broadcast', () => {
    // The recording push starts before the broadcast's FULL on the real server.
    const [b] = mist.scJson<any[]>(['broadcasts', 'alice']);
    expect(rec.broadcast_id).toBe(b.id);
  });

  it('plays as vod+<id>', async () => {
    const ts = await mist.viewTs(`vod+${rec.id}`, '', 5).done;
    expect(ts.code).toBe(200);
    expect(ts.bytes).toBeGreaterThan(10_000);
    expect(await mist.play(vodTs(rec.id), 3)).toBeGreaterThan(20);
    const hls = mist.hls(`vod+${rec.id}`);
    expect(hls).toMatchObject({ code: 200, error: false });
    expect(hls.segmentBytes).toBeGreaterThan(1000);
  });

  it('an unknown id does not play, and the refusal is audited', async () => {
    const ts = await mist.viewTs('vod+aaaaaaaaaaaaaaaa', '', 3).done;
    expect(ts.code).toBe(404);
    expect(mist.hls('vod+bbbbbbbbbbbbbbbb').error).toBe(true);
    expect(await mist.play(vodTs('cccccccccccccccc'), 2)).toBe(0);
    await waitFor(
      'refusals audited',
      () => mist.events('view').filter((e) => e.outcome === 'refused' && /^unknown-stream/.test(e.reason)).length >= 3,
      5000,
    );
  });
});

describe('viewers of an offline channel (DEFAULT_STREAM)', () => {
  it('get its latest recording when replay-offline is on', async () => {
    // MistServer keeps the ended live stream loaded for a while; offline means unloaded.
    await waitFor('streams+alice unloaded', async () => !(await mist.active()).includes('streams+alice'), 60_000, 500);
    const ts = await mist.viewTs('streams+alice', '?tkn=replay', 4).done;
    expect(ts.code).toBe(200);
    expect(ts.bytes).toBeGreaterThan(10_000);
    expect(await mist.play('http://127.0.0.1:8080/streams%2balice.ts?tkn=replay2', 2)).toBeGreaterThan(10);
  });

  it('get the offline stream when there is no replay (the installed VoD placeholder)', async () => {
    mist.ok(['config', 'set', 'offline-stream', 'vod']);
    mist.user('bob'); // never live, nothing recorded
    const ts = await mist.viewTs('streams+bob', '?tkn=offline', 4).done;
    expect(ts.code).toBe(200);
    expect(ts.bytes).toBeGreaterThan(1000);
    mist.ok(['config', 'unset', 'offline-stream']);
    // Neither replay nor offline stream, and MistServer has no default stream: nothing plays.
    expect((await mist.viewTs('streams+bob', '?tkn=nothing', 3).done).code).toBe(404);
  });
});

describe('prune', () => {
  it('deletes the file and the row, and the id no longer plays', async () => {
    const r = mist.scJson(['recordings', 'prune', '--older-than', '1s']);
    expect(r).toMatchObject({ deleted: 1, failed: 0, problems: [] });
    expect(existsSync(rec.path)).toBe(false);
    expect(mist.scJson<any[]>(['recordings', 'list'])).toEqual([]);
    expect(filesUnder(mist.recordings)).toEqual([]);
    expect((await mist.viewTs(`vod+${rec.id}`, '?tkn=pruned', 3).done).code).toBe(404);
  });
});
