// A second encoder on a live channel, in process: PUSH_REWRITE against an in-memory
// database and the fake MistServer's `clients` / `stop_sessid` (answered as 3.10 answers them).
// STREAM_BUFFER events go through applyBufferEvent, as the STREAM_BUFFER trigger stores them.
// The real server with two ffmpeg encoders: test/real-mist/second-push.test.ts.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PENDING_PUSH_MS, RECONNECT_GRACE_REFUSAL, SECOND_PUSH_REFUSAL } from '../../src/ingest/second-push';
import { applyBufferEvent } from '../../src/live/live-transition';
import type { Db } from '../../src/store/open';
import { findUserByName } from '../../src/store/users';
import pushRewrite from '../../src/triggers/push-rewrite';
import { startFakeMist, type FakeMist } from '../support/fake-mist';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answer } from '../support/trigger';

const T0 = Date.parse('2026-12-01T12:00:00Z');
let fake: FakeMist;
beforeAll(async () => {
  fake = await startFakeMist();
});

interface Channel {
  db: Db;
  main: string;
  backup: string;
}

async function channel(settings: string[] = []): Promise<Channel> {
  const db = memoryDb();
  const main = await addUser(db, 'alice');
  const backup = (await cliJson<{ key: string }>(db, ['key', 'add', 'alice', '--label', 'backup'])).key;
  expect((await cli(db, ['config', 'set', 'mist-api', fake.url])).status).toBe(0);
  if (settings.length) expect((await cli(db, ['channel', 'set', 'alice', ...settings])).status).toBe(0);
  return { db, main, backup };
}

const push = (db: Db, key: string, ip: string, now: number) =>
  answer(pushRewrite, db, `rtmp://127.0.0.1/live/${key}\n${ip}\n${key}`, { now });
const buffer = (db: Db, state: 'FULL' | 'EMPTY', at: number) =>
  applyBufferEvent(
    db,
    { userId: findUserByName(db, 'alice')!.id, at, state, issues: null, health: null, eventId: '' },
    { userName: 'alice', stream: 'streams+alice', now: at },
  );
const encoder = (sessid: string, host: string) => ({ sessid, stream: 'streams+alice', host, protocol: 'INPUT:RTMP', conntime: 30 });
const pushEvents = async (db: Db) => cliJson<{ outcome: string; reason: string; ip: string }[]>(db, ['events', '--kind', 'push']);
const asked = () => fake.calls('clients').length;

beforeEach(() => {
  fake.requests.length = 0;
  fake.state.sessions = [];
  delete fake.state.statsUpTo;
});

describe('an idle channel', () => {
  it('is decided from the database alone: MistServer is not asked', async () => {
    const { db, main } = await channel();
    expect((await push(db, main, '198.51.100.1', T0)).answer).toBe('streams+alice');
    buffer(db, 'FULL', T0 + 4000);
    buffer(db, 'EMPTY', T0 + 60_000);
    expect((await push(db, main, '198.51.100.1', T0 + 70_000)).answer).toBe('streams+alice');
    expect(asked()).toBe(0);
  });
});

