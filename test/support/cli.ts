// The streamctl CLI run in process: the same `run` bin/streamctl calls (commander tree, exit codes,
// one-line errors), with a context whose output is captured and whose database is the test's
// (in memory or a temp file), and stdin given as a string. No process start: doctor's "programs
// run" check, which starts every trigger program, is skipped unless a test asks for it (the
// process layer, test/process/, runs it on the built and installed programs).
import { run } from '../../src/cli/main';
import { createContext, type ContextOptions } from '../../src/cli/context';
import { StdioError } from '../../src/cli/stdio';
import type { Db } from '../../src/store/open';

export interface CliResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** Where the CLI's database is: an open database (usually memoryDb()) or a file path. */
export type CliTarget = Db | string;

export interface CliOptions extends Omit<ContextOptions, 'db' | 'dbPath'> {
  /**
   * Environment for this run only (STREAMCTL_CONF, STREAMCTL_DEBUG, ...): set in this process while
   * the command runs, then restored. Tests of one file run one at a time, so nothing else sees it.
   */
  env?: Record<string, string>;
  /** Every write to stdout fails with this errno code (ENOSPC, EPIPE), as bin/streamctl's would. */
  stdoutError?: string;
}

/** Runs `streamctl ...args` against the target; resolves with what it printed and its exit code. */
export async function cli(target: CliTarget, args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { env = {}, stdoutError, ...contextOptions } = options;
  let stdout = '';
  let stderr = '';
  const out = (t: string) => {
    if (stdoutError !== undefined) throw new StdioError('stdout', stdoutError);
    stdout += t;
  };
  const ctx = createContext(
    { out, err: (t) => void (stderr += t) },
    { runTriggerPrograms: false, ...contextOptions, ...(typeof target === 'string' ? { dbPath: target } : { db: target }) },
  );
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  try {
    const status = await run(['node', 'streamctl', ...args], ctx);
    return { stdout, stderr, status };
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs the CLI with --json and parses its output; throws with stderr when it failed. */
export async function cliJson<T = any>(target: CliTarget, args: string[], options: CliOptions = {}): Promise<T> {
  const r = await cli(target, [...args, '--json'], options);
  if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Creates a user and returns its first stream key. */
export async function addUser(target: CliTarget, name: string, ...extra: string[]): Promise<string> {
  return (await cliJson<{ key: string }>(target, ['user', 'add', name, ...extra])).key;
}
