// install.sh into a temp PREFIX, as an operator without root would: the installed programs find
// the installed database with an empty environment (MistServer passes none of ours).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRIGGERS } from '../../src/triggers/registry';
import { baseEnv, ROOT, tempDir } from '../support/helpers';

describe('install.sh', () => {
  const prefix = join(tempDir(), 'prefix');
  const install = () =>
    spawnSync('bash', [join(ROOT, 'install.sh')], { env: baseEnv({ PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '' }), encoding: 'utf8' });
  const app = join(prefix, 'lib', 'streamctl');

  let first: ReturnType<typeof install> | undefined;
  /** What doctor said about the installed copy, MistServer not running. */
  let checks: { check: string; status: string; message: string }[] = [];

  it('installs programs, creates the database and prints the trigger paths', () => {
    const r = (first = install());
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(join(app, 'bin', 'push-rewrite'));
    expect(existsSync(join(prefix, 'var', 'lib', 'streamctl', 'streamctl.db'))).toBe(true);
    expect(readFileSync(join(app, 'bin', 'push-rewrite'), 'utf8')).toMatch(/^#!\/\S+node\n/);
    // Asynchronous triggers run behind their detaching wrapper (test/process/async-detach.test.ts).
    expect(readlinkSync(join(app, 'bin', 'recording-end'))).toBe('../dist/recording-end.sh');
    expect(readlinkSync(join(app, 'bin', 'user-new'))).toBe('../dist/user-new.js');
  });

  // Another PREFIX without SCHEDULE (nor SYSTEMD_DIR / CRON_DIR): nothing is scheduled.
  it('touches no system folder for the scheduled jobs: it prints the crontab lines', () => {
    expect(first?.status).toBe(0);
    expect(first!.stdout).toContain('add these lines to the crontab');
    expect(first!.stdout).toContain(`${join(prefix, 'bin', 'streamctl')} status --reconcile`);
    expect(readFileSync(join(app, 'streamctl.conf'), 'utf8')).toContain('schedule=none\n');
  });

  it('runs the installed programs with an empty environment against the installed database', () => {
    const add = spawnSync(join(app, 'bin', 'streamctl'), ['user', 'add', 'alice', '--json'], { env: {}, encoding: 'utf8', cwd: '/' });
    expect(add.status).toBe(0);
    const key = JSON.parse(add.stdout).key as string;
    const push = spawnSync(join(app, 'bin', 'push-rewrite'), ['PUSH_REWRITE'], {
      env: {},
      input: `u\n127.0.0.1\n${key}`,
      encoding: 'utf8',
      cwd: '/',
    });
    expect(push.stdout).toBe('streams+alice');
  });

  it('installs the VoD placeholder that mist apply configures, and doctor finds it', () => {
    const placeholder = join(prefix, 'var', 'lib', 'streamctl', 'placeholder.mkv');
    const get = spawnSync(join(prefix, 'bin', 'streamctl'), ['config', 'get', 'vod-placeholder'], { env: {}, encoding: 'utf8' });
    expect(get.stdout.trim()).toBe(placeholder);
    expect(readFileSync(placeholder).equals(readFileSync(join(ROOT, 'assets', 'placeholder.mkv')))).toBe(true);
    // Matroska (EBML magic), small: MistServer opens it with its MKV input (proven on the real server).
    expect(readFileSync(placeholder).subarray(0, 4).toString('hex')).toBe('1a45dfa3');
    // MistServer is not running here: doctor fails that check, but the placeholder one is ok.
    const doctor = spawnSync(join(prefix, 'bin', 'streamctl'), ['doctor', '--json', '--api', 'http://127.0.0.1:9'], {
      env: {},
      encoding: 'utf8',
    });
    checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; message: string }[] }).checks;
    expect(checks.find((c) => c.check === 'vod placeholder')?.status).toBe('ok');
  });

  it('doctor without MistServer says how many checks it skipped instead of dropping them', () => {
    expect(checks.filter((c) => /^trigger [A-Z_]+$/.test(c.check))).toEqual([]);
    const skipped = checks.find((c) => c.check === 'mistserver config')!;
    expect(skipped.status).toBe('warn');
    // One per trigger mist apply installs (all but RTMP_PUSH_REWRITE), plus streams, recording push, jwks, stream keys, DTSC.
    const installed = Object.keys(TRIGGERS).length - 1;
    expect(skipped.message).toBe(
      `${installed + 5} check(s) skipped because MistServer could not be asked: ${installed} trigger entries, streams, recording push, jwks, stream keys, DTSC`,
    );
  });

  it("is idempotent and keeps the data when run again, and an operator's own placeholder file", () => {
    const placeholder = join(prefix, 'var', 'lib', 'streamctl', 'placeholder.mkv');
    writeFileSync(placeholder, 'my own clip');
    const r = install();
    expect(r.status).toBe(0);
    const list = spawnSync(join(prefix, 'bin', 'streamctl'), ['user', 'list', '--json'], { env: {}, encoding: 'utf8' });
    expect(JSON.parse(list.stdout).map((u: { name: string }) => u.name)).toEqual(['alice']);
    expect(readFileSync(placeholder, 'utf8')).toBe('my own clip');
  });
});
