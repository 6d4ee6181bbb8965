// The only trigger I/O: stdin → parse → decide → exactly one answer on stdout, exit 0.
// Anything unexpected: one line on stderr (no secrets) and the trigger's refusing answer.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { databasePath, debugEnabled, mistEventEnv } from '../config';
import { oneLine } from '../lib/errors';
import { openForTrigger, type Db } from '../store/open';
import { DENY, render, type Answer } from '../triggers/answer';
import type { TriggerName } from '../triggers/registry';
import type { Trigger, TriggerContext } from '../triggers/types';

/** Payloads are small; anything bigger than this is not MistServer talking. */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

function readAllStdin(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // non-blocking stdin: wait, retry
        continue;
      }
      if (code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_PAYLOAD_BYTES) throw new Error(`payload larger than ${MAX_PAYLOAD_BYTES} bytes`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function stderrLine(trigger: string, line: string): void {
  try {
    writeSync(2, `streamctl ${trigger}: ${line}\n`);
  } catch {
    // stderr closed: nothing more to do; the answer still goes out.
  }
}

/**
 * Runs one trigger as MistServer does and returns the answer written (for the caller's tests/logs);
 * a promise of it only when the trigger's decision is asynchronous.
 */
export function runTrigger<E, N extends TriggerName>(trigger: Trigger<E, N>): string | Promise<string> {
  const name = trigger.name;
  const log = (line: string) => stderrLine(name, line);
  let answer: string = render(name, DENY);
  let db: Db | undefined;
  const fail = (err: unknown) => {
    answer = render(name, DENY);
    log(`${oneLine(err)}; answering ${answer === '' ? 'empty' : `"${answer}"`}`);
  };
  const deferred: (() => void)[] = [];
  const finish = (): string => {
    if (answer !== '') writeSync(1, answer);
    // MistServer stops waiting when stdout closes, not when the process exits (capture 14): hand
    // it the answer now, then do the bookkeeping and the database close (a WAL checkpoint).
    try {
      closeSync(1);
      // Re-occupy fd 1 at once (the lowest free descriptor) so no file opened later can land on it.
      openSync('/dev/null', 'w');
    } catch {
      // already closed, or no /dev/null: nothing more to do
    }
    for (const work of deferred) {
      try {
        work();
      } catch (err) {
        log(`after answering: ${oneLine(err)}`);
      }
    }
    try {
      db?.close();
    } catch {
      // closing is best effort; the answer is already out
    }
    return answer;
  };
  try {
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
      afterAnswer: (work) => void deferred.push(work),
    };
    const decided: Answer | Promise<Answer> = trigger.decide(event, ctx);
    if ('then' in decided) {
      return decided.then(
        (a) => {
          answer = render(name, a);
        },
        fail,
      ).then(finish);
    }
    answer = render(name, decided);
  } catch (err) {
    fail(err);
  }
  return finish();
}
