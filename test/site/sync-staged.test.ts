// A big channel's grants in `streamctl sync`: built as the channel's next grant set, a batch per
// write transaction, made current in the final transaction with everything else, the old set
// deleted afterwards (db/0015_grant_sets.sql). Real SQLite; a watcher on the connection counts the
// grant rows each write transaction makes and plays other programs writing between transactions.
import { describe, expect, it } from 'vitest';
import { syncSite } from '../../src/site/sync';
import { beginGrantSet, findActiveGrant, listGrants, stageGrants, upsertGrant } from '../../src/store/grants';
import { openForCli, type Db } from '../../src/store/open';
import { replicaGrants } from '../../src/store/replication';
import { insertUser } from '../../src/store/users';
import { writeWithRetry } from '../../src/store/write-retry';
import { freshDb } from '../support/helpers';
import { memoryDb, row, rows } from '../support/db';
import { watchTransactions } from '../support/transactions';

const BATCH = 100;
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** `club` with OLD grants old-0 … old-(OLD-1), made by hand at T0 (set 0, as before this change). */
function clubWithGrants(db: Db, old: number): number {
  const { id } = insertUser(db, { name: 'club', displayName: null, externalId: null, now: T0 });
  for (let i = 0; i < old; i++) upsertGrant(db, { userId: id, viewer: `old-${i}`, until: null, now: T0 });
  return id;
}

/** The site's list: old-0 … old-49 kept (old-0 with an end time now), the rest of old gone, n new. */
const siteGrants = (n: number) => ({
  channels: [
    {
      user: 'club',
      grants: [
        { viewer: 'old-0', until: '2030-01-01T00:00:00Z' },
        ...Array.from({ length: 49 }, (_, i) => ({ viewer: `old-${i + 1}` })),
        ...Array.from({ length: n }, (_, i) => ({ viewer: `new-${i}` })),
      ],
    },
  ],
});

const visible = (db: Db, id: number, now = T0 + 1000) => listGrants(db, id, now, true).map((g) => g.viewer);
const allRows = (db: Db) => row<{ n: number }>(db, 'SELECT count(*) AS n FROM access_grants')!.n;
const otherSets = (db: Db) => rows(db, 'SELECT user_id, set_id, state FROM grant_sets');

