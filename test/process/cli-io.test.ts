// The CLI's fd 0 and fd 1 as a process has them: a writer slower than the
// command (the nightly `export | streamctl sync`), stdin that cannot be read, stdout on a full disk
// or a closed pipe. Reads block until EOF; an I/O error exits 74, never the "no" answer 1; a
// command that makes a secret changes nothing when it cannot show it. In process, with a failing
// stdout: test/cli/user.test.ts ("a new secret whose answer cannot be written").
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, BIN, freshDb, tempDir } from '../support/helpers';
import { cliJson } from '../support/cli';
import pushRewrite from '../../src/triggers/push-rewrite';
import { answerOnFile } from '../support/trigger';

const STREAMCTL = join(BIN, 'streamctl');

/** True once the process is blocked in read(2) on fd 0 (Linux: /proc/<pid>/syscall is "0 0x0 ..."). */
function blockedOnStdin(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith('0 0x0 ');
  } catch {
    return false; // gone
  }
}

/**
 * Runs streamctl with stdin a pipe that gets `input` only once the program waits for it (or has
 * ended without waiting: the old readFileSync(0) failed at once with EAGAIN).
 */
function withSlowStdin(db: string, args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(STREAMCTL, args, { env: baseEnv({ STREAMCTL_DB: db }), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  let ended = false;
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      ended = true;
      resolve({ status, stdout, stderr });
    }),
  );
  const feed = () => {
    if (ended) return;
    if (!blockedOnStdin(child.pid!)) return void setTimeout(feed, 10);
    child.stdin.end(input);
  };
  child.stdin.on('error', () => undefined); // EPIPE when the program ended without reading
  feed();
  return done;
}

describe('stdin', () => {
  it('sync, check-password and access explain --token - wait for a slow writer until EOF', async () => {
    const db = freshDb();
    const sync = await withSlowStdin(db, ['sync', '--json'], '{"users":[{"name":"ana"}]}\n');
    expect(sync.stderr).toBe('');
    expect(sync.status).toBe(0);
    expect(JSON.parse(sync.stdout).summary.users_created).toBe(1);

    await cliJson(db, ['channel', 'password', 'ana'], { stdin: 'correct horse battery\n' });
    const match = await withSlowStdin(db, ['channel', 'check-password', 'ana', '--json'], 'correct horse battery\n');
    expect(match).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(match.stdout)).toEqual({ user: 'ana', match: true });
    const wrong = await withSlowStdin(db, ['channel', 'check-password', 'ana'], 'wrong horse\n');
    expect(wrong).toMatchObject({ status: 1, stderr: 'streamctl: wrong password\n' });

    await cliJson(db, ['token', 'secret']);
    const { token } = await cliJson<{ token: string }>(db, ['token', 'issue', 'ana', '--viewer', 'fan']);
    const explain = await withSlowStdin(db, ['access', 'explain', 'ana', '--token', '-', '--json'], `${token}\n`);
    expect(explain).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(explain.stdout)).toMatchObject({ decision: 'admit', token: 'valid' });
  });

  it('a stdin that cannot be read exits 74 naming it, never 1 ("wrong password")', async () => {
    const db = freshDb();
    await cliJson(db, ['user', 'add', 'bo']);
    await cliJson(db, ['channel', 'password', 'bo'], { stdin: 'correct horse battery\n' });
    const folder = openSync(tempDir(), 'r'); // read(2) on a folder: EISDIR
    try {
      for (const args of [['channel', 'check-password', 'bo'], ['sync'], ['access', 'explain', 'bo', '--token', '-']]) {
        const r = spawnSync(STREAMCTL, args, { env: baseEnv({ STREAMCTL_DB: db }), stdio: [folder, 'pipe', 'pipe'], encoding: 'utf8' });
        expect(r.status, args.join(' ')).toBe(74);
        expect(r.stderr, args.join(' ')).toBe('streamctl: cannot read stdin: EISDIR\n');
      }
    } finally {
      closeSync(folder);
    }
  });
});

describe('stdout that cannot be written', () => {
  const push = (db: string, key: string) => answerOnFile(pushRewrite, db, `rtmp://h/live/${key}\n127.0.0.1\n${key}`);

  it('user add --json > /dev/full and key rotate > /dev/full change nothing: exit 74, one line, no stack', async () => {
    const db = freshDb();
    const full = openSync('/dev/full', 'w');
    const run = (args: string[]) =>
      spawnSync(STREAMCTL, args, { env: baseEnv({ STREAMCTL_DB: db }), stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    try {
      const add = run(['user', 'add', 'cy', '--json']);
      expect(add.status).toBe(74);
      expect(add.stderr).toBe('streamctl: cannot write to stdout: ENOSPC (nothing was changed: the new secret could not be shown)\n');
      expect(await cliJson(db, ['user', 'list'])).toEqual([]);

      const { key } = await cliJson<{ key: string }>(db, ['user', 'add', 'cy']);
      const rotate = run(['key', 'rotate', 'cy']);
      expect(rotate.status).toBe(74);
      expect(rotate.stderr).toBe('streamctl: cannot write to stdout: ENOSPC (nothing was changed: the new secret could not be shown)\n');
      // The broadcaster's only key still works.
      expect((await push(db, key)).answer).toBe('streams+cy');
    } finally {
      closeSync(full);
    }
  });

  it('sync into a pipe nobody reads creates no user', async () => {
    const db = freshDb();
    const input = join(tempDir(), 'sync.json');
    writeFileSync(input, '{"users":[{"name":"dee"}]}');
    const child = spawn(STREAMCTL, ['sync', input], { env: baseEnv({ STREAMCTL_DB: db }), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before anything is written: `streamctl sync | true`
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('streamctl: cannot write to stdout: EPIPE (nothing was changed: the keys of new users could not be shown)\n');
    expect(status).toBe(74);
    expect(await cliJson(db, ['user', 'list'])).toEqual([]);
  });
});
