// The streamctl entry: runs the program, turns expected failures into one line and an exit code.
import { CommanderError } from 'commander';
import { debugEnabled } from '../config';
import { oneLine, UserError } from '../lib/errors';
import { createContext, type CliContext } from './context';
import { buildProgram } from './program';

/**
 * Runs the CLI with argv (node-style: [node, script, ...args]); resolves to the exit code. Tests
 * pass their own context (captured output, their database, their clock).
 */
export async function run(
  argv: string[],
  ctx: CliContext = createContext({
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
  }),
): Promise<number> {
  const program = buildProgram(ctx);
  const exitOverride = (c: import('commander').Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander has printed its message
    if (err instanceof UserError) {
      ctx.err(`streamctl: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      ctx.err(`streamctl: database error (${code}): ${oneLine(err)} [${ctx.dbPath()}]\n`);
      return 1;
    }
    ctx.err(`streamctl: unexpected error: ${oneLine(err)}\n`);
    if (debugEnabled()) ctx.err(`${(err as Error).stack ?? ''}\n`);
    return 70;
  } finally {
    ctx.close();
  }
}

/** Entry used by bin/streamctl. */
export function main(): void {
  run(process.argv).then((code) => {
    process.exitCode = code;
  });
}
