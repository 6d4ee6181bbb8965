// The CLI's own fd 0 and fd 1, read and written synchronously. process.stdin would turn a pipe on
// fd 0 non-blocking (libuv), after which readFileSync(0) fails with EAGAIN whenever the writer is
// slower than us (`(sleep 1; echo ...) | streamctl sync`); process.stdout reports a failed write
// later, as an 'error' event (a stack trace), after the command has committed what it printed.
// Here a read blocks until EOF and a write either completes or throws, so a command can print a
// new secret before it commits the change and roll back when the secret cannot be shown.
import { readSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { EXIT, UserError } from '../lib/errors';
import type { Db } from '../store/open';

/** stdin or stdout failed (closed pipe, full disk, I/O error): exit EXIT.io, never a "no" answer. */
export class StdioError extends UserError {
  constructor(
    readonly stream: 'stdin' | 'stdout',
    readonly code: string,
    note?: string,
  ) {
    super(`cannot ${stream === 'stdin' ? 'read stdin' : 'write to stdout'}: ${code}${note ? ` (${note})` : ''}`, EXIT.io);
    this.name = 'StdioError';
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * EAGAIN: the descriptor is non-blocking (made so by another process sharing it) and not ready;
 * wait a little and try again rather than fail. EINTR: a signal interrupted the call.
 */
function retryable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
    Atomics.wait(pause, 0, 0, 5);
    return true;
  }
  return code === 'EINTR';
}

const errnoCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** True when fd 0 is a terminal (without creating process.stdin, which would make a pipe non-blocking). */
export const stdinIsTerminal = (): boolean => isatty(0);

/** Everything on fd 0 up to EOF, as UTF-8; a StdioError when it cannot be read. */
export function readStdinToEnd(): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buffer, 0, buffer.length, null);
    } catch (err) {
      if (retryable(err)) continue;
      if ((err as NodeJS.ErrnoException).code === 'EOF') break; // Windows-style end, for completeness
      throw new StdioError('stdin', errnoCode(err));
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes all of `text` to fd 1 before returning; a StdioError (EPIPE, ENOSPC, EIO) when it cannot. */
export function writeStdout(text: string): void {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < data.length) {
    try {
      done += writeSync(1, data, done, data.length - done);
    } catch (err) {
      if (retryable(err)) continue;
      throw new StdioError('stdout', errnoCode(err));
    }
  }
}

/** Writes to fd 2 as far as it can: there is nowhere left to report a failure of stderr. */
export function writeStderr(text: string): void {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < data.length) {
    try {
      done += writeSync(2, data, done, data.length - done);
    } catch (err) {
      if (!retryable(err)) return;
    }
  }
}

/**
 * Runs `change`, which makes a secret (a stream key, a token secret) and prints it, in one
 * IMMEDIATE transaction: the answer is written before the commit, and when stdout fails the change
 * is rolled back, so a secret is never stored that nobody was shown (a rotated-out key keeps
 * working). A reader that exits without reading what was written cannot be seen from here.
 */
export function commitOnceShown<T>(db: Db, change: () => T): T {
  try {
    return db.transaction(change).immediate();
  } catch (err) {
    if (err instanceof StdioError && err.stream === 'stdout')
      throw new StdioError('stdout', err.code, 'nothing was changed: the new secret could not be shown');
    throw err;
  }
}
