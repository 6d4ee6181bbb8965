// The only trigger I/O: stdin → parse → decide (every write committed) → exactly one answer on
// stdout, exit 0. Anything unexpected: one line on stderr (no secrets) and the trigger's refusing answer.
import { closeSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { databasePath, debugEnabled, mistEventEnv } from '../config';
import { oneLine } from '../lib/errors';
import { recordEvent } from '../store/events';
import { openForTrigger, type Db } from '../store/open';
import { DENY, render, type Answer } from '../triggers/answer';
import { TRIGGERS, type TriggerName } from '../triggers/registry';
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

/** Longest stderr line: payload text quoted in a message (a 1 MB address, say) is cut here. */
const MAX_LOG_LINE = 1000;

function stderrLine(trigger: string, line: string): void {
  // One line in MistServer's log, whatever a message quotes from the payload: control characters
  // (line breaks, "\r", ANSI escapes) become spaces and the length is bounded (the fuzz campaign
  // found a 1 MB client address echoed whole).
  // eslint-disable-next-line no-control-regex
  let text = line.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (text.length > MAX_LOG_LINE) text = `${text.slice(0, MAX_LOG_LINE)}... (${text.length - MAX_LOG_LINE} more characters)`;
  try {
    writeSync(2, `streamctl ${trigger}: ${text}\n`);
  } catch {
    // stderr closed: nothing more to do; the answer still goes out.
  }
}

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
  let answer: string = render(name, DENY);
  let db: Db | undefined;
  const fail = (err: unknown) => {
    answer = render(name, DENY);
    log(`${oneLine(err)}; answering ${answer === '' ? 'empty' : `"${answer}"`}`);
    countError(name, db, err);
  };
  const background: Promise<unknown>[] = [];
  const finish = (): never => {
    if (answer !== '') writeSync(1, answer);
    // Exit without closing the database: every write is committed, and a close would checkpoint
    // the WAL (copy pages back, two fsyncs) on the answer's path, work SQLite's auto-checkpoint in
    // a later commit or the CLI does anyway. A file left as a SIGKILL leaves it is safe by SQLite's
    // design (MistServer kills us at this point anyway). process.exit also skips better-sqlite3's
    // close-at-exit hook.
    process.exit(0);
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
    };
    if (!TRIGGERS[name].blocking) ctx.background = (work) => void background.push(work.catch(() => {}));
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
  // Asynchronous triggers only: nobody waits for the answer, so their background work may finish first.
  if (background.length > 0) return Promise.all(background).then(finish);
  finish();
}

/**
 * Closes every socket above stderr this process inherited. MistServer spawns handlers without
 * closing its own descriptors (lib/procs.cpp StartPiped closes only its socket list), so a handler
 * holds copies of listening sockets and of a pusher's or viewer's connection. Detached
 * (dist/<program>.sh), nothing kills it when MistServer goes: seen on the real server, after a
 * crash a pusher never saw its connection close and the restarted MistServer's port queued pushes
 * into such a copy. Node opens no socket while it starts, so every socket here is inherited (and
 * node marks inherited descriptors close-on-exec, so that flag cannot tell them apart). MistServer
 * gives handlers pipes for stdin/stdout, never sockets. Asynchronous triggers only: off the
 * blocking hot path.
 */
function closeInheritedSockets(): void {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return; // no /proc: nothing to go by
  }
  for (const entry of fds) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) closeSync(fd);
    } catch {
      // gone already (the listing's own descriptor): nothing to close
    }
  }
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
