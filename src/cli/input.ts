// Reading secrets and times from the command line's surroundings (never from argv for secrets).
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../lib/duration';
import { UsageError, UserError } from '../lib/errors';
import { parseIsoTime } from '../lib/time';
import type { CliContext } from './context';

/** A secret read from stdin (one trailing newline dropped), so it stays out of argv and shell history. */
export function readSecretFromStdin(ctx: Pick<CliContext, 'readStdin'>, what: string): string {
  const text = ctx.readStdin(`type the ${what}, then Ctrl-D:\n`);
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new UserError(`no ${what} on stdin`);
  if (secret.includes('\n')) throw new UserError(`the ${what} on stdin must be one line`);
  return secret;
}

/** `--until`: a duration from now (30d) or an ISO 8601 time (2027-01-31, 2027-01-31T12:00:00Z) that exists (not 2027-02-31). */
export function parseUntil(text: string, now: number, flag = '--until'): number {
  const ms = parseDuration(text);
  if (ms !== null) return now + ms;
  const at = parseIsoTime(text);
  if (Number.isFinite(at)) return at;
  // A value the command line got wrong: exit 2 like every invalid value (docs/json.md).
  throw new UsageError(`invalid ${flag} "${text}": expected a duration such as 30d or a time that exists such as 2027-01-31T12:00:00Z`);
}

/** Commander argument parser for positive integers. */
export function positiveInt(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value)) throw new InvalidArgumentError('expected a whole number above 0');
  return Number(value);
}
