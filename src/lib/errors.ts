/**
 * The CLI's exit codes, a contract scripts rely on (docs/operations.md, "Exit codes"):
 * 0 done or yes; 1 a negative answer or a failure named on stderr; 2 the command line is wrong;
 * 3 MistServer's API could not be used; 70 a bug; 74 stdin or stdout could not be read or written.
 */
export const EXIT = {
  ok: 0,
  /** A negative answer (refused, wrong password, changes pending, problems found) or a failure. */
  no: 1,
  /** Unknown command or option, missing or invalid argument or option value. */
  usage: 2,
  /** MistServer's API is unreachable, timed out, refused the login or did not answer JSON. */
  mistUnavailable: 3,
  /** An unexpected error (a bug): the message is printed, the stack with STREAMCTL_DEBUG=1. */
  internal: 70,
  /** stdin could not be read or stdout written (closed pipe, full disk, I/O error); sysexits' EX_IOERR. */
  io: 74,
} as const;

/** An expected failure the user can fix: printed as one line, never with a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.no,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A value on the command line that is not acceptable (exit 2, like commander's own usage errors). */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** A trigger payload that does not have MistServer's shape. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** The schema is missing or older than this build expects (triggers never migrate). */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** Message of anything thrown, on one line. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}
