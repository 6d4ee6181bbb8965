// install.sh's scheduled jobs (systemd timers or a cron file), man page and completions, and
// `install.sh --uninstall` removing them: into a temp PREFIX, with SYSTEMD_DIR / CRON_DIR pointing
// at temp folders so nothing on this host changes. And what the jobs do when the timer runs them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliAsync, startFakeMist } from '../support/fake-mist';
import { baseEnv, freshDb, ROOT, tempDir } from '../support/helpers';
import { cli } from '../support/cli';
import { recordTokenSession } from '../../src/edge/token-expiry';

const JOBS = ['reconcile', 'sessions-expire', 'recordings-prune', 'events-prune'];

function install(prefix: string, env: Record<string, string>, args: string[] = []) {
  return spawnSync('bash', [join(ROOT, 'install.sh'), ...args], {
    env: baseEnv({ PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '', ...env }),
    encoding: 'utf8',
  });
}

/** The cron file install.sh wrote, as docs/operations.md shows it (paths and user substituted back). */
function expectCronAsDocumented(prefix: string, cron: string): void {
  const written = readFileSync(join(cron, 'streamctl'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) =>
      l
        .replaceAll(`${prefix}/var/lib/streamctl`, '/var/lib/streamctl')
        .replaceAll(prefix, '/usr/local')
        .replace(/^((?:\S+\s+){5})\S+/, '$1mistserver'),
    );
  const docs = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const block = docs.slice(docs.indexOf('<!-- cron.d example -->')).split('```')[1]!;
  expect(block.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(written);
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('install.sh with systemd timers', async () => {
  const dir = tempDir();
  const prefix = join(dir, 'prefix');
  const units = join(dir, 'systemd');

  it("writes a service and a timer per job, and the webhook sender's service, running the installed streamctl as the job user", async () => {
    const r = install(prefix, { SYSTEMD_DIR: units });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(units).sort()).toEqual(
      [...JOBS.flatMap((j) => [`streamctl-${j}.service`, `streamctl-${j}.timer`]), 'streamctl-webhooks.service'].sort(),
    );
    const sender = readFileSync(join(units, 'streamctl-webhooks.service'), 'utf8');
    expect(sender).toContain(`ExecStart=${join(prefix, 'bin', 'streamctl')} webhook deliver\n`);
    expect(sender).toMatch(/^Restart=always$/m);
    expect(r.stdout).toContain('streamctl-webhooks.service');
    const service = readFileSync(join(units, 'streamctl-events-prune.service'), 'utf8');
    expect(service).toContain(`ExecStart=${join(prefix, 'bin', 'streamctl')} events prune --older-than 90d\n`);
    expect(service).toMatch(/^User=\S+$/m);
    expect(readFileSync(join(units, 'streamctl-reconcile.service'), 'utf8')).toContain(' status --reconcile\n');
    expect(readFileSync(join(units, 'streamctl-reconcile.timer'), 'utf8')).toContain('OnCalendar=minutely\n');
    expect(readFileSync(join(units, 'streamctl-recordings-prune.timer'), 'utf8')).toContain('WantedBy=timers.target\n');
    // An expired token plays on until this job runs: every 15 s, to the second.
    expect(readFileSync(join(units, 'streamctl-sessions-expire.service'), 'utf8')).toContain(' sessions expire\n');
    expect(readFileSync(join(units, 'streamctl-sessions-expire.timer'), 'utf8')).toMatch(/OnCalendar=\*:\*:0\/15\nAccuracySec=1s\n/);
    expect(r.stdout).toContain('systemctl enable --now'); // given SYSTEMD_DIR: written, not enabled
  });

  it.runIf(hasSystemdAnalyze)('writes units systemd-analyze verify accepts', async () => {
    const files = readdirSync(units).map((f) => join(units, f));
    // --man=no: the man page is in the temp PREFIX, not on man's path.
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', cwd: units });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the ExecStart command works: the installed streamctl runs the job', async () => {
    const line = readFileSync(join(units, 'streamctl-events-prune.service'), 'utf8')
      .match(/^ExecStart=(.*)$/m)![1]!
      .split(' ');
    const r = spawnSync(line[0]!, line.slice(1), { env: {}, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^deleted 0 event\(s\)/);
  });

  it('installs the man page and the completions, what the installed program prints', async () => {
    expect(readFileSync(join(prefix, 'share', 'man', 'man1', 'streamctl.1'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'docs', 'reference', 'streamctl.1'), 'utf8'),
    );
    expect(readFileSync(join(prefix, 'share', 'bash-completion', 'completions', 'streamctl'), 'utf8')).toContain(
      'complete -o default -F _streamctl_complete streamctl',
    );
    // install.sh copies them from dist/ (the build printed them): the same text the installed CLI prints.
    const installed = {
      bash: join(prefix, 'share', 'bash-completion', 'completions', 'streamctl'),
      zsh: join(prefix, 'share', 'zsh', 'site-functions', '_streamctl'),
      fish: join(prefix, 'share', 'fish', 'vendor_completions.d', 'streamctl.fish'),
    };
    for (const [shell, file] of Object.entries(installed)) {
      const printed = spawnSync(join(prefix, 'bin', 'streamctl'), ['completion', shell], { env: {}, encoding: 'utf8' });
      expect(printed.status, printed.stderr).toBe(0);
      expect(readFileSync(file, 'utf8'), shell).toBe(printed.stdout);
    }
  });

  it('switching to cron removes the timers and writes the cron file docs/operations.md shows; --uninstall removes it and everything installed, and keeps the data', async () => {
    const cron = join(dir, 'cron.d');
    expect(install(prefix, { CRON_DIR: cron }).status).toBe(0);
    expect(readdirSync(units)).toEqual([]);
    expectCronAsDocumented(prefix, cron);

    const r = install(prefix, {}, ['--uninstall']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(cron, 'streamctl'))).toBe(false);
    expect(existsSync(join(prefix, 'lib', 'streamctl'))).toBe(false);
    expect(existsSync(join(prefix, 'bin', 'streamctl'))).toBe(false);
    expect(existsSync(join(prefix, 'share', 'man'))).toBe(false);
    expect(existsSync(join(prefix, 'share', 'bash-completion'))).toBe(false);
    expect(existsSync(join(prefix, 'var', 'lib', 'streamctl', 'streamctl.db'))).toBe(true);
  });

  // Installed again with METRICS_FILE (the units of the first test are the variant without it).
  it('METRICS_FILE adds a minutely metrics job writing that file; --uninstall of the systemd variant removes every unit, the metrics one too', async () => {
    const metrics = join(dir, 'textfile', 'streamctl.prom');
    expect(install(prefix, { SYSTEMD_DIR: units, METRICS_FILE: metrics }).status).toBe(0);
    expect(readdirSync(units)).toHaveLength(11);
    const service = readFileSync(join(units, 'streamctl-metrics.service'), 'utf8');
    expect(service).toContain(`ExecStart=${join(prefix, 'bin', 'streamctl')} metrics -o ${metrics}\n`);
    expect(readFileSync(join(units, 'streamctl-metrics.timer'), 'utf8')).toContain('OnCalendar=minutely\n');
    if (hasSystemdAnalyze) {
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...readdirSync(units).map((f) => join(units, f))], {
        encoding: 'utf8',
        cwd: units,
      });
      expect(r.stderr).toBe('');
    }
    expect(install(prefix, {}, ['--uninstall']).status).toBe(0); // without METRICS_FILE now
    expect(readdirSync(units)).toEqual([]);
  });
});

