// Broadcasts are re-derived only around a new buffer event (from the broadcast
// before it to the first end after it), not over the whole history after it. The property: in
// whatever order and however often events arrive, the stored broadcasts are exactly the runs of
// the whole event history (the old full re-derivation's answer). Speed is in `npm run bench`
// (bench/rebuild.ts); here: a late event leaves the broadcasts after its window untouched.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBufferEvent } from '../../src/live/live-transition';
import type { BufferState } from '../../src/store/buffer-events';
import { migrate } from '../../src/store/migrate';

const STATES: BufferState[] = ['FULL', 'DRY', 'RECOVER', 'EMPTY', 'LOST'];
const RANK: Record<BufferState, number> = { FULL: 0, DRY: 1, RECOVER: 1, EMPTY: 2, LOST: 3 };
const isEnd = (s: BufferState) => s === 'EMPTY' || s === 'LOST';

function channelDb(): Database.Database {
  const db = new Database(':memory:');
  migrate(db);
  db.prepare("INSERT INTO users (id, name, created_at) VALUES (1, 'alice', 0)").run();
  return db;
}

/** The runs of a whole history, written independently of src/: live event opens, end closes. */
function expectedRuns(events: { at: number; state: BufferState }[]) {
  const unique = [...new Map(events.map((e) => [`${e.at}/${e.state}`, e])).values()];
  unique.sort((a, b) => a.at - b.at || RANK[a.state] - RANK[b.state]);
  const runs: { started_at: number; ended_at: number | null; ended_cleanly: number | null }[] = [];
  let open: (typeof runs)[number] | null = null;
  for (const e of unique) {
    if (!isEnd(e.state)) {
      if (!open) runs.push((open = { started_at: e.at, ended_at: null, ended_cleanly: null }));
    } else if (open) {
      open.ended_at = e.at;
      open.ended_cleanly = e.state === 'EMPTY' ? 1 : 0;
      open = null;
    }
  }
  return runs;
}

const stored = (db: Database.Database) =>
  db.prepare('SELECT started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = 1 ORDER BY started_at').all();

const apply = (db: Database.Database, e: { at: number; state: BufferState }, id: string) =>
  applyBufferEvent(
    db,
    { userId: 1, at: e.at, state: e.state, issues: null, health: null, eventId: id },
    { userName: 'u', stream: 'streams+u', now: e.at },
  );

describe('broadcast re-derivation around a new event', () => {
  it('any delivery order (late, repeated, same-millisecond) yields the runs of the whole history', () => {
    // Times from a small range so that same-millisecond ties and repeats are common.
    const event = fc.record({ at: fc.integer({ min: 0, max: 40 }), state: fc.constantFrom(...STATES) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const db = channelDb();
        events.forEach((e, i) => {
          apply(db, e, `e${i}`);
        });
        expect(stored(db)).toEqual(expectedRuns(events));
        db.close();
      }),
      { numRuns: process.env.STREAMCTL_FUZZ ? 3000 : 100 },
    );
  }, 900_000);

  it('a late event early in a long history leaves the broadcasts after its window untouched', () => {
    const db = channelDb();
    const HOUR = 3_600_000;
    for (let i = 0; i < 50; i++) {
      apply(db, { at: i * HOUR, state: 'FULL' }, `f${i}`);
      apply(db, { at: i * HOUR + HOUR / 2, state: 'EMPTY' }, `e${i}`);
    }
    // A row the events do not explain, far after the late event: a full re-derivation from the
    // late event on would rewrite it; the windowed one never reads it.
    db.prepare('UPDATE broadcasts SET ended_at = ? WHERE started_at = ?').run(40 * HOUR + 1, 40 * HOUR);
    apply(db, { at: 2 * HOUR + (3 * HOUR) / 4, state: 'FULL' }, 'late');
    const rows = stored(db) as { started_at: number; ended_at: number }[];
    expect(rows.find((r) => r.started_at === 40 * HOUR)!.ended_at).toBe(40 * HOUR + 1);
    // The late FULL opened the next broadcast early: it now starts at the late event.
    expect(rows.find((r) => r.started_at === 2 * HOUR + (3 * HOUR) / 4)!.ended_at).toBe(3 * HOUR + HOUR / 2);
    expect(rows).toHaveLength(50);
    db.close();
  });
});
