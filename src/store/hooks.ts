// Site notification hooks: a program run when a channel goes live or offline.
import type { Db } from './open';
import { stmt } from './statements';

export const HOOK_EVENTS = ['live', 'offline'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** The program configured for an event, if any. */
export function getHook(db: Db, event: HookEvent): string | undefined {
  return (stmt(db, 'SELECT program FROM hooks WHERE event = ?').get(event) as { program: string } | undefined)?.program;
}

/** Every configured hook. */
export function listHooks(db: Db): { event: HookEvent; program: string; updatedAt: number }[] {
  return stmt(db, 'SELECT event, program, updated_at AS updatedAt FROM hooks ORDER BY event').all() as {
    event: HookEvent;
    program: string;
    updatedAt: number;
  }[];
}

/** Sets (or replaces) the program for an event. */
export function setHook(db: Db, event: HookEvent, program: string, now: number): void {
  stmt(
    db,
    'INSERT INTO hooks (event, program, updated_at) VALUES (?, ?, ?) ON CONFLICT(event) DO UPDATE SET program = excluded.program, updated_at = excluded.updated_at',
  ).run(event, program, now);
}

/** Removes the hook of an event; false when none was set. */
export function unsetHook(db: Db, event: HookEvent): boolean {
  return stmt(db, 'DELETE FROM hooks WHERE event = ?').run(event).changes === 1;
}
