// A long writer must not turn public viewers away. Admitting a viewer who needs
// no cap count reads only; its session row is written if the lock is free within a moment, else
// left to USER_END (which records sessions USER_NEW never opened). A capped channel still counts
// and records in one IMMEDIATE transaction, so while the lock is held it refuses (fails closed).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, freshDb, ROOT, runTrigger, runTriggerAsync } from '../support/helpers';
import { addUser, cli } from '../support/cli';

const userNew = (stream: string, session: string) =>
  fixture('01-basic-push-alice/USER_NEW-1')
    .replace('streams+alice', stream)
    .replace(/[0-9a-f]{64}/, session);

const userEnd = (stream: string, session: string) =>
  fixture('01-basic-push-alice/USER_END-1')
    .replace('streams+alice', stream)
    .replace(/[0-9a-f]{64}/, session);

/** Runs fn (and waits for it) while another connection holds the write lock (an open IMMEDIATE transaction). */
async function whileLocked<T>(db: string, fn: () => T | Promise<T>): Promise<T> {
  const holder = new Database(db, { nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
  try {
    holder.prepare('BEGIN IMMEDIATE').run();
    holder.prepare("INSERT INTO events (at, kind, outcome, reason) VALUES (0, 'test', 'held', 'a long writer')").run();
    return await fn();
  } finally {
    holder.prepare('ROLLBACK').run();
    holder.close();
  }
}

function sessions(db: string): { session_id: string; closed_at: number | null }[] {
  const ro = new Database(db, { readonly: true, nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
  try {
    return ro.prepare('SELECT session_id, closed_at FROM viewer_sessions ORDER BY session_id').all() as {
      session_id: string;
      closed_at: number | null;
    }[];
  } finally {
    ro.close();
  }
}

describe('USER_NEW while another connection holds the write lock', async () => {
  it('admits a viewer of a public, uncapped channel; USER_END records the session afterwards', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const id = 'a'.repeat(64);
    const r = await whileLocked(db, () => runTrigger({ trigger: 'USER_NEW', db, payload: userNew('streams+alice', id) }));
    expect(r.stdout, r.stderr).toBe('true');
    expect(sessions(db)).toEqual([]); // nothing was written: the lock was never had
    const end = runTrigger({ trigger: 'USER_END', db, payload: userEnd('streams+alice', id), env: { MIST_TUUID: 'end-1' } });
    expect(end.status).toBe(0);
    expect(sessions(db)).toEqual([{ session_id: id, closed_at: expect.any(Number) }]);
  });

  it('still records the session when the lock is free', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const id = 'b'.repeat(64);
    expect(runTrigger({ trigger: 'USER_NEW', db, payload: userNew('streams+alice', id) }).stdout).toBe('true');
    expect(sessions(db)).toEqual([{ session_id: id, closed_at: null }]);
  });

  it('refuses on a capped channel (the count needs the lock) and on a private one: fails closed', async () => {
    const db = freshDb();
    await addUser(db, 'bob');
    await addUser(db, 'carol');
    expect((await cli(db, ['channel', 'set', 'bob', '--viewer-cap', '100'])).status).toBe(0);
    expect((await cli(db, ['channel', 'set', 'carol', '--access', 'private'])).status).toBe(0);
    // Both at once: each waits out its busy timeout (2 s), and one wait is enough for the two.
    const [capped, closed] = await whileLocked(db, () =>
      Promise.all([
        runTriggerAsync({ trigger: 'USER_NEW', db, payload: userNew('streams+bob', 'c'.repeat(64)) }),
        runTriggerAsync({ trigger: 'USER_NEW', db, payload: userNew('streams+carol', 'd'.repeat(64)) }),
      ]),
    );
    expect(capped.stdout).toBe('false');
    expect(capped.stderr).toMatch(/busy|locked/i);
    expect(closed.stdout).toBe('false');
    // Once the lock is free the capped channel admits again.
    expect(runTrigger({ trigger: 'USER_NEW', db, payload: userNew('streams+bob', 'c'.repeat(64)) }).stdout).toBe('true');
  });
});
