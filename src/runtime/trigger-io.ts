// The I/O every trigger runner shares (the one-box runner run-trigger.ts and the edge runner
// run-edge-trigger.ts): reading the payload, exactly one answer, one-line stderr messages,
// dropping inherited sockets.
import { closeSync, readdirSync, readlinkSync, readSync, writeSync } from 'node:fs';
import { oneLine } from '../lib/errors';
import { DENY, render, type Answer } from '../triggers/answer';
import type { TriggerName } from '../triggers/registry';

/** Payloads are small; anything bigger than this is not MistServer talking. */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** The whole payload from stdin (blocking reads; MistServer closes stdin after writing it). */
export function readAllStdin(): string {
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

/** One line on stderr, prefixed with the trigger's name: what MistServer's log shows. */
export function stderrLine(trigger: string, line: string): void {
  // One line in MistServer's log, whatever a message quotes from the payload: control characters
  // (line breaks, "\r", ANSI escapes) become spaces and the length is bounded (the fuzz campaign
  // found a 1 MB client address echoed whole).
  let text = line.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (text.length > MAX_LOG_LINE) text = `${text.slice(0, MAX_LOG_LINE)}... (${text.length - MAX_LOG_LINE} more characters)`;
  try {
    writeSync(2, `streamctl ${trigger}: ${text}\n`);
  } catch {
    // stderr closed: nothing more to do; the answer still goes out.
  }
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
export function closeInheritedSockets(): void {
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

/**
 * The `ctx.background` of an asynchronous trigger, the same in both runners: the work joins
 * `background` (answerOnce waits for it before exiting), and what it throws is one stderr line
 * (never the answer: an asynchronous trigger's answer is not read).
 */
export function backgroundInto(background: Promise<unknown>[], log: (line: string) => void): (work: Promise<unknown>) => void {
  return (work) => void background.push(work.catch((err: unknown) => log(oneLine(err))));
}

/**
 * The end every run shares: `decide` (parse the payload, open what the runner needs, decide), then
 * exactly one answer on stdout and exit 0. Anything thrown or rejected is one stderr line, then
 * `failed(err)` (what else the runner records), and the trigger's refusal. `background` holds an
 * asynchronous trigger's work still running (nobody waits for its answer): it finishes first.
 *
 * Exit without closing anything: every write is committed inside `decide` (MistServer SIGKILLs a
 * blocking handler once it has read the answer), and closing the database would checkpoint the WAL
 * (copy pages back, two fsyncs) on the answer's path, work SQLite's auto-checkpoint in a later
 * commit or the CLI does anyway. A file left as a SIGKILL leaves it is safe by SQLite's design.
 * process.exit also skips better-sqlite3's close-at-exit hook; open Redis sockets simply close.
 */
export function answerOnce(
  name: TriggerName,
  log: (line: string) => void,
  decide: () => Answer | Promise<Answer>,
  background: Promise<unknown>[],
  failed: (err: unknown) => void = () => {},
): void | Promise<void> {
  let answer: string = render(name, DENY);
  const fail = (err: unknown) => {
    answer = render(name, DENY);
    log(`${oneLine(err)}; answering ${answer === '' ? 'empty' : `"${answer}"`}`);
    failed(err);
  };
  const finish = (): never => {
    if (answer !== '') writeSync(1, answer);
    process.exit(0);
  };
  const settle = () => (background.length > 0 ? Promise.all(background).then(finish) : finish());
  try {
    const decided = decide();
    if ('then' in decided) {
      return decided
        .then((a) => {
          answer = render(name, a);
        }, fail)
        .then(settle);
    }
    answer = render(name, decided);
  } catch (err) {
    fail(err);
  }
  return settle();
}
