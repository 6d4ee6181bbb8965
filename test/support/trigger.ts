// Trigger modules called in process: the payload through `parse`, `decide` against a database with
// a fake context (fixed clock, event id, collected log lines), and the answer rendered exactly as
// the runner renders it. What the runner itself does with a throw (refusal + one stderr line) is
// checked by the process-spawning layer (test/process/programs.test.ts).
import { render } from '../../src/triggers/answer';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import type { Trigger, TriggerContext } from '../../src/triggers/types';
import { openForTrigger, type Db } from '../../src/store/open';

export interface FakeContextOptions {
  /** Wall clock (unix ms); default Date.now() at the call. */
  now?: number;
  /** MIST_TIME (unix ms); default `now`. */
  eventTime?: number;
  /** MIST_TUUID; default '' (absent), as the runner gives when MistServer sent none. */
  eventId?: string;
  /** Collect debug lines too (STREAMCTL_DEBUG). */
  debug?: boolean;
}

export interface FakeContext extends TriggerContext {
  /** Every line logged, in order (debug lines only when asked for). */
  lines: string[];
}

export function fakeContext(db: Db, opts: FakeContextOptions = {}): FakeContext {
  const now = opts.now ?? Date.now();
  const lines: string[] = [];
  return {
    db,
    now,
    eventTime: opts.eventTime ?? now,
    eventId: opts.eventId ?? '',
    lines,
    log: (line) => void lines.push(line),
    debug: opts.debug ? (line) => void lines.push(line) : () => {},
  };
}

export interface Answered {
  /** The exact text the program would print. */
  answer: string;
  /** The lines it would write to stderr (without the "streamctl TRIGGER: " prefix). */
  lines: string[];
}

/** parse → decide → render, as the runner does for a payload it can read. */
export async function answer<E, N extends TriggerName>(
  trigger: Trigger<E, N>,
  db: Db,
  payload: string,
  opts: FakeContextOptions = {},
): Promise<Answered> {
  const ctx = fakeContext(db, opts);
  const decided = await trigger.decide(trigger.parse(payload), ctx);
  return { answer: render(trigger.name, decided), lines: ctx.lines };
}

/** The same, for triggers whose decide never waits (every trigger but USER_NEW with a token). */
export function answerSync<E, N extends TriggerName>(
  trigger: Trigger<E, N>,
  db: Db,
  payload: string,
  opts: FakeContextOptions = {},
): Answered {
  const ctx = fakeContext(db, opts);
  const decided = trigger.decide(trigger.parse(payload), ctx);
  if ('then' in decided) throw new Error(`${trigger.name} decided asynchronously; use answer()`);
  return { answer: render(trigger.name, decided), lines: ctx.lines };
}

/** Context options from MistServer's variables (a capture's .env), as the runner reads them. */
export function fromMistEnv(env: Record<string, string>): FakeContextOptions {
  const time = Number(env.MIST_TIME);
  return {
    ...(Number.isSafeInteger(time) && time > 0 ? { eventTime: time } : {}),
    ...(env.MIST_TUUID !== undefined ? { eventId: env.MIST_TUUID } : {}),
  };
}

/**
 * parse → decide → render against a database file, opened for this one answer as a program run
 * opens it (openForTrigger: busy timeout, schema check) and closed after.
 */
export async function answerOnFile<E, N extends TriggerName>(
  trigger: Trigger<E, N>,
  path: string,
  payload: string,
  opts: FakeContextOptions = {},
): Promise<Answered> {
  const db = openForTrigger(path);
  try {
    return await answer(trigger, db, payload, opts);
  } finally {
    db.close();
  }
}

/** Loads a trigger module from src/ (the same code the bundles are built from). */
export async function loadTrigger(name: TriggerName): Promise<Trigger<unknown>> {
  return ((await import(`../../src/triggers/${TRIGGERS[name].program}.ts`)) as { default: Trigger<unknown> }).default;
}

export interface InProcessCall {
  trigger: TriggerName;
  payload: string;
  /** The database file. */
  db: string;
  /** MIST_TIME / MIST_TUUID as MistServer sets them; STREAMCTL_DEBUG=1 for debug lines. */
  env?: Record<string, string>;
}

/**
 * A program run in process, in runTrigger's shape: the answer as stdout, the lines as stderr
 * ("streamctl TRIGGER: ..."). For tests of what a trigger decides. A throw is thrown, not turned
 * into the refusal: what the runner does then (the refusal, its one line, the trigger/error event)
 * is the process layer's to prove (test/process/programs.test.ts, test/process/db-faults.test.ts).
 */
export async function runInProcess(call: InProcessCall): Promise<{ stdout: string; stderr: string }> {
  const { STREAMCTL_DEBUG, ...mist } = call.env ?? {};
  const other = Object.keys(mist).filter((k) => !k.startsWith('MIST_'));
  if (other.length > 0) throw new Error(`runInProcess: ${other.join(', ')} not supported in process; run the program`);
  const r = await answerOnFile(await loadTrigger(call.trigger), call.db, call.payload, {
    ...fromMistEnv(mist),
    debug: Boolean(STREAMCTL_DEBUG),
  });
  return { stdout: r.answer, stderr: r.lines.map((l) => `streamctl ${call.trigger}: ${l}\n`).join('') };
}
