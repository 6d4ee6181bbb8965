// A real redis-server for tests: started on a unix socket in a temp dir (no TCP port, nothing
// persisted), stopped after the test file. Tests that need it skip with one line when the
// binary is absent (CI installs it: .ci/run).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../../src/lib/resp';

/** The redis-server binary, or undefined when it is not installed. */
export const REDIS_SERVER: string | undefined = (() => {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
})();

/** The one line a skipped suite shows. */
export const NO_REDIS = 'redis-server is not installed: Redis tests skipped (apt-get install redis-server)';

export interface TestRedis {
  /** The unix socket path to connect to. */
  socket: string;
  dir: string;
  proc: ChildProcess;
  /** SIGSTOP / SIGCONT the server (an unresponsive primary). */
  pause(): void;
  resume(): void;
  /** Kills the server and removes its socket, keeping its folder (startRedis(args, dir) starts it again there). */
  kill(): Promise<void>;
  /** Kills the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * True once the server answers on its socket. The socket file appears a moment before redis-server
 * listens (ECONNREFUSED seen under load); any reply counts, NOAUTH included (--requirepass).
 */
export async function redisAnswers(socket: string): Promise<boolean> {
  try {
    const c = await connectRedis(socket, { timeoutMs: 1000 });
    try {
      await c.call('PING');
    } catch {
      // an error reply (NOAUTH) is an answer too
    } finally {
      c.close();
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts redis-server with extra args (e.g. ['--requirepass', 'x']) and waits until it answers on
 * its socket, `dir`/r.sock: in a new temp folder, or in `dir` (a restart on the same socket).
 */
export async function startRedis(extraArgs: string[] = [], dir = mkdtempSync(join(tmpdir(), 'streamctl-redis-'))): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error(NO_REDIS);
  const socket = join(dir, 'r.sock');
  const proc = spawn(
    REDIS_SERVER,
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket) || !(await redisAnswers(socket))) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not answer on its socket within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const redis: TestRedis = {
    socket,
    dir,
    proc,
    pause: () => void proc.kill('SIGSTOP'),
    resume: () => void proc.kill('SIGCONT'),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGCONT');
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(socket, { force: true });
    },
    async stop() {
      await redis.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}
