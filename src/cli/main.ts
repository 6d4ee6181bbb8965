// The streamctl entry: runs the program, turns expected failures into one line and an exit code.
import { CommanderError } from 'commander';
import { debugEnabled } from '../config';
import { EXIT, oneLine, UserError } from '../lib/errors';
import { MistApiError } from '../mist/api';
import { createContext, type CliContext } from './context';
import { buildProgram, unknownCommandPath } from './program';
import { StdioError, writeStderr, writeStdout } from './stdio';

/**
 * Runs the CLI with argv (node-style: [node, script, ...args]); resolves to the exit code (EXIT).
 * Tests pass their own context (captured output, their database, their clock).
 */
export async function run(argv: string[], ctx: CliContext = createContext({ out: writeStdout, err: writeStderr })): Promise<number> {
  const program = buildProgram(ctx);
  const exitOverride = (c: import('commander').Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  // With --json a failure is also a JSON document on stdout ({"error": ..., "exit_code": ...},
  // schemas/error.schema.json), unless the command already printed its own (doctor, prune).
  const json = argv.slice(2).includes('--json');
  const fail = (code: number, message: string, stdoutWorks = true): number => {
    ctx.err(`streamctl: ${message}\n`);
    if (json && stdoutWorks && !ctx.printedJson()) {
      try {
        ctx.json({ error: message, exit_code: code });
      } catch {
        // stdout failed as well: the stderr line and the exit code are what is left
      }
    }
    return code;
  };
  // An unknown command is a usage error even with --help: parsed without the help, commander
  // reports it as it does any unknown command.
  const unknown = unknownCommandPath(program, argv.slice(2));
  if (unknown) argv = [...argv.slice(0, 2), ...unknown];
  try {
    await program.parseAsync(argv);
    return ctx.exitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message (prefixed in program.ts); help and --version are not errors.
      if (err.exitCode === 0) return EXIT.ok;
      if (json) {
        try {
          ctx.json({ error: err.message.replace(/^error: /, ''), exit_code: EXIT.usage });
        } catch {
          // stdout failed: commander's line on stderr and the exit code remain
        }
      }
      return EXIT.usage;
    }
    if (err instanceof StdioError) return fail(err.exitCode, err.message, err.stream !== 'stdout');
    if (err instanceof UserError) return fail(err.exitCode, err.message);
    if (err instanceof MistApiError) return fail(EXIT.mistUnavailable, err.message);
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      return fail(EXIT.no, `database error (${code}): ${oneLine(err)} [${ctx.dbPath()}]`);
    }
    const exit = fail(EXIT.internal, `unexpected error: ${oneLine(err)}`);
    if (debugEnabled()) ctx.err(`${(err as Error).stack ?? ''}\n`);
    return exit;
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
