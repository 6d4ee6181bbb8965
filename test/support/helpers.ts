// Running the built programs the way MistServer runs them: argv[1] = trigger name, payload on
// stdin, MIST_* in the environment, a real SQLite file in a temp dir.
import { openForCli } from '../../src/store/open';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { migrate } from '../../src/store/migrate';

export const ROOT = resolve(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** A clean environment: no inherited STREAMCTL_* and no NODE_EXTRA_CA_CERTS (it slows every start). */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('STREAMCTL_') && !k.startsWith('MIST_') && k !== 'NODE_EXTRA_CA_CERTS') env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

const createdDirs: string[] = [];

/** Removes every folder tempDir made; test/support/setup.ts runs it after each test file. */
export function removeTempDirs(): void {
  for (const dir of createdDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A temp folder removed after the test file. */
export function tempDir(prefix = 'streamctl-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  createdDirs.push(dir);
  return dir;
}

/**
 * Runs `bin/streamctl args...` as a process, for what only a process shows (a hang, fd 0, umask).
 * Everything else runs the CLI in process: test/support/cli.ts.
 */
export function cliProcess(dbPath: string, args: string[], extraEnv: Record<string, string> = {}): RunResult {
  const r = spawnSync(join(BIN, 'streamctl'), args, { env: baseEnv({ STREAMCTL_DB: dbPath, ...extraEnv }), encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** A migrated database file in a fresh temp dir (migrated in process, as `streamctl db migrate` does). */
export function freshDb(): string {
  const path = join(tempDir(), 'streamctl.db');
  // Created as the CLI creates it (0600, WAL), so doctor and hook checks see a real install's file.
  const db = openForCli(path, { create: true });
  try {
    migrate(db);
  } finally {
    db.close();
  }
  return path;
}

export interface TriggerCall {
  /** Program in bin/ (default mist-trigger). */
  program?: string;
  /** argv[1]: the trigger name as MistServer passes it. */
  trigger: string;
  payload: string;
  db: string;
  env?: Record<string, string>;
}

function triggerEnv(call: TriggerCall): NodeJS.ProcessEnv {
  return baseEnv({
    STREAMCTL_DB: call.db,
    MIST_TRIGGER: call.trigger,
    MIST_TRIG_DEF: 'false',
    MIST_PID: '4242',
    MIST_CONTROL: '1',
    ...call.env,
  });
}

/** Runs a trigger program synchronously. */
export function runTrigger(call: TriggerCall): RunResult {
  const r = spawnSync(join(BIN, call.program ?? 'mist-trigger'), [call.trigger], {
    input: call.payload,
    env: triggerEnv(call),
    encoding: 'utf8',
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/**
 * Runs a program without blocking the event loop (a fake server or a test Redis may live in this
 * process), feeds it `input` (stdin closed at once without one), and collects what it printed.
 */
export function spawnCollect(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  as?: { uid: number; gid: number },
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program, args, { env, ...as });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ stdout, stderr, status }));
    child.stdin.end(input);
  });
}

/** Runs a trigger program without waiting (for concurrent deliveries). */
export function runTriggerAsync(call: TriggerCall): Promise<RunResult> {
  return spawnCollect(join(BIN, call.program ?? 'mist-trigger'), [call.trigger], triggerEnv(call), call.payload);
}

/** A captured payload, byte for byte: fixture('01-basic-push-alice/PUSH_REWRITE-1'). */
export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, 'mist-captures', `${name}.txt`), 'utf8');
}

/** The MIST_* variables recorded with a captured payload. */
export function fixtureEnv(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(FIXTURES, 'mist-captures', `${name}.env`), 'utf8').split('\n')) {
    const m = /^(MIST_[A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
