// The only trigger I/O: stdin → parse → decide (every write committed) → exactly one answer on
// stdout, exit 0. Anything unexpected: one line on stderr (no secrets) and the trigger's refusing answer.
import { databasePath, debugEnabled, mistEventEnv } from '../config';
import { oneLine } from '../lib/errors';
import { recordEvent } from '../store/events';
import { openForTrigger, type Db } from '../store/open';
import type { Answer } from '../triggers/answer';
import { TRIGGERS, type TriggerName } from '../triggers/registry';
import type { Trigger, TriggerContext } from '../triggers/types';
import { answerOnce, backgroundInto, closeInheritedSockets, readAllStdin, stderrLine } from './trigger-io';

/**
 * Runs one trigger as MistServer does: writes exactly one answer and ends the process.
 *
 * Commit before answer: MistServer SIGKILLs a blocking handler as soon as it has read the answer
 * (lib/triggers.cpp), so every write that matters (audit rows, key last use, guard counts) commits
 * inside `decide`, before a byte of the answer is written. Nothing runs after the answer but exit.
 */
export function runTrigger<E, N extends TriggerName>(trigger: Trigger<E, N>): void | Promise<void> {
  const name = trigger.name;
  // An asynchronous handler is a child of the MistServer process that fired it (an output, a
  // session), and that process SIGINTs its children when it exits (lib/procs.cpp exit_handler,
  // SIGKILL after 10 s). Installed, the program runs detached behind dist/<program>.sh and never
  // gets that signal; run any other way (mist-trigger, the standalone executable) it at least
  // ignores SIGINT/SIGTERM once node is up, and finishes.
  if (!TRIGGERS[name].blocking) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => {});
    closeInheritedSockets();
  }
  const log = (line: string) => stderrLine(name, line);
  let db: Db | undefined;
  const background: Promise<unknown>[] = [];
  const decide = (): Answer | Promise<Answer> => {
    const event = trigger.parse(readAllStdin());
    db = openForTrigger(databasePath());
    const now = Date.now();
    const mist = mistEventEnv();
    const ctx: TriggerContext = {
      db,
      now,
      eventTime: Number.isSafeInteger(mist.time) && mist.time > 0 ? mist.time : now,
      eventId: mist.eventId,
      log,
      debug: debugEnabled() ? log : () => {},
    };
    // Asynchronous triggers only: nobody waits for the answer, so their background work may finish first.
    if (!TRIGGERS[name].blocking) ctx.background = backgroundInto(background, log);
    return trigger.decide(event, ctx);
  };
  return answerOnce(name, log, decide, background, (err) => countError(name, db, err));
}

// How long recording an error may wait for the write lock: the refusal is already decided, and a
// locked database is the usual reason for the error in the first place.
const ERROR_RECORD_BUSY_MS = 200;

/**
 * Records a failed run as a `trigger`/`error` event (`streamctl metrics` counts them), before the
 * answer like every write. Best effort: SQLite errors are not recorded (the database is the
 * problem), and a failure before the database was opened (malformed payload, missing database)
 * opens it only if it exists. What cannot be recorded is still in MistServer's log (stderr).
 */
function countError(trigger: TriggerName, db: Db | undefined, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return;
  try {
    const handle = db ?? openForTrigger(databasePath());
    handle.pragma(`busy_timeout = ${ERROR_RECORD_BUSY_MS}`);
    recordEvent(handle, { at: Date.now(), kind: 'trigger', outcome: 'error', reason: oneLine(err).slice(0, 200), detail: trigger });
  } catch {
    // nothing more to do: the line on stderr stands
  }
}
