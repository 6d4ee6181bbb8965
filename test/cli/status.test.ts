// `streamctl status --reconcile` in process against a small stand-in for MistServer's API (in this
// process too: the CLI's requests are asynchronous).
import { describe, expect, it } from 'vitest';
import { startFakeMist } from '../support/fake-mist';
import { tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { deliver, empty, full, iso, recordingHook } from '../live/deliveries';

describe('status --reconcile', () => {
  it('closes broadcasts MistServer no longer has, as not ended cleanly, and leaves the others', async () => {
    const db = memoryDb();
    for (const u of ['alice', 'bob']) await addUser(db, u);
    const offline = recordingHook(tempDir(), 'on-offline');
    expect((await cli(db, ['hook', 'set', 'offline', offline.program])).status).toBe(0);
    const long = Date.now() - 3_600_000;
    deliver(db, full('streams+alice', long));
    deliver(db, full('streams+bob', long));
    const mist = await startFakeMist({ activeStreams: ['streams+bob', 'vod'] });
    const status = (user: string) => cliJson(db, ['status', user]);
    const r = await cli(db, ['status', '--reconcile', '--api', mist.url, '--json']);
    expect(r.status).toBe(0);
    expect(mist.calls('active_streams')).toEqual([{ active_streams: true }]);
    expect(JSON.parse(r.stdout)).toMatchObject({ active_streams: 2, closed: [{ user: 'alice' }] });
    expect((await status('alice')).state).toBe('offline');
    expect((await cliJson(db, ['broadcasts', 'alice']))[0]).toMatchObject({ live: false, ended_cleanly: false });
    expect((await status('bob')).state).toBe('live');
    expect(offline.events()).toEqual([expect.objectContaining({ event: 'offline', channel: 'alice' })]);
    expect((await cliJson(db, ['events', '--kind', 'broadcast', '--user', 'alice']))[0]).toMatchObject({
      outcome: 'offline',
      reason: 'MistServer no longer has the stream',
    });
    const again = await cli(db, ['status', '--reconcile', '--api', mist.url]);
    expect(again.stdout).toMatch(/nothing to close/);
    // A late EMPTY from MistServer still dates the end and marks it clean.
    deliver(db, empty('streams+alice', long + 60_000));
    expect((await cliJson(db, ['broadcasts', 'alice']))[0]).toMatchObject({ ended_at: iso(long + 60_000), ended_cleanly: true });
  });

  it('fails with one line when MistServer cannot be reached', async () => {
    const r = await cli(memoryDb(), ['status', '--reconcile', '--api', 'http://127.0.0.1:9']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reconcile/);
  });
});
