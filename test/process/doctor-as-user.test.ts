// `doctor` runs the trigger programs as MistServer's user for real (as root: setpriv/runuser). Needs
// root and the `nobody` user to switch to. (That it says how many checks it skipped when MistServer
// cannot be asked is test/process/install.test.ts's, on its installed copy.)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, ROOT, tempDir } from '../support/helpers';

const isRoot = process.getuid?.() === 0;
const hasNobody = spawnSync('id', ['nobody']).status === 0;

interface Check {
  check: string;
  status: string;
  message: string;
}

describe.runIf(isRoot && hasNobody)('doctor --mist-user, run as root', () => {
  // mkdtemp makes the folder 0700: nobody cannot reach anything installed under it.
  const top = tempDir();
  const prefix = join(top, 'prefix');
  const install = spawnSync('bash', [join(ROOT, 'install.sh')], {
    env: baseEnv({ PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '', SCHEDULE: 'none' }),
    encoding: 'utf8',
  });
  const doctor = (): Check[] => {
    const r = spawnSync(join(prefix, 'bin', 'streamctl'), ['doctor', '--mist-user', 'nobody', '--api', 'http://127.0.0.1:9', '--json'], {
      env: {},
      encoding: 'utf8',
    });
    return (JSON.parse(r.stdout) as { checks: Check[] }).checks;
  };
  const find = (checks: Check[], name: string) => checks.filter((c) => c.check === name);

  it('fails programs under a 0700 folder the user cannot enter (it used to say ok)', () => {
    expect(install.status, install.stderr).toBe(0);
    const programs = find(doctor(), 'programs')[0]!;
    expect(programs.status).toBe('fail');
    expect(programs.message).toContain(join(prefix, 'lib', 'streamctl', 'bin', 'push-rewrite'));
  });

  it('runs them as that user: ok once the folders are open', () => {
    chmodSync(top, 0o755);
    const checks = doctor();
    expect(find(checks, 'programs')[0]!.status).toBe('ok');
    expect(find(checks, 'programs run')).toEqual([
      {
        check: 'programs run',
        status: 'ok',
        message: 'every trigger program, run as nobody, answers its refusal to a malformed payload',
        fix: null,
      },
    ]);
  });

  it('fails when the program cannot really run as that user though its own mode is fine', () => {
    // The interpreter behind a folder nobody cannot enter (as with node installed under /root).
    const hidden = join(tempDir(), 'node-home');
    mkdirSync(hidden);
    symlinkSync(process.execPath, join(hidden, 'node'));
    const dist = join(prefix, 'lib', 'streamctl', 'dist');
    const file = join(dist, readdirSync(dist).find((f) => f.startsWith('user-new'))!);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/^#!.*\n/, `#!${join(hidden, 'node')}\n`));
    try {
      const run = find(doctor(), 'programs run')[0]!;
      expect(run.status).toBe('fail');
      expect(run.message).toMatch(/^run as nobody: USER_NEW: did not run/);
      // Root itself runs it fine: only a real run as the user shows the problem.
      const asRoot = spawnSync(file, ['USER_NEW'], { input: 'x', env: baseEnv({ STREAMCTL_DB: '/nonexistent/x.db' }), encoding: 'utf8' });
      expect(asRoot.stdout).toBe('false');
    } finally {
      writeFileSync(file, text);
    }
  });

  it("also runs the program behind an asynchronous trigger's wrapper (the wrapper exits 0 regardless)", () => {
    const hidden = join(tempDir(), 'node-home');
    mkdirSync(hidden);
    symlinkSync(process.execPath, join(hidden, 'node'));
    const file = join(prefix, 'lib', 'streamctl', 'dist', 'stream-end.js');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/^#!.*\n/, `#!${join(hidden, 'node')}\n`));
    try {
      const run = find(doctor(), 'programs run')[0]!;
      expect(run.status).toBe('fail');
      expect(run.message).toMatch(/^run as nobody: STREAM_END: did not run/);
    } finally {
      writeFileSync(file, text);
    }
  });
});
