// The shape every trigger module has: parse the payload, decide from the store, answer.
import type { Db } from '../store/open';
import type { TriggerName } from './registry';

/**
 * What a decision may use besides the event: the open database, clocks, MistServer's env, logging.
 * There is deliberately no way to run work after the answer: MistServer kills a blocking handler
 * once it has read it, so every write that matters commits inside `decide`.
 */
export interface TriggerContext {
  db: Db;
  /** Wall clock, unix ms (expiry checks). */
  now: number;
  /** When MistServer fired the event (MIST_TIME, unix ms), else `now`; orders late or repeated deliveries. */
  eventTime: number;
  /** MIST_TUUID: unique per event, repeated on re-delivery; '' when absent. */
  eventId: string;
  env: NodeJS.ProcessEnv;
  /** One line to stderr (MistServer's log). Never pass secrets. */
  log(line: string): void;
  /** Like log, only when STREAMCTL_DEBUG is set. */
  debug(line: string): void;
}

/**
 * A trigger module: `parse` is pure and throws PayloadError; `decide` returns the exact answer text
 * (a promise only when it must wait, e.g. for WebCrypto token checks; the runner waits for it).
 */
export interface Trigger<Event> {
  name: TriggerName;
  parse(payload: string): Event;
  decide(event: Event, ctx: TriggerContext): string | Promise<string>;
}
