// Runs a site notification hook: the configured program, no shell, no arguments, the JSON event
// on stdin, its stdout discarded (it must never reach MistServer as a trigger answer), the first
// line of its stderr quoted when it fails. Killed (with its pipes closed) after HOOK_TIMEOUT_MS, so
// neither a hanging hook nor a child it left behind holds the trigger longer than that.
// Only a trusted program runs, as an account no more privileged than those who could set it
// (see hook-trust.ts); anything else is one log line and the hook is skipped.
import type { SpawnSyncReturns } from 'node:child_process';
import { hookRunner, trustedHookProgram } from './hook-trust';

/** Longest a hook may run before it is killed. */
export const HOOK_TIMEOUT_MS = 5000;

/**
 * The bound in force: HOOK_TIMEOUT_MS, except in a test that proves the kill without waiting
 * 5 s (test/live/hooks.test.ts sets `ms` in its own process and restores it).
 */
export const hookBound = { ms: HOOK_TIMEOUT_MS };

/** Runs the hook of the database at `dbPath` and waits at most hookBound.ms; returns a problem in words, or null. */
export function runHook(program: string, event: object, dbPath: string): string | null {
  const runner = hookRunner(dbPath);
  if (typeof runner === 'string') return `hook ${program} not run: ${runner}`;
  const trusted = trustedHookProgram(program, runner);
  if ('problem' in trusted) return `hook ${program} not run: ${trusted.problem}`;
  // Loaded only when a hook is configured: most trigger runs never pay for it.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  let r: SpawnSyncReturns<Buffer>;
  try {
    r = spawnSync(trusted.path, [], {
      uid: runner.uid,
      gid: runner.gid,
      input: JSON.stringify(event),
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: hookBound.ms,
      killSignal: 'SIGKILL',
      shell: false,
    });
  } catch (err) {
    return `could not run hook ${program}: ${(err as Error).message}`;
  }
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return `hook ${program} ran longer than ${hookBound.ms / 1000} s and was killed`;
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') return `could not run hook ${program}: ${r.error.message}`;
  const said = r.stderr ? r.stderr.toString('utf8').trim().split('\n', 1)[0]!.slice(0, 200) : '';
  const because = said ? `: ${said}` : '';
  if (r.signal) return `hook ${program} was killed by ${r.signal}${because}`;
  if (r.status !== 0) return `hook ${program} exited with status ${r.status}${because}`;
  return null;
}
