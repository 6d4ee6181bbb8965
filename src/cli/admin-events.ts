// Admin changes in the event log (kind admin), so "who unbanned this viewer, and when" has an
// answer: `streamctl events --kind admin`. Each write command records one event after its change:
// the command, what it did in words (never a secret: no key, token or password), whom it
// concerns, and the operating-system user that ran it.
import { operatorName } from '../config';
import { recordAdminEvent } from '../store/events';
import type { CliContext } from './context';

export interface AdminChange {
  /** The command, as typed: `key rotate`, `ban remove`. */
  action: string;
  /** What it did, in words. */
  reason: string;
  /** The user (channel) it concerns, if any; the name stays in `reason` once the user is removed. */
  userId?: number | null;
  detail?: string | null;
}

/** Records one admin change, by whoever runs this process. */
export function recordAdmin(ctx: Pick<CliContext, 'db' | 'now'>, change: AdminChange): void {
  recordAdminEvent(ctx.db(), { at: ctx.now(), actor: operatorName(), ...change });
}