describe('--second-push refuse (the default)', () => {
  it("refuses a newcomer while MistServer's statistics lag: a live channel with no encoder in the last 2 s is asked again, further back", async () => {
    const { db, main, backup } = await channel();
    expect((await push(db, main, '198.51.100.1', T0)).answer).toBe('streams+alice');
    buffer(db, 'FULL', T0 + 4000);
    fake.state.sessions = [encoder('Iaaa', '198.51.100.1')];
    // MistServer has statistics only up to 4 s ago: the usual look (2 s back) lists nothing.
    fake.state.statsUpTo = Math.floor((T0 + 20_000) / 1000) - 4;
    const second = await push(db, backup, '198.51.100.2', T0 + 20_000);
    expect(second.answer).toBe('');
    expect(second.lines).toEqual([`refused push from 198.51.100.2: ${SECOND_PUSH_REFUSAL}`]);
    expect(asked()).toBe(2);
  });

  it('keeps the live encoder and refuses a newcomer, with its own key or the same one', async () => {
    const { db, main, backup } = await channel();
    expect((await push(db, main, '198.51.100.1', T0)).answer).toBe('streams+alice');
    buffer(db, 'FULL', T0 + 4000);
    fake.state.sessions = [encoder('Iaaa', '198.51.100.1')];
    const second = await push(db, backup, '198.51.100.2', T0 + 20_000);
    expect(second.answer).toBe('');
    expect(second.lines).toEqual([`refused push from 198.51.100.2: ${SECOND_PUSH_REFUSAL}`]);
    expect((await push(db, main, '198.51.100.3', T0 + 21_000)).answer).toBe('');
    expect(fake.calls('stop_sessid')).toEqual([]);
    expect((await pushEvents(db)).slice(0, 2)).toEqual([
      expect.objectContaining({ outcome: 'refused', reason: SECOND_PUSH_REFUSAL, ip: '198.51.100.3' }),
      expect.objectContaining({ outcome: 'refused', reason: SECOND_PUSH_REFUSAL, ip: '198.51.100.2' }),
    ]);
    // A good key's policy refusal is not a guessed key: the guard does not count it.
    expect((await cliJson<{ sources: unknown[] }>(db, ['guard', 'list'])).sources).toEqual([]);
  });

  it('accepts once MistServer no longer lists the encoder, even before STREAM_BUFFER said EMPTY', async () => {
    const { db, main, backup } = await channel();
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    expect((await push(db, backup, '198.51.100.2', T0 + 20_000)).answer).toBe('streams+alice');
    // Twice: the database shows it live, so an empty last 2 s is checked further back once.
    expect(asked()).toBe(2);
  });

  it('counts a push accepted moments ago as live for another key, not for the same key retrying', async () => {
    const { db, main, backup } = await channel();
    await push(db, main, '198.51.100.1', T0);
    expect((await push(db, backup, '198.51.100.2', T0 + 1000)).answer).toBe('');
    expect((await push(db, main, '198.51.100.1', T0 + 2000)).answer).toBe('streams+alice');
    expect((await push(db, backup, '198.51.100.2', T0 + 2000 + PENDING_PUSH_MS)).answer).toBe('streams+alice');
  });

  it('decides from the database when MistServer cannot be asked', async () => {
    const { db, main, backup } = await channel();
    expect((await cli(db, ['config', 'set', 'mist-api', 'http://127.0.0.1:9'])).status).toBe(0);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    const r = await push(db, backup, '198.51.100.2', T0 + 20_000);
    expect(r.answer).toBe('');
    expect(r.lines[0]).toMatch(
      /^could not list the encoders of streams\+alice: MistServer API at http:\/\/127\.0\.0\.1:9: .*; deciding from the database$/,
    );
  });
});

describe('--second-push takeover', () => {
  it('stops the live encoder and accepts the newcomer; the events name both', async () => {
    const { db, main, backup } = await channel(['--second-push', 'takeover']);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    fake.state.sessions = [encoder('Iaaa', '198.51.100.1'), { ...encoder('e0f', '203.0.113.9'), protocol: 'HLS' }];
    const r = await push(db, backup, '198.51.100.2', T0 + 20_000);
    expect(r.answer).toBe('streams+alice');
    expect(fake.calls('stop_sessid').map((c) => c.stop_sessid)).toEqual([['Iaaa']]);
    expect(fake.state.sessions.map((s) => s.sessid)).toEqual(['e0f']);
    expect((await pushEvents(db)).slice(0, 2)).toEqual([
      expect.objectContaining({
        outcome: 'accepted',
        reason: 'key "backup"; took over from 198.51.100.1 (1 encoder session(s) stopped)',
        ip: '198.51.100.2',
      }),
      expect.objectContaining({
        outcome: 'stopped',
        reason: 'taken over by a push from 198.51.100.2 (policy takeover)',
        ip: '198.51.100.1',
      }),
    ]);
    // The newcomer is the channel's publisher now: with a grace, its key is the one that may come back.
    expect((await cli(db, ['channel', 'set', 'alice', '--reconnect-grace', '1m'])).status).toBe(0);
    buffer(db, 'EMPTY', T0 + 30_000);
    expect((await push(db, main, '198.51.100.1', T0 + 40_000)).answer).toBe('');
    expect((await push(db, backup, '198.51.100.2', T0 + 41_000)).answer).toBe('streams+alice');
  });

  it('refuses the newcomer when the live encoder cannot be stopped (nothing would cut it)', async () => {
    const { db, main, backup } = await channel(['--second-push', 'takeover']);
    expect((await cli(db, ['config', 'set', 'mist-api', 'http://127.0.0.1:9'])).status).toBe(0);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    const r = await push(db, backup, '198.51.100.2', T0 + 20_000);
    expect(r.answer).toBe('');
    expect((await pushEvents(db))[0]).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/^takeover: the live encoder could not be stopped \(MistServer API at http:\/\/127\.0\.0\.1:9: /),
    });
  });
});