describe('the reconcile job', async () => {
  it('asks the MistServer of the mist-api setting when given no --api, as the timer runs it', async () => {
    const db = freshDb();
    const mist = await startFakeMist();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const r = await cliAsync(db, ['status', '--reconcile']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(mist.calls('active_streams')).toEqual([{ active_streams: true }]);
  });
});

describe('the sessions-expire job on an edge', async () => {
  it("re-checks on the edge's own MistServer only the streams whose recorded token expired, and deletes those records", async () => {
    const db = freshDb();
    const mist = await startFakeMist();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const dir = join(tempDir(), 'sessions');
    const now = Date.now();
    const id = (n: number) => n.toString(16).padStart(64, 'c');
    recordTokenSession(dir, { sessionId: id(1), stream: 'streams+paid', expiresAt: now - 1000 });
    recordTokenSession(dir, { sessionId: id(2), stream: 'streams+paid', expiresAt: now - 500 });
    recordTokenSession(dir, { sessionId: id(3), stream: 'streams+other', expiresAt: now + 600_000 });
    const env = { STREAMCTL_ROLE: 'edge', STREAMCTL_SESSIONS_DIR: dir };
    const r = await cliAsync(db, ['sessions', 'expire', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ expired_sessions: 2, streams: ['streams+paid'], applied: true, revocations_pruned: 0 });
    expect(mist.calls('invalidate_sessions')).toEqual([{ invalidate_sessions: 'streams+paid' }]);
    expect(readdirSync(dir)).toEqual([id(3)]);
    // Nothing expired: nothing asked, nothing printed.
    const quiet = await cliAsync(db, ['sessions', 'expire'], env);
    expect({ out: quiet.stdout, err: quiet.stderr, status: quiet.status }).toEqual({ out: '', err: '', status: 0 });
    expect(mist.calls('invalidate_sessions')).toHaveLength(1);
  });

  it('an unreachable MistServer keeps the records for the next run, says so on stderr and in --json', async () => {
    const db = freshDb();
    expect((await cli(db, ['config', 'set', 'mist-api', 'http://127.0.0.1:1'])).status).toBe(0);
    const dir = join(tempDir(), 'sessions');
    recordTokenSession(dir, { sessionId: 'd'.repeat(64), stream: 'streams+paid', expiresAt: Date.now() - 1000 });
    const r = await cliAsync(db, ['sessions', 'expire', '--json'], { STREAMCTL_ROLE: 'edge', STREAMCTL_SESSIONS_DIR: dir });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ expired_sessions: 1, applied: false });
    expect(r.stderr).toMatch(/^streamctl: MistServer at http:\/\/127\.0\.0\.1:1\/?\S* did not take the re-check .*tried again next run\n$/);
    expect(readdirSync(dir)).toEqual(['d'.repeat(64)]);
  });
});
