// The shape every trigger module has: parse the payload, decide from the store, answer.
import type { EdgeRedis } from '../edge/edge-redis';
import type { Db } from '../store/open';
import type { AnswerFor } from './answer';
import type { KindOf, TriggerName } from './registry';

/**
 * What a decision may use besides the event: the open database, clocks, the event's identity, logging.
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
  /** One line to stderr (MistServer's log). Never pass secrets. */
  log(line: string): void;
  /** Like log, only when STREAMCTL_DEBUG is set. */
  debug(line: string): void;
  /**
   * Asynchronous triggers only (MistServer neither waits for nor kills their handlers): work the
   * runner lets finish before the process exits, e.g. the open tag's datagram from STREAM_BUFFER.
   * Never for blocking triggers, and never a write the answer depends on. Absent in tests that
   * decide in-process (the work is then simply not done).
   */
  background?(work: Promise<unknown>): void;
}

/**
 * A trigger module: `parse` is pure and throws PayloadError; `decide` returns an answer of the
 * trigger's kind (a promise only when it must wait, e.g. for WebCrypto token checks; the runner
 * waits for it) and the runner alone turns it into text.
 *
 * `decide` is NOT pure, by design: it reads the store AND commits the trigger's writes (a
 * broadcast's start, a session, an audit row) before it returns, because MistServer SIGKILLs a
 * blocking handler once it has read the answer, so nothing may run after it (commit, then answer).
 * The rules themselves are pure functions over facts that decide calls (access/admission.ts
 * decideAdmission, access/openness.ts decideOpenness, live/stream-name.ts); decide gathers the
 * facts, applies the rule, writes, and returns the answer.
 */
export interface Trigger<Event, N extends TriggerName = TriggerName> {
  name: N;
  parse(payload: string): Event;
  decide(event: Event, ctx: TriggerContext): AnswerFor<KindOf<N>> | Promise<AnswerFor<KindOf<N>>>;
}

/**
 * What an edge trigger's decision may use: like TriggerContext, but Redis instead of a database
 * (an edge has none). The runner connects lazily, from streamctl.conf's redis_replica= and
 * redis_primary=.
 */
export interface EdgeTriggerContext extends Omit<TriggerContext, 'db'> {
  redis: EdgeRedis;
}

/** An edge trigger module (registry EDGE_TRIGGERS): the same contract as Trigger, on Redis. */
export interface EdgeTrigger<Event, N extends TriggerName = TriggerName> {
  name: N;
  parse(payload: string): Event;
  decide(event: Event, ctx: EdgeTriggerContext): AnswerFor<KindOf<N>> | Promise<AnswerFor<KindOf<N>>>;
}
