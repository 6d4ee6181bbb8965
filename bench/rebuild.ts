// Broadcast re-derivation at scale: one channel with BENCH_BROADCASTS broadcasts
// (default 100,000, each a FULL and an EMPTY buffer event), then STREAM_BUFFER events stored the
// way the trigger stores them (applyBufferEvent: one IMMEDIATE transaction, so the time shown is
// how long the write lock is held). Side by side: an on-time event (the everyday case) and late
// events landing early in the history, which used to re-derive everything after them in
// quadratic time. Run in process (no node start-up in the figures); `npm run bench` runs it.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyBufferEvent } from '../src/live/live-transition';
import { migrate } from '../src/store/migrate';
import { deleteUser, REMOVAL_BATCH } from '../src/store/users';
import type { BufferState } from '../src/store/buffer-events';

const BROADCASTS = Number(process.env.BENCH_BROADCASTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_REBUILD_ROUNDS ?? 15);
const HOUR = 3_600_000;
const T0 = Date.UTC(2020, 0, 1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Broadcast i runs from T0 + i hours for 30 minutes. */
function seed(db: Database.Database): void {
  db.prepare('INSERT INTO users (id, name, created_at) VALUES (1, ?, ?)').run('busy', T0);
  const event = db.prepare('INSERT INTO buffer_events (user_id, at, state, event_id) VALUES (1, ?, ?, ?)');
  const broadcast = db.prepare('INSERT INTO broadcasts (user_id, started_at, ended_at, ended_cleanly) VALUES (1, ?, ?, 1)');
  db.transaction(() => {
    for (let i = 0; i < BROADCASTS; i++) {
      const start = T0 + i * HOUR;
      event.run(start, 'FULL', `seed-${i}-f`);
      event.run(start + HOUR / 2, 'EMPTY', `seed-${i}-e`);
      broadcast.run(start, start + HOUR / 2);
    }
  })();
}

interface Case {
  label: string;
  /** The event of round r (each round a fresh moment, so none is a repeat). */
  event: (r: number) => { at: number; state: BufferState };
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-rebuild-'));
  try {
    const db = new Database(join(dir, 'rebuild.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    seed(db);
    const end = T0 + BROADCASTS * HOUR;
    const cases: Case[] = [
      // Every round opens and closes a new broadcast after the history: the everyday event.
      { label: 'on-time FULL (opens the newest broadcast)', event: (r) => ({ at: end + r * HOUR, state: 'FULL' }) },
      { label: 'on-time EMPTY (closes it)', event: (r) => ({ at: end + r * HOUR + HOUR / 2, state: 'EMPTY' }) },
      // Late: delivered now, dated early in the history (the gaps and broadcasts of the first rounds).
      { label: 'late FULL in an early gap (new broadcast)', event: (r) => ({ at: T0 + r * HOUR + (3 * HOUR) / 4, state: 'FULL' }) },
      {
        label: 'late EMPTY inside an early broadcast (split)',
        event: (r) => ({ at: T0 + (ROUNDS + r) * HOUR + HOUR / 4, state: 'EMPTY' }),
      },
      { label: 'late FULL before the whole history', event: (r) => ({ at: T0 - (r + 1) * HOUR, state: 'FULL' }) },
    ];
    const times = new Map<string, number[]>(cases.map((c) => [c.label, []]));
    // Interleaved: each round runs every case once, so machine noise hits all alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cases) {
        const e = c.event(r);
        const start = process.hrtime.bigint();
        const t = applyBufferEvent(
          db,
          { userId: 1, at: e.at, state: e.state, issues: null, health: null, eventId: `bench-${c.label}-${r}` },
          { userName: 'bench', stream: 'streams+bench', now: e.at },
        );
        times.get(c.label)!.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (!t.stored) throw new Error(`${c.label}: round ${r} was not stored`);
      }
    }
    const count = (db.prepare('SELECT count(*) AS n FROM broadcasts').get() as { n: number }).n;
    // Removing that channel (`user remove`): its history goes in batches; the longest is the
    // longest the write lock is held (one cascading DELETE held it for all of them).
    const history = (
      db.prepare('SELECT (SELECT count(*) FROM broadcasts) + (SELECT count(*) FROM buffer_events) AS n').get() as { n: number }
    ).n;
    const batches: number[] = [];
    let last = process.hrtime.bigint();
    const removeStart = last;
    deleteUser(db, 1, () => {
      const t = process.hrtime.bigint();
      batches.push(Number(t - last) / 1e6);
      last = t;
    });
    const removeMs = Number(process.hrtime.bigint() - removeStart) / 1e6;
    db.close();
    const base = median(times.get(cases[0]!.label)!);
    console.log(
      `\nbroadcast re-derivation: one channel with ${BROADCASTS.toLocaleString('en')} broadcasts, ${ROUNDS} interleaved rounds, median time the write lock is held`,
    );
    console.log(
      `  (in process: applyBufferEvent, as STREAM_BUFFER and reconcile store an event; ${count.toLocaleString('en')} broadcasts at the end)`,
    );
    console.log(`  ${''.padEnd(46)}   lock held   ratio vs on-time FULL`);
    for (const c of cases) {
      const ms = median(times.get(c.label)!);
      console.log(`  ${c.label.padEnd(46)} ${ms.toFixed(2).padStart(9)} ms  ${(ms / base).toFixed(2)}`);
    }
    console.log(
      `  user remove of that channel (${history.toLocaleString('en')} rows): ${removeMs.toFixed(0)} ms in ${batches.length} batches of up to ${REMOVAL_BATCH} rows, longest ${Math.max(...batches).toFixed(1)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
