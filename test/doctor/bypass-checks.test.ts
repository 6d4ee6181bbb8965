// doctor's findings on MistServer's ways around the triggers that are not in its API answer: NOSESS in
// MistController's environment (read from /proc/<pid>/environ; here a folder laid out like /proc).
// Stream keys and jwks through doctor and apply: test/cli/doctor.test.ts, test/cli/mist.test.ts;
// on the real server: test/real-mist/bypass.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mistControllerEnvironments, sessionsCheck } from '../../src/doctor/bypass-checks';
import { tempDir } from '../support/helpers';

/** A /proc with one process per entry: its comm and its environment (null: an environ nobody can read). */
function fakeProc(processes: { pid: number; comm: string; env: string[] | null }[]): string {
  const root = tempDir();
  for (const p of processes) {
    mkdirSync(join(root, String(p.pid)));
    writeFileSync(join(root, String(p.pid), 'comm'), `${p.comm}\n`);
    if (p.env === null) mkdirSync(join(root, String(p.pid), 'environ'));
    else writeFileSync(join(root, String(p.pid), 'environ'), p.env.map((v) => `${v}\0`).join(''));
  }
  mkdirSync(join(root, 'self'));
  return root;
}

const check = (root: string) => sessionsCheck(mistControllerEnvironments(root));

describe('the sessions check (NOSESS)', () => {
  it("fails when NOSESS is in MistController's environment, naming the process", () => {
    const root = fakeProc([
      { pid: 40, comm: 'MistController', env: ['PATH=/usr/bin', 'NOSESS=1'] },
      { pid: 41, comm: 'MistOutRTMP', env: ['NOSESS=1'] },
    ]);
    expect(check(root)).toMatchObject({
      check: 'sessions',
      status: 'fail',
      message: expect.stringContaining(
        'NOSESS is set in the environment of MistController (pid 40): MistServer starts no sessions, so USER_NEW never runs',
      ),
    });
  });

  it('is ok without it, and says what it could not read', () => {
    expect(check(fakeProc([{ pid: 40, comm: 'MistController', env: ['PATH=/usr/bin', 'NOSESSION_NOTE=x'] }]))).toMatchObject({
      status: 'ok',
    });
    expect(check(fakeProc([{ pid: 40, comm: 'MistController', env: null }]))).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('could not read the environment of MistController (pid 40)'),
    });
    expect(check(fakeProc([{ pid: 41, comm: 'bash', env: ['NOSESS=1'] }]))).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('no MistController process on this host'),
    });
  });
});
