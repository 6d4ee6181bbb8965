// Watches the write transactions a piece of code makes on a real connection: how many grant rows
// each outermost transaction wrote (a temp trigger on access_grants counts them), and a hook run
// after each one ends, where a test plays another program writing between them.
import type { Db } from '../../src/store/open';

export interface TransactionWatch {
  /** Grant rows written (inserted, updated, deleted) by each outermost transaction, in order. */
  grantRows: number[];
}

type TxFn = ((...args: unknown[]) => unknown) & {
  deferred: (...args: unknown[]) => unknown;
  immediate: (...args: unknown[]) => unknown;
  exclusive: (...args: unknown[]) => unknown;
};

interface WatchState {
  watch: TransactionWatch;
  after: (n: number) => void;
  current: number;
}

const watched = new WeakMap<Db, WatchState>();

/**
 * Starts watching `db`; `after(n)` runs once the n-th outermost transaction (from 1) has ended.
 * Called again on the same connection, it starts over (a new count, the new hook).
 */
export function watchTransactions(db: Db, after: (n: number) => void = () => {}): TransactionWatch {
  const watch: TransactionWatch = { grantRows: [] };
  const known = watched.get(db);
  if (known) {
    Object.assign(known, { watch, after, current: 0 });
    return watch;
  }
  const state: WatchState = { watch, after, current: 0 };
  watched.set(db, state);
  db.function('watched_grant_row', () => {
    state.current++;
    return null;
  });
  for (const event of ['INSERT', 'UPDATE', 'DELETE'])
    db.exec(`CREATE TEMP TRIGGER watch_grants_${event.toLowerCase()} AFTER ${event} ON main.access_grants
             BEGIN SELECT watched_grant_row(); END`);
  const real = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const tx = real(fn) as unknown as TxFn;
    const around =
      (variant: (...args: unknown[]) => unknown) =>
      (...args: unknown[]) => {
        if (db.inTransaction) return variant(...args);
        state.current = 0;
        try {
          return variant(...args);
        } finally {
          state.watch.grantRows.push(state.current);
          state.after(state.watch.grantRows.length);
        }
      };
    return Object.assign(around(tx), {
      deferred: around(tx.deferred),
      immediate: around(tx.immediate),
      exclusive: around(tx.exclusive),
    });
  }) as Db['transaction'];
  return watch;
}
