// Asynchronous trigger programs run behind dist/<program>.sh (install.sh links bin/<program> to
// it): the MistServer process that fired the trigger SIGINTs its child as it exits (lib/procs.cpp
// exit_handler, by pid, from 0.5 s on), and node, still starting, dies of it. Here the signals are
// sent at once and repeatedly, harder than MistServer does; the bare program is the control.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRIGGERS } from '../src/triggers/registry';
import { addUser, baseEnv, cliJson, fixture, freshDb, ROOT } from './helpers';

const DIST = join(ROOT, 'dist');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HEALTH = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;

/** Runs `file` as MistServer would, SIGINTs (and SIGTERMs) its pid every 2 ms until it exits. */
async function runUnderFire(file: string, db: string): Promise<{ signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  const child = spawn(file, ['STREAM_BUFFER'], { env: baseEnv({ STREAMCTL_DB: db, MIST_TRIGGER: 'STREAM_BUFFER' }), stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(`streams+alice\nFULL\n${HEALTH}`);
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      try {
        process.kill(child.pid!, sig);
      } catch {
        // already gone
      }
    }
    await sleep(2);
  }
  return { signal: await exited, ms: Date.now() - t0 };
}

async function liveWithin(db: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cliJson(db, ['status', 'alice']).state === 'live') return true;
    await sleep(100);
  }
  return false;
}

describe('asynchronous trigger programs', () => {
  it('have a detaching wrapper each; blocking programs have none (they are waited for)', () => {
    for (const spec of Object.values(TRIGGERS)) {
      const wrapper = join(DIST, `${spec.program}.sh`);
      expect(existsSync(wrapper), spec.program).toBe(!spec.blocking);
      if (!spec.blocking) expect(statSync(wrapper).mode & 0o111).toBe(0o111);
    }
  });

  it('finish their writes behind the wrapper although its pid is signalled from the start', async () => {
    const db = freshDb();
    addUser(db, 'alice');
    const r = await runUnderFire(join(DIST, 'stream-buffer.sh'), db);
    expect(r.signal).toBeNull(); // the wrapper ignored the signals and exited by itself
    expect(await liveWithin(db, 10_000)).toBe(true);
  });

  it('(control) the bare program dies of the same signals before it writes', async () => {
    const db = freshDb();
    addUser(db, 'alice');
    const r = await runUnderFire(join(DIST, 'stream-buffer.js'), db);
    expect(r.signal).toBe('SIGINT');
    expect(await liveWithin(db, 1000)).toBe(false);
  });
});
