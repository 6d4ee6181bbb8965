// Writes that must not be lost when many trigger processes share the database file: an
// IMMEDIATE transaction (the write lock is taken up front, so no deadlock on upgrade) retried
// while another writer still holds the lock after busy_timeout.
import { TRIGGER_BUSY_TIMEOUT_MS, type Db } from './open';

/** How long in total a write keeps retrying; async triggers are not waited on by MistServer. */
const RETRY_FOR_MS = 8000;

const isBusy = (err: unknown) => {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
};

/** Runs fn in an IMMEDIATE transaction, retrying on a busy database; rethrows anything else. */
export function writeWithRetry<T>(db: Db, fn: () => T): T {
  const tx = db.transaction(fn);
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return tx.immediate();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      // Jitter so that processes that collided do not collide again.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.floor(Math.random() * 20 * Math.min(attempt, 5)));
    }
  }
}

/** SQLite's "database or disk is full": the filesystem (or max_page_count) has no room for the write. */
const isFull = (err: unknown) => (err as { code?: unknown }).code === 'SQLITE_FULL';

/**
 * Runs fn in an IMMEDIATE transaction if the write lock can be had within waitMs and there is room
 * for it; `done: false` when it cannot (a write that is nice to have, never worth a late answer or
 * a refusal): `busy` (another writer kept the lock) or `full` (the database or its disk is full;
 * the transaction is rolled back whole). Triggers only: afterwards the connection waits
 * TRIGGER_BUSY_TIMEOUT_MS again.
 */
export function writeIfFree<T>(db: Db, waitMs: number, fn: () => T): { done: true; value: T } | { done: false; why: 'busy' | 'full' } {
  db.pragma(`busy_timeout = ${waitMs}`);
  try {
    return { done: true, value: db.transaction(fn).immediate() };
  } catch (err) {
    if (isBusy(err)) return { done: false, why: 'busy' };
    if (isFull(err)) return { done: false, why: 'full' };
    throw err;
  } finally {
    db.pragma(`busy_timeout = ${TRIGGER_BUSY_TIMEOUT_MS}`);
  }
}

/** The shortest pause batchWrite leaves between two batches. */
const BATCH_PAUSE_MIN_MS = 25;

/**
 * One batch of a long series of writes: writeWithRetry, then the write lock left free for as long
 * as the batch held it (at least BATCH_PAUSE_MIN_MS). SQLite's lock is not a queue: a writer that
 * waits sleeps in its busy handler and retries, at intervals that grow to 25 ms over its first
 * 100 ms of waiting and never exceed the time it has already waited. Batches run back to back
 * would leave the lock free only for microseconds between them, and a waiting push would miss
 * every gap until the series ended (seconds). A pause as long as the batch (or the 25 ms) always
 * holds one of its retries: nobody waits much longer than one batch.
 */
export function batchWrite<T>(db: Db, fn: () => T): T {
  const started = performance.now();
  const value = writeWithRetry(db, fn);
  const pause = Math.max(BATCH_PAUSE_MIN_MS, performance.now() - started);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil(pause));
  return value;
}