describe('sync stages a big channel as its next grant set', () => {
  it('no write transaction writes more than a batch of grant rows, and the grants end as the direct path leaves them', () => {
    const staged = memoryDb();
    const id = clubWithGrants(staged, 300);
    const watch = watchTransactions(staged);
    const report = syncSite(staged, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH });
    expect(report.summary).toMatchObject({ grants_added: 1000, grants_updated: 1, grants_removed: 250 });
    // Planning (a read), the set begun, 11 batches of staging, the final transaction, 3 batches
    // deleting the old set: each within the batch, the whole 1,000 + 300 never in one.
    expect(Math.max(...watch.grantRows)).toBeLessThanOrEqual(BATCH);
    expect(watch.grantRows.reduce((a, b) => a + b, 0)).toBe(1050 + 300);

    const direct = memoryDb();
    clubWithGrants(direct, 300);
    syncSite(direct, siteGrants(1000), { now: T0 + 1000 });
    const shape = (db: Db) => listGrants(db, id, T0 + 1000, true).map((g) => [g.viewer, g.until, g.createdAt]);
    expect(shape(staged)).toEqual(shape(direct));
    // A grant that stayed kept its creation time; the old set's rows are gone, nothing is left over.
    expect(findActiveGrant(staged, id, 'old-1', T0 + 1000)?.createdAt).toBe(T0);
    expect(allRows(staged)).toBe(1050);
    expect(otherSets(staged)).toEqual([]);
    // The same input again: no grant written, nothing staged.
    const again = watchTransactions(staged);
    expect(syncSite(staged, siteGrants(1000), { now: T0 + 2000, batchRows: BATCH }).changed).toBe(false);
    expect(Math.max(...again.grantRows)).toBe(0);
    expect(otherSets(staged)).toEqual([]);
  });

  it('all or nothing: a failure before the switch leaves the old grants whole, and the staged rows are deleted', () => {
    const db = memoryDb();
    const id = clubWithGrants(db, 300);
    const before = visible(db, id);
    // The report could not be shown (the final transaction's last step): the switch is rolled back.
    expect(() =>
      syncSite(db, siteGrants(1000), {
        now: T0 + 1000,
        batchRows: BATCH,
        beforeCommit: () => {
          throw new Error('stdout failed');
        },
      }),
    ).toThrow('stdout failed');
    expect(visible(db, id)).toEqual(before);
    expect(findActiveGrant(db, id, 'old-299', T0 + 1000)).toBeDefined();
    expect(findActiveGrant(db, id, 'new-0', T0 + 1000)).toBeUndefined();
    expect(allRows(db)).toBe(300);
    expect(otherSets(db)).toEqual([]);

    // A write that fails halfway through staging (SQLite refuses a row): the same.
    db.exec(`CREATE TEMP TRIGGER refuse_row BEFORE INSERT ON main.access_grants WHEN NEW.viewer = 'new-550'
             BEGIN SELECT RAISE(ABORT, 'no room'); END`);
    expect(() => syncSite(db, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH })).toThrow(/no room/);
    expect(visible(db, id)).toEqual(before);
    expect(allRows(db)).toBe(300);
    expect(otherSets(db)).toEqual([]);
    db.exec('DROP TRIGGER temp.refuse_row');
    syncSite(db, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH });
    expect(visible(db, id)).toHaveLength(1050);
  });

  it('what a sync that crashed while staging left is never seen, and the next sync deletes it', () => {
    const db = memoryDb();
    const id = clubWithGrants(db, 3);
    // Exactly what a crash after the first staged batch leaves behind.
    const leftover = () => {
      const setId = writeWithRetry(db, () => beginGrantSet(db, id, T0));
      const ghosts = ['ghost-1', 'ghost-2', 'old-0'].map((viewer) => ({ viewer, until: null, createdAt: T0 }));
      writeWithRetry(db, () => stageGrants(db, id, setId, ghosts));
    };
    leftover();
    expect(visible(db, id)).toEqual(['old-0', 'old-1', 'old-2']);
    expect(findActiveGrant(db, id, 'ghost-1', T0)).toBeUndefined();
    expect(replicaGrants(db, 'club', T0).map((g) => g.viewer)).toEqual(['old-0', 'old-1', 'old-2']);

    // A small sync (no staging) an hour later: the set is abandoned, deleted.
    syncSite(db, { channels: [{ user: 'club', grants: [{ viewer: 'old-0' }] }] }, { now: T0 + 2 * 3600_000, batchRows: BATCH });
    expect(visible(db, id)).toEqual(['old-0']);
    expect(allRows(db)).toBe(1);
    expect(otherSets(db)).toEqual([]);

    // Left just now, then a sync that stages the same channel: its own set wins, the other goes.
    leftover();
    syncSite(db, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH });
    expect(visible(db, id)).toHaveLength(1050);
    expect(findActiveGrant(db, id, 'ghost-1', T0 + 1000)).toBeUndefined();
    expect(allRows(db)).toBe(1050);
    expect(otherSets(db)).toEqual([]);
  });

  it('a grant added or removed by another program while the next set is built is not lost: the sync fails, changing nothing', () => {
    const path = freshDb();
    const db = openForCli(path);
    const other = openForCli(path);
    try {
      const id = clubWithGrants(db, 300);
      for (const [what, change] of [
        ['added', () => upsertGrant(other, { userId: id, viewer: 'by-hand', until: null, now: T0 })],
        ['removed', () => other.prepare("DELETE FROM access_grants WHERE user_id = ? AND viewer = 'old-7'").run(id)],
      ] as const) {
        const before = visible(db, id);
        // Transactions: 1 planning (a read), 2 the set begun, 3 the first batch: the change lands after it.
        watchTransactions(db, (n) => n === 3 && void change());
        expect(() => syncSite(db, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH }), what).toThrow(
          'the database changed while sync was planning (the grants of "club" were changed meanwhile); nothing was changed, run it again',
        );
        const expected = what === 'added' ? [...before, 'by-hand'].sort() : before.filter((v) => v !== 'old-7');
        expect(visible(db, id)).toEqual(expected);
        expect(allRows(db)).toBe(expected.length);
        expect(otherSets(db)).toEqual([]);
      }
      // Run again, it applies (the site's list decides: the grant added by hand goes, as in any sync).
      const watch = watchTransactions(db);
      const report = syncSite(db, siteGrants(1000), { now: T0 + 1000, batchRows: BATCH });
      expect(report.changes).toContainEqual({ object: 'grant', action: 'remove', user: 'club', viewer: 'by-hand', until: null });
      expect(visible(db, id)).toHaveLength(1050);
      expect(Math.max(...watch.grantRows)).toBeLessThanOrEqual(BATCH);
    } finally {
      other.close();
      db.close();
    }
  });
});
