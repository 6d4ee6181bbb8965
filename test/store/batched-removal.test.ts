// No command holds the write lock for long. A user's history is
// removed in batches of REMOVAL_BATCH rows (one cascading DELETE held the lock for all of it),
// `events prune` deletes in batches too. Here: the batches are bounded and the result is the same
// as the cascade's; how long a batch takes is in `npm run bench` (bench/rebuild.ts).
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOVE_BATCH, removeRecordingsInBatches } from '../../src/recordings/remove';
import { pruneEvents } from '../../src/store/events';
import { migrate } from '../../src/store/migrate';
import { deleteUser, REMOVAL_BATCH } from '../../src/store/users';
import { tempDir } from '../support/helpers';

function seeded(): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db);
  const user = db.prepare('INSERT INTO users (id, name, created_at) VALUES (?, ?, 0)');
  user.run(1, 'busy');
  user.run(2, 'other');
  const event = db.prepare('INSERT INTO buffer_events (user_id, at, state) VALUES (?, ?, ?)');
  const broadcast = db.prepare('INSERT INTO broadcasts (user_id, started_at, ended_at, ended_cleanly) VALUES (?, ?, ?, 1)');
  const session = db.prepare(
    "INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, opened_at, last_seen_at) VALUES (?, ?, ?, 's', 0, 0)",
  );
  const log = db.prepare("INSERT INTO events (at, kind, outcome, reason, user_id) VALUES (?, 'view', 'refused', 'r', ?)");
  db.transaction(() => {
    for (const u of [1, 2]) {
      const n = u === 1 ? 3 * REMOVAL_BATCH : 10;
      for (let i = 0; i < n; i++) {
        event.run(u, i * 10, 'FULL');
        event.run(u, i * 10 + 5, 'EMPTY');
        const b = broadcast.run(u, i * 10, i * 10 + 5).lastInsertRowid;
        session.run(`${u}-${i}`, u, b);
        log.run(i, u);
      }
    }
  })();
  return db;
}

const count = (db: Database.Database, sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

describe('removing a user with a long history', () => {
  it('goes in bounded batches and leaves what the cascade would: no rows of the user, events kept without it, others untouched', () => {
    const db = seeded();
    const batches: number[] = [];
    deleteUser(db, 1, (rows) => batches.push(rows));
    expect(batches.length).toBeGreaterThan(5);
    expect(Math.max(...batches)).toBeLessThanOrEqual(REMOVAL_BATCH);
    for (const table of ['buffer_events', 'broadcasts', 'viewer_sessions', 'stream_keys']) {
      expect(count(db, `SELECT count(*) AS n FROM ${table} WHERE user_id = 1`), table).toBe(0);
    }
    expect(count(db, 'SELECT count(*) AS n FROM users WHERE id = 1')).toBe(0);
    expect(count(db, 'SELECT count(*) AS n FROM events WHERE user_id IS NULL')).toBe(3 * REMOVAL_BATCH);
    expect(count(db, 'SELECT count(*) AS n FROM broadcasts WHERE user_id = 2')).toBe(10);
    expect(count(db, 'SELECT count(*) AS n FROM viewer_sessions WHERE user_id = 2 AND broadcast_id IS NOT NULL')).toBe(10);
    expect(db.pragma('foreign_key_check')).toEqual([]);
  });

  it('events prune removes every old event across batches and keeps the newer ones', () => {
    const db = seeded();
    db.prepare(
      "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 12000) INSERT INTO events (at, kind, outcome, reason) SELECT v + 100000, 'view', 'ok', 'new' FROM n",
    ).run();
    const old = count(db, 'SELECT count(*) AS n FROM events WHERE at < 100000');
    expect(old).toBeGreaterThan(5000); // more than one batch
    expect(pruneEvents(db, 100_000, true)).toBe(old);
    expect(pruneEvents(db, 100_000, false)).toBe(old);
    expect(count(db, 'SELECT count(*) AS n FROM events')).toBe(12000);
  });
});

describe('removing many recordings (recordings prune)', () => {
  it('one transaction per batch after the first mark; a channel folder swapped for a link between batches is refused in the next', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db);
    const root = join(tempDir('streamctl-rm-'), 'recordings');
    const outside = tempDir('streamctl-outside-');
    db.prepare("INSERT INTO users (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)").run();
    const insert = db.prepare(
      "INSERT INTO recordings (id, user_id, path, format, bytes, duration_ms, started_at, ended_at, status, exit_code, exit_reason, created_at) VALUES (?, ?, ?, 'EBML', 1, 1, ?, ?, 'ok', 'CLEAN_EOF', 'x', 0)",
    );
    const N = 2 * REMOVE_BATCH + 7;
    const targets: { id: string; path: string }[] = [];
    for (const u of [1, 2]) mkdirSync(join(root, String(u)), { recursive: true });
    for (let i = 0; i < N; i++) {
      const id = [...i.toString(32).padStart(16, '0')].map((d) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(d, 32)]).join('');
      // Channel 2 has recordings in the first batch (its real folder) and the last 7 (reached
      // through the link planted after the first batch: its files are outside the root).
      const u = i % 2 === 0 && i < REMOVE_BATCH ? 2 : i >= 2 * REMOVE_BATCH ? 2 : 1;
      const path = join(root, String(u), `${i}.mkv`);
      writeFileSync(i >= 2 * REMOVE_BATCH ? join(outside, `${i}.mkv`) : path, 'x');
      insert.run(id, u, path, i, i);
      targets.push({ id, path });
    }
    let transactions = 0;
    const transaction = db.transaction.bind(db);
    (db as { transaction: unknown }).transaction = (fn: () => unknown) => {
      const tx = transaction(fn);
      // Commits: outermost transactions only (a nested one is a savepoint).
      return Object.assign((...args: unknown[]) => (db.inTransaction || transactions++, tx(...(args as []))), tx);
    };
    let batches = 0;
    const outcomes = removeRecordingsInBatches(db, root, targets, 1, () => {
      if (++batches !== 1) return;
      renameSync(join(root, '2'), join(tempDir('streamctl-old-'), '2'));
      symlinkSync(outside, join(root, '2'));
    });
    expect(transactions).toBe(1 + Math.ceil(N / REMOVE_BATCH));
    expect(outcomes.filter((o) => o.result === 'deleted')).toHaveLength(2 * REMOVE_BATCH);
    const refused = outcomes.filter((o) => o.result === 'outside-root');
    expect(refused.map((o) => o.id)).toEqual(targets.slice(2 * REMOVE_BATCH).map((t) => t.id));
    expect(refused[0]!.error).toMatch(/outside recordings-root/);
    // Their files outside are untouched and their rows kept.
    expect(readdirSync(outside)).toHaveLength(7);
    expect(count(db, 'SELECT count(*) AS n FROM recordings')).toBe(7);
  });
});