describe('--reconnect-grace', () => {
  it('after the live encoder dropped, lets only its key in until the grace is over', async () => {
    const { db, main, backup } = await channel(['--reconnect-grace', '30s']);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    buffer(db, 'EMPTY', T0 + 60_000);
    const early = await push(db, backup, '198.51.100.2', T0 + 65_000);
    expect(early.answer).toBe('');
    expect(early.lines).toEqual([
      `refused push from 198.51.100.2: ${RECONNECT_GRACE_REFUSAL}: only the key that was live may publish for 25 s more`,
    ]);
    expect((await push(db, main, '198.51.100.1', T0 + 66_000)).answer).toBe('streams+alice');
    // The grace starts again from that encoder's next drop; after it, anyone.
    buffer(db, 'FULL', T0 + 70_000);
    buffer(db, 'EMPTY', T0 + 80_000);
    expect((await push(db, backup, '198.51.100.2', T0 + 110_001)).answer).toBe('streams+alice');
    expect(asked()).toBe(0);
  });

  it('runs from when a push found MistServer without the encoder, if STREAM_BUFFER has not said EMPTY yet', async () => {
    const { db, main, backup } = await channel(['--reconnect-grace', '10s']);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    expect((await push(db, backup, '198.51.100.2', T0 + 20_000)).answer).toBe('');
    expect((await push(db, backup, '198.51.100.2', T0 + 25_000)).answer).toBe('');
    expect((await push(db, backup, '198.51.100.2', T0 + 30_001)).answer).toBe('streams+alice');
    // Only the first push asks (twice: the last 2 s, then further back): the drop was written
    // down, later pushes decide from the database.
    expect(asked()).toBe(2);
  });

  it('is off by default: another key may publish as soon as the channel is offline', async () => {
    const { db, main, backup } = await channel();
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    buffer(db, 'EMPTY', T0 + 60_000);
    expect((await push(db, backup, '198.51.100.2', T0 + 60_001)).answer).toBe('streams+alice');
  });
});

describe('streamctl metrics', () => {
  it('counts each policy decision in streamctl_second_pushes', async () => {
    const { db, main, backup } = await channel(['--second-push', 'takeover', '--reconnect-grace', '30s']);
    await push(db, main, '198.51.100.1', T0);
    buffer(db, 'FULL', T0 + 4000);
    fake.state.sessions = [encoder('Iaaa', '198.51.100.1')];
    await push(db, backup, '198.51.100.2', T0 + 10_000); // takes over: one encoder stopped
    buffer(db, 'EMPTY', T0 + 20_000);
    await push(db, main, '198.51.100.1', T0 + 21_000); // grace: only backup may come back
    expect((await cli(db, ['channel', 'set', 'alice', '--second-push', 'refuse'])).status).toBe(0);
    await push(db, backup, '198.51.100.2', T0 + 22_000);
    buffer(db, 'FULL', T0 + 26_000);
    fake.state.sessions = [encoder('Ibbb', '198.51.100.2')];
    await push(db, main, '198.51.100.1', T0 + 30_000); // refused: live
    const text = (await cli(db, ['metrics', '--window', '3650d'])).stdout;
    expect(text).toContain('streamctl_second_pushes{decision="refused"} 1\n');
    expect(text).toContain('streamctl_second_pushes{decision="grace_refused"} 1\n');
    expect(text).toContain('streamctl_second_pushes{decision="takeover_refused"} 0\n');
    expect(text).toContain('streamctl_second_pushes{decision="encoder_stopped"} 1\n');
    expect(text).toContain('streamctl_push_attempts{outcome="stopped"} 1\n');
  });
});

describe('streamctl channel set --second-push / --reconnect-grace', () => {
  it('sets and shows both, and names a bad value', async () => {
    const db = memoryDb();
    await addUser(db, 'alice');
    const shown = await cliJson<{ second_push: string; reconnect_grace_ms: number }>(db, ['channel', 'show', 'alice']);
    expect(shown).toMatchObject({ second_push: 'refuse', reconnect_grace_ms: 0 });
    expect(await cliJson(db, ['channel', 'set', 'alice', '--second-push', 'takeover', '--reconnect-grace', '45s'])).toMatchObject({
      second_push: 'takeover',
      reconnect_grace_ms: 45_000,
    });
    expect((await cli(db, ['channel', 'show', 'alice'])).stdout).toMatch(/second push: {5}takeover\nreconnect grace: 45s\n/);
    expect(await cliJson(db, ['channel', 'set', 'alice', '--reconnect-grace', '0'])).toMatchObject({ reconnect_grace_ms: 0 });
    const bad = await cli(db, ['channel', 'set', 'alice', '--second-push', 'share']);
    expect(bad).toMatchObject({ status: 2, stderr: 'streamctl: invalid --second-push "share": expected one of refuse, takeover\n' });
    expect((await cli(db, ['channel', 'set', 'alice', '--reconnect-grace', 'soon'])).stderr).toContain('invalid --reconnect-grace "soon"');
  });
});
