// USER_END in process: closing the viewer session USER_NEW opened, adding up repeated ends, and
// ignoring streams that are not channels.
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../src/lib/errors';
import userEnd from '../../src/triggers/user-end';
import { fixture, fixtureEnv } from '../support/helpers';
import { addUser, cliJson } from '../support/cli';
import { memoryDb, row } from '../support/db';
import { captured, deliver, full } from '../live/deliveries';

describe('USER_END', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  const payload = fixture('32c-push-end/USER_END-1');
  const sessionId = payload.split('\n')[11]!;
  const env = fixtureEnv('32c-push-end/USER_END-1');
  const endTime = Number(env.MIST_TIME);
  const broadcasts = (): Promise<any[]> => cliJson(db, ['broadcasts', 'alice']);

  it('closes the row USER_NEW opened, keeping its opened_at, and counts for the live broadcast', async () => {
    deliver(db, full('streams+alice', endTime - 26_000));
    db.prepare(
      `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, ip, connector, opened_at, last_seen_at)
       VALUES (?, (SELECT id FROM users WHERE name = 'alice'), NULL, 'streams+alice', '127.0.0.1', 'HLS', ?, ?)`,
    ).run(sessionId, endTime - 22_000, endTime - 22_000);
    expect((await broadcasts())[0].current_viewers).toBe(1);
    expect(deliver(db, { trigger: 'USER_END', payload, env }).lines).toEqual([]);
    expect(deliver(db, { trigger: 'USER_END', payload, env }).lines).toEqual([]);
    expect(row(db, 'SELECT * FROM viewer_sessions WHERE session_id = ?', sessionId)).toMatchObject({
      opened_at: endTime - 22_000,
      closed_at: endTime,
      seconds: 3,
      bytes_up: 476737,
      bytes_down: 0,
    });
    expect((await broadcasts())[0]).toMatchObject({ current_viewers: 0, unique_viewers: 1, watch_time_s: 3 });
  });

  it('adds up a session id that MistServer ends twice (the viewer came back with the same token)', () => {
    const again = payload.replace(/\n3\n476737\n/, '\n10\n1000\n');
    expect(again).not.toBe(payload);
    deliver(db, { trigger: 'USER_END', payload: again, env: { MIST_TIME: String(endTime + 60_000), MIST_TUUID: 'second-end' } });
    expect(row(db, 'SELECT closed_at, seconds, bytes_up FROM viewer_sessions WHERE session_id = ?', sessionId)).toEqual({
      closed_at: endTime + 60_000,
      seconds: 13,
      bytes_up: 477737,
    });
  });

  it('ignores sessions on streams that are not channels, with a debug line only when asked', () => {
    expect(deliver(db, captured('36-controller-shutdown/USER_END-1')).lines).toEqual([]);
    expect(deliver(db, captured('36-controller-shutdown/USER_END-1'), true).lines).toEqual([expect.stringMatching(/not a channel stream/)]);
    expect(row(db, "SELECT count(*) AS n FROM viewer_sessions WHERE stream = 'vod'")).toEqual({ n: 0 });
  });

  it("rejects MistServer's documented 8 lines with a one-line PayloadError naming USER_END", () => {
    const documented = 'sid\nstreams+alice\nHLS\n127.0.0.1\n5\n100\n0\n';
    expect(() => userEnd.parse(documented)).toThrow(PayloadError);
    expect(() => userEnd.parse(documented)).toThrow(/^USER_END [^\n]+$/);
  });
});
