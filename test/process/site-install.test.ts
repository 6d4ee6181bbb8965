// install.sh for a site's backend: SITE_USER joins a group with MistServer's user and both write
// the database; a fresh install can issue a playback token at once. Needs root (it creates
// throwaway system users and a group, removed afterwards), so it is skipped otherwise.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnv, ROOT, tempDir } from '../support/helpers';
import { cli } from '../support/cli';

const isRoot = process.getuid?.() === 0;
const hasUserTools =
  spawnSync('sh', ['-c', 'command -v useradd && command -v groupadd && command -v runuser'], { encoding: 'utf8' }).status === 0;

function sh(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8' });
}

describe.skipIf(!isRoot || !hasUserTools)(
  'install.sh with SITE_USER (needs root and useradd/runuser: creates throwaway system users)',
  () => {
    const tag = randomBytes(3).toString('hex');
    const mistUser = `sctm${tag}`;
    const siteUser = `sctw${tag}`;
    const group = `sctg${tag}`;
    for (const u of [mistUser, siteUser]) {
      const r = sh('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', u]);
      if (r.status !== 0) throw new Error(`useradd ${u}: ${r.stderr}`);
    }
    afterAll(() => {
      for (const u of [mistUser, siteUser]) sh('userdel', [u]);
      sh('groupdel', [group]);
    });

    // The throwaway users must reach the installed programs: the temp folder is 0700 root.
    const top = tempDir();
    chmodSync(top, 0o755);
    const prefix = join(top, 'prefix');
    const state = join(prefix, 'var', 'lib', 'streamctl');
    const db = join(state, 'streamctl.db');
    const streamctl = join(prefix, 'bin', 'streamctl');
    const install = (env: Record<string, string>) =>
      spawnSync('bash', [join(ROOT, 'install.sh')], {
        env: baseEnv({ PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: mistUser, ...env }),
        encoding: 'utf8',
      });
    // As the user itself, with its groups (runuser calls initgroups), and an empty environment as cron would give.
    const as = (user: string, args: string[]) =>
      spawnSync('runuser', ['-u', user, '--', 'env', '-i', streamctl, ...args], { encoding: 'utf8', cwd: '/' });
    const gid = () => Number(sh('getent', ['group', group]).stdout.split(':')[2]);
    /**
     * doctor's checks, in process on the installed database and config (the installed doctor as a
     * process, its program runs as MistServer's user included: install.test.ts, doctor-as-user.test.ts).
     */
    const doctorChecks = async () => {
      const r = await cli(db, ['doctor', '--json', '--api', 'http://127.0.0.1:9'], {
        env: { STREAMCTL_CONF: join(prefix, 'lib', 'streamctl', 'streamctl.conf') },
      });
      return (JSON.parse(r.stdout) as { checks: { check: string; status: string; message: string; fix: string }[] }).checks;
    };

    /** The first install's result: the one that made the token secret. */
    let first: SpawnSyncReturns<string> | undefined;

    it('creates the group with both users and makes the database, its folder and the recordings group-writable', () => {
      const r = (first = install({ SITE_USER: siteUser, STREAMCTL_GROUP: group }));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`writable by group ${group}: MistServer's user ${mistUser} and the site's user ${siteUser}`);
      const members = sh('getent', ['group', group]).stdout.trim().split(':')[3]!.split(',');
      expect(members.sort()).toEqual([mistUser, siteUser].sort());
      for (const dir of [state, join(state, 'recordings')]) {
        expect((statSync(dir).mode & 0o7777).toString(8)).toBe('2770');
        expect(statSync(dir).gid).toBe(gid());
      }
      expect((statSync(db).mode & 0o777).toString(8)).toBe('660');
      expect(statSync(db).gid).toBe(gid());
      const conf = readFileSync(join(prefix, 'lib', 'streamctl', 'streamctl.conf'), 'utf8');
      expect(conf).toContain(`site_user=${siteUser}\n`);
      expect(conf).toContain(`db_group=${group}\n`);
    });

    it('issues a playback token right after install (the secret is made at install, never printed)', () => {
      const r = first!;
      expect(r.stdout).toContain('token secret');
      const secret = as(siteUser, ['token', 'secret', '--show']).stdout.trim();
      expect(secret.length).toBeGreaterThan(20);
      expect(r.stdout).not.toContain(secret);
      expect(as(siteUser, ['user', 'add', 'alice']).status).toBe(0);
      const token = as(siteUser, ['token', 'issue', 'alice', '--viewer', 'v1', '--json']);
      expect(token.stderr).toBe('');
      expect(JSON.parse(token.stdout).token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it("lets the site's user and MistServer's user both write while the other holds the WAL open", () => {
      // A long-lived connection (as a trigger or the site would hold) creates -wal/-shm...
      const held = new Database(db);
      held.pragma('journal_mode = WAL');
      held.prepare('SELECT count(*) FROM users').get();
      try {
        // ...which SQLite creates with the database's mode, in the folder's group (setgid).
        for (const f of [`${db}-wal`, `${db}-shm`]) {
          expect((statSync(f).mode & 0o777).toString(8)).toBe('660');
          expect(statSync(f).gid).toBe(gid());
        }
        const sync = spawnSync('runuser', ['-u', siteUser, '--', 'env', '-i', streamctl, 'sync', '--json'], {
          encoding: 'utf8',
          cwd: '/',
          input: JSON.stringify({
            users: [{ name: 'alice' }, { name: 'bob', external_id: '7' }],
            channels: [{ user: 'bob', access: 'paid', grants: [{ viewer: 'v9' }] }],
          }),
        });
        // (MistServer is not configured here: the live effect is reported as not applied.)
        expect(sync.stderr).not.toMatch(/database|readonly|permission/i);
        expect(sync.status).toBe(0);
        expect(JSON.parse(sync.stdout).summary.users_created).toBe(1);
        const mist = as(mistUser, ['grant', 'add', 'bob', 'v10']);
        expect(mist.stderr).toBe('');
        expect(mist.status).toBe(0);
      } finally {
        held.close();
      }
    });

    it('doctor checks the site user can write, and fails when it cannot', async () => {
      const doctor = async () => (await doctorChecks()).find((c) => c.check === 'site access');
      expect(await doctor()).toMatchObject({ status: 'ok' });
      chmodSync(db, 0o600);
      try {
        expect(await doctor()).toMatchObject({ status: 'fail', message: expect.stringContaining(`${siteUser} cannot write ${db}`) });
      } finally {
        chmodSync(db, 0o660);
      }
    });

    it('doctor names a MistController started before its user joined the group (restart it)', async () => {
      // A stand-in MistController as MistServer's user with only its old groups, as before install.
      const fake = join(top, 'MistController');
      copyFileSync('/bin/sleep', fake);
      chmodSync(fake, 0o755);
      const ids = sh('id', ['-u', mistUser]).stdout.trim();
      const primary = sh('id', ['-g', mistUser]).stdout.trim();
      const child = spawn('setpriv', [`--reuid=${ids}`, `--regid=${primary}`, '--clear-groups', fake, '30'], { stdio: 'ignore' });
      try {
        // Until setpriv has become the stand-in (exec'd, its uid dropped).
        for (let i = 0; i < 500 && !sh('ps', ['-o', 'user=', '-C', 'MistController']).stdout.includes(mistUser); i++)
          await new Promise((r) => setTimeout(r, 10));
        const stale = (await doctorChecks()).find((c) => c.message.includes('runs without the group'));
        expect(stale).toMatchObject({ check: 'database writable', status: 'fail', fix: 'restart MistServer' });
        expect(stale!.message).toContain(`without the group ${group}`);

        // MIST_USER unset: install.sh takes a running MistController's user; set but empty: none at all,
        // whatever runs on the host (a scripted install, or another test's install right now).
        const mistUserAfter = (name: string, mist: Record<string, string>) => {
          const env = baseEnv({ PREFIX: join(top, name), SKIP_BUILD: '1', ...mist });
          const r = spawnSync('bash', [join(ROOT, 'install.sh')], { env, encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
          return /^mist_user=(.*)$/m.exec(readFileSync(join(top, name, 'lib', 'streamctl', 'streamctl.conf'), 'utf8'))?.[1];
        };
        const running = sh('ps', ['-o', 'user=', '-C', 'MistController'])
          .stdout.split('\n')
          .map((u) => u.trim());
        expect(running).toContain(mistUser);
        expect(running).toContain(mistUserAfter('detected', {}));
        expect(mistUserAfter('none', { MIST_USER: '' })).toBeUndefined();
      } finally {
        child.kill();
      }
    });

    it('a database the CLI creates later (after a restore, say) is group-writable, in the group', () => {
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
      expect(spawnSync(streamctl, ['db', 'migrate'], { env: {}, encoding: 'utf8' }).status).toBe(0);
      expect((statSync(db).mode & 0o777).toString(8)).toBe('660');
      expect(statSync(db).gid).toBe(gid());
      expect(as(siteUser, ['user', 'add', 'carol']).status).toBe(0);
    });

    it("without SITE_USER nothing changes: no group of ours, no site_user, MistServer's own group as before", () => {
      const other = join(top, 'plain');
      const r = spawnSync('bash', [join(ROOT, 'install.sh')], {
        env: baseEnv({ PREFIX: other, SKIP_BUILD: '1', MIST_USER: mistUser }),
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      const conf = readFileSync(join(other, 'lib', 'streamctl', 'streamctl.conf'), 'utf8');
      expect(conf).not.toContain('site_user=');
      const otherDb = join(other, 'var', 'lib', 'streamctl', 'streamctl.db');
      expect(statSync(otherDb).gid).toBe(Number(sh('id', ['-g', mistUser]).stdout.trim()));
      expect((statSync(otherDb).mode & 0o777).toString(8)).toBe('660');
      // The token secret is made here too.
      expect(spawnSync(join(other, 'bin', 'streamctl'), ['token', 'secret', '--show'], { env: {}, encoding: 'utf8' }).status).toBe(0);
    });
  },
);
