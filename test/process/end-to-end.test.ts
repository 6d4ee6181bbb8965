// One channel's whole day, across every capability, with the captured payloads of experiment 01 in
// the order MistServer fired them: the key is pushed, the channel goes live, viewers are admitted,
// the recording is catalogued, the channel goes offline, and the recording plays back as VoD under
// the channel's own access policy.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, fixtureEnv, freshDb, runTrigger, tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';

const CAPTURE = '01-basic-push-alice';
const SESSION = 'ab'.repeat(32);

/** Runs a captured payload (optionally edited) with the MIST_* environment recorded with it. */
function replay(db: string, trigger: string, file: string, edit: (p: string) => string = (p) => p) {
  const name = `${CAPTURE}/${file}`;
  return runTrigger({ trigger, payload: edit(fixture(name)), db, env: fixtureEnv(name) });
}

describe('a broadcast from push to VoD', async () => {
  const db = freshDb();
  const root = join(tempDir(), 'recordings');
  mkdirSync(root);
  const key = await addUser(db, 'alice');
  await cli(db, ['config', 'set', 'recordings-root', root]);
  await cli(db, ['channel', 'set', 'alice', '--record', 'on', '--replay-offline', 'on']);
  let recordingPath = '';

  it('accepts the key, goes live and records under the root', async () => {
    const push = runTrigger({
      trigger: 'PUSH_REWRITE',
      payload: fixture('18-srt-push-key/PUSH_REWRITE-1').replaceAll('KEY_ALICE', key),
      db,
    });
    expect(push.stdout).toBe('streams+alice');
    recordingPath = replay(db, 'PUSH_OUT_START', 'PUSH_OUT_START-1').stdout;
    expect(recordingPath.startsWith(`${root}/`)).toBe(true);
    expect(recordingPath).toMatch(/\.mkv$/);
    replay(db, 'STREAM_BUFFER', 'STREAM_BUFFER-1');
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('live');
  });

  it('admits viewers of the public live channel and counts them', async () => {
    // 1: HLS with ?tkn=, 2: HTTP-TS without a token, 3: the fallback to the bare VoD placeholder stream.
    for (const n of [1, 2, 3]) expect(replay(db, 'USER_NEW', `USER_NEW-${n}`).stdout).toBe('true');
    expect((await cliJson(db, ['status', 'alice'])).viewers ?? 2).toBeGreaterThan(0);
  });

  it('catalogues the finished recording, linked to the broadcast, and goes offline', async () => {
    writeFileSync(recordingPath, Buffer.alloc(4096, 1));
    replay(db, 'RECORDING_END', 'RECORDING_END-1', (p) =>
      p
        .split('\n')
        .map((l, i) => (i === 1 ? recordingPath : l))
        .join('\n'),
    );
    replay(db, 'STREAM_BUFFER', 'STREAM_BUFFER-2');
    for (const n of [1, 2, 3]) replay(db, 'USER_END', `USER_END-${n}`);
    replay(db, 'STREAM_END', 'STREAM_END-1');
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('offline');
    const [broadcast] = await cliJson<any[]>(db, ['broadcasts', 'alice']);
    expect(broadcast.ended_at).not.toBeNull();
    const [recording] = await cliJson<any[]>(db, ['recordings', 'list', 'alice']);
    expect(recording).toMatchObject({ user: 'alice', path: recordingPath, status: 'ok' });
  });

  it('replays the recording while offline and serves its file to MistServer', async () => {
    const [recording] = await cliJson<any[]>(db, ['recordings', 'list', 'alice']);
    const answer = replay(db, 'DEFAULT_STREAM', 'DEFAULT_STREAM-1').stdout;
    expect(answer).toBe(`vod+${recording.id}`);
    expect(runTrigger({ trigger: 'STREAM_SOURCE', payload: answer, db }).stdout).toBe(recordingPath);
  });

  it("admits VoD viewers by the channel's policy: private refuses, a grant admits", async () => {
    const [recording] = await cliJson<any[]>(db, ['recordings', 'list', 'alice']);
    await cli(db, ['token', 'secret']);
    await cli(db, ['channel', 'set', 'alice', '--access', 'private']);
    const token = (await cliJson(db, ['token', 'issue', 'alice', '--viewer', 'fan-7', '--ttl', '10m'])).token as string;
    const view = (tkn: string, session: string) =>
      runTrigger({
        trigger: 'USER_NEW',
        payload: `vod+${recording.id}\n203.0.113.5\n${tkn}\nHLS\nhttp://h/hls/vod+${recording.id}/index.m3u8\n${session}\nfalse`,
        db,
      }).stdout;
    expect(view(token, SESSION)).toBe('false');
    await cli(db, ['grant', 'add', 'alice', 'fan-7']);
    expect(view(token, 'cd'.repeat(32))).toBe('true');
    expect(view('1684129823', 'ef'.repeat(32))).toBe('false');
  });
});

describe('removing a user who has recordings', async () => {
  it('refuses without --delete-recordings, then deletes files, rows and the user together', async () => {
    const db = freshDb();
    const root = join(tempDir(), 'recordings');
    mkdirSync(root);
    await addUser(db, 'carol');
    await cli(db, ['config', 'set', 'recordings-root', root]);
    await cli(db, ['channel', 'set', 'carol', '--record', 'on']);
    const path = runTrigger({ trigger: 'PUSH_OUT_START', payload: 'streams+carol\n/x/$wildcard/$datetime.mkv', db }).stdout;
    writeFileSync(path, Buffer.alloc(2048, 1));
    runTrigger({
      trigger: 'RECORDING_END',
      payload: `streams+carol\n${path}\nEBML\n2048\n2\n1\n3\n2000\n0\n2000\nCLEAN_EOF\nend of stream\n`,
      db,
    });
    expect(await cliJson<any[]>(db, ['recordings', 'list', 'carol'])).toHaveLength(1);

    const refused = await cli(db, ['user', 'remove', 'carol', '--yes']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/has 1 recording\(s\); add --delete-recordings/);
    expect(existsSync(path)).toBe(true);

    expect((await cli(db, ['user', 'remove', 'carol', '--delete-recordings', '--yes'])).status).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(await cliJson<any[]>(db, ['recordings', 'list'])).toEqual([]);
    expect((await cli(db, ['user', 'show', 'carol'])).status).toBe(1);
  });
});

describe('viewer cap and returning viewers', async () => {
  it('counts a viewer who returns on a closed session again', async () => {
    const db = freshDb();
    await addUser(db, 'bob');
    await cli(db, ['channel', 'set', 'bob', '--viewer-cap', '1']);
    const session = '12'.repeat(32);
    const view = (sid: string) =>
      runTrigger({ trigger: 'USER_NEW', payload: `streams+bob\n198.51.100.1\n111\nHLS\nhttp://h/x\n${sid}\nfalse`, db }).stdout;
    const end = (sid: string, at: number) =>
      runTrigger({
        trigger: 'USER_END',
        payload: `111\nstreams+bob\nHLS\n198.51.100.1\n5\n100\n0\n[UA:x]\n5\n5\n5\n${sid}`,
        db,
        env: { MIST_TIME: String(at) },
      });
    expect(view(session)).toBe('true');
    expect(view('34'.repeat(32))).toBe('false'); // cap of 1 reached
    end(session, Date.now());
    expect(view('34'.repeat(32))).toBe('true'); // the first viewer left
    expect(view(session)).toBe('false'); // comes back while the second watches: over the cap
  });
});
