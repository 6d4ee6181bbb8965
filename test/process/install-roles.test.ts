// install.sh ROLE=single|origin|edge (docs/deployment.md): the role and its Redis wiring in
// streamctl.conf, the rendered Redis config (proven by starting a real redis-server from it), the
// relay's systemd unit on the origin, and a re-install changing roles cleanly. Into a temp PREFIX,
// with SYSTEMD_DIR and REDIS_CONF_DIR pointing at temp folders so nothing on this host changes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/lib/resp';
import { baseEnv, ROOT, tempDir } from '../support/helpers';
import { REDIS_SERVER, redisAnswers } from '../support/redis';

function install(prefix: string, env: Record<string, string>, args: string[] = []) {
  return spawnSync('bash', [join(ROOT, 'install.sh'), ...args], {
    env: baseEnv({ PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '', ...env }),
    encoding: 'utf8',
  });
}

/** streamctl.conf as key → value. */
function conf(prefix: string): Record<string, string> {
  const text = readFileSync(join(prefix, 'lib', 'streamctl', 'streamctl.conf'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[a-z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

const streamctl = (prefix: string, args: string[]) => spawnSync(join(prefix, 'bin', 'streamctl'), args, { env: {}, encoding: 'utf8' });

describe('install.sh refuses a role it cannot set up, before installing anything', () => {
  const prefix = join(tempDir(), 'prefix');
  it.each([
    [{ ROLE: 'edge' }, 'ROLE=edge needs ORIGIN=<origin host>'],
    [{ ROLE: 'relay' }, 'ROLE must be single, origin or edge (got relay)'],
    [{ ROLE: 'origin', ORIGIN: 'x' }, 'ORIGIN is for ROLE=edge (this is ROLE=origin)'],
    [{ ROLE: 'edge', ORIGIN: 'a;reboot' }, 'invalid ORIGIN a;reboot'],
    [{ ROLE: 'edge', ORIGIN: 'o', REDIS_REPLICA: 'localhost:6379' }, 'REDIS_REPLICA must be a unix socket path'],
    [{ ROLE: 'origin', RECORDINGS_ROOT: '/srv/recordings' }, 'RECORDINGS_ROOT is for ROLE=edge (this is ROLE=origin'],
    [{ ROLE: 'edge', ORIGIN: 'o', RECORDINGS_ROOT: 'mnt/recordings' }, 'RECORDINGS_ROOT must be an absolute folder'],
  ])('%o', (env, message) => {
    const r = install(prefix, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(prefix, 'lib', 'streamctl'))).toBe(false);
  });
});

describe('install.sh ROLE=origin, then edge, then single', () => {
  const dir = tempDir();
  const prefix = join(dir, 'prefix');
  const units = join(dir, 'systemd');
  const redisDir = join(dir, 'redis');
  const redisConf = join(redisDir, 'redis.conf');
  const env = { SYSTEMD_DIR: units, REDIS_CONF_DIR: redisDir };
  const state = join(prefix, 'var', 'lib', 'streamctl');

  it('origin: role and primary in streamctl.conf, the primary config included once, the relay unit', () => {
    spawnSync('mkdir', ['-p', redisDir]);
    writeFileSync(redisConf, 'port 6379\n');
    const r = install(prefix, { ...env, ROLE: 'origin', REDIS_BIND: '127.0.0.1 10.0.0.1' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(conf(prefix)).toMatchObject({
      role: 'origin',
      redis_primary: '/run/redis/redis-server.sock',
      redis_conf: join(redisDir, 'streamctl-primary.conf'),
    });
    expect(conf(prefix).origin).toBeUndefined();
    expect(conf(prefix).redis_replica).toBeUndefined();
    const primary = readFileSync(join(redisDir, 'streamctl-primary.conf'), 'utf8');
    expect(primary).toContain('\nbind 127.0.0.1 10.0.0.1\n');
    expect(primary).toContain('\nunixsocket /run/redis/redis-server.sock\n');
    // Pings faster than the replicas' repl-timeout 5, or an idle link is declared dead every 10 s.
    expect(primary).toContain('\nrepl-ping-replica-period 1\n');
    expect(primary).not.toMatch(/@[A-Z]+@/);
    expect(statSync(join(redisDir, 'streamctl-primary.conf')).mode & 0o777).toBe(0o640);
    // A password made once (edges get a copy): Redis refuses other hosts without one.
    const pwFile = join(state, 'redis-password');
    expect(conf(prefix).redis_password_file).toBe(pwFile);
    const pw = readFileSync(pwFile, 'utf8');
    expect(pw).toMatch(/^[A-Za-z0-9]{30,}$/);
    expect(statSync(pwFile).mode & 0o777).toBe(0o640);
    expect(primary).toContain(`\nrequirepass ${pw}\n`);
    expect(r.stdout).toContain(`copy it to every edge`);
    // The relay: long-running, restarted, the installed streamctl.
    const relay = readFileSync(join(units, 'streamctl-relay.service'), 'utf8');
    expect(relay).toContain(`ExecStart=${join(prefix, 'bin', 'streamctl')} edge relay\n`);
    expect(relay).toContain('Restart=always\n');
    expect(r.stdout).toContain('streamctl-relay.service');
    // The origin's triggers write the webhook events: its sender runs there.
    expect(existsSync(join(units, 'streamctl-webhooks.service'))).toBe(true);
    if (hasSystemdAnalyze) {
      // --man=no: the man page is in the temp PREFIX, not on man's path.
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', join(units, 'streamctl-relay.service')], {
        encoding: 'utf8',
        cwd: units,
      });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    }
    // The origin signs nothing itself but keeps the token secret the site signs with.
    expect(streamctl(prefix, ['token', 'secret', '--show']).status).toBe(0);
    // Re-running adds no second include line and keeps the password.
    expect(install(prefix, { ...env, ROLE: 'origin' }).status).toBe(0);
    expect(readFileSync(pwFile, 'utf8')).toBe(pw);
    expect(
      readFileSync(redisConf, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('include ')).length,
    ).toBe(1);
    expect(readFileSync(redisConf, 'utf8')).toContain(`include ${join(redisDir, 'streamctl-primary.conf')}\n`);
  });

  it('edge: origin, replica and primary in streamctl.conf, the replica config instead of the primary one, no relay', () => {
    // The origin's recordings folder as mounted on this edge (shared storage).
    const shared = join(dir, 'mnt-recordings');
    mkdirSync(shared);
    const r = install(prefix, {
      ...env,
      ROLE: 'edge',
      ORIGIN: '10.0.0.1:4300',
      REDIS_PASSWORD_FILE: join(state, 'redis-password'),
      RECORDINGS_ROOT: shared,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(conf(prefix)).toMatchObject({
      role: 'edge',
      origin: '10.0.0.1:4300',
      redis_replica: '/run/redis/redis-server.sock',
      redis_primary: '10.0.0.1:6379',
      recordings_root: shared,
    });
    expect(existsSync(join(redisDir, 'streamctl-primary.conf'))).toBe(false);
    const replica = readFileSync(join(redisDir, 'streamctl-replica.conf'), 'utf8');
    // Redis's port for replication, not the DTSC port.
    expect(replica).toContain('\nreplicaof 10.0.0.1 6379\n');
    expect(replica).toContain('\nreplica-serve-stale-data no\n');
    expect(replica).toContain('\nrepl-timeout 5\n');
    expect(replica).toContain(`\nmasterauth ${readFileSync(join(state, 'redis-password'), 'utf8')}\n`);
    expect(readFileSync(redisConf, 'utf8')).toBe(
      `port 6379\n# streamctl (install.sh): its role's settings, last so they win\ninclude ${join(redisDir, 'streamctl-replica.conf')}\n`,
    );
    expect(existsSync(join(units, 'streamctl-relay.service'))).toBe(false);
    // Its sessions-expire timer ends the sessions whose token expired on this edge (its own records).
    expect(readFileSync(join(units, 'streamctl-sessions-expire.service'), 'utf8')).toContain(' sessions expire\n');
    expect(readFileSync(join(units, 'streamctl-sessions-expire.timer'), 'utf8')).toContain('OnCalendar=*:*:0/15\n');
    // The edge writes no webhook events (the origin's triggers do): no sender here.
    expect(existsSync(join(units, 'streamctl-webhooks.service'))).toBe(false);
    // Its own long-running program instead: the tag watcher.
    const watch = readFileSync(join(units, 'streamctl-tag-watch.service'), 'utf8');
    expect(watch).toContain(`ExecStart=${join(prefix, 'bin', 'streamctl')} edge watch\n`);
    expect(watch).toContain('Restart=always\n');
    expect(r.stdout).toContain('streamctl-tag-watch.service');
    if (hasSystemdAnalyze) {
      const verify = spawnSync('systemd-analyze', ['verify', '--man=no', join(units, 'streamctl-tag-watch.service')], {
        encoding: 'utf8',
        cwd: units,
      });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
    }
    // doctor on the edge: the role's checks (no replica runs here), no trigger-database check.
    const doctor = streamctl(prefix, ['doctor', '--json', '--api', 'http://127.0.0.1:9']);
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; message: string }[] }).checks;
    expect(checks.find((c) => c.check === 'redis replica')).toMatchObject({ status: 'fail' });
    expect(checks.find((c) => c.check === 'redis primary')).toMatchObject({ status: 'fail' });
    expect(checks.some((c) => c.check === 'trigger database')).toBe(false);
    // The edge's recordings root is the shared folder it reads (it records nothing itself).
    expect(checks.find((c) => c.check === 'recordings root')).toMatchObject({
      status: 'ok',
      message: expect.stringContaining(`${shared} (the origin's recordings, shared storage)`),
    });
    expect(checks.find((c) => c.check === 'vod placeholder')).toMatchObject({ status: 'ok' });
    // Where its USER_NEW records token sessions' expiry: beside the database, writable.
    expect(checks.find((c) => c.check === 'sessions folder')).toMatchObject({
      status: 'ok',
      message: expect.stringContaining(join(prefix, 'var', 'lib', 'streamctl', 'sessions')),
    });
  });

  it('single: the role keys, the Redis config and its include line, and the relay are gone', () => {
    const r = install(prefix, env);
    expect(r.status).toBe(0);
    const c = conf(prefix);
    expect(c.role).toBe('single');
    for (const key of ['origin', 'redis_replica', 'redis_primary', 'redis_conf', 'redis_password_file', 'recordings_root'])
      expect(c[key], key).toBeUndefined();
    expect(readdirSync(redisDir)).toEqual(['redis.conf']);
    expect(readFileSync(redisConf, 'utf8')).toBe('port 6379\n');
    expect(existsSync(join(units, 'streamctl-relay.service'))).toBe(false);
    expect(existsSync(join(units, 'streamctl-tag-watch.service'))).toBe(false);
  });

  // An edge again, now without a Redis password or RECORDINGS_ROOT (single removed the ones set before).
  it("edge without a Redis password: says the origin's Redis refuses it unless protected mode is off; uninstall removes its Redis config and include line", () => {
    const r = install(prefix, { ...env, ROLE: 'edge', ORIGIN: 'origin.example' });
    expect(r.status).toBe(0);
    expect(conf(prefix).redis_primary).toBe('origin.example:6379');
    // Redis 7's protected mode answers other hosts only when a password is set.
    expect(r.stdout).toContain(
      "NOTE: no REDIS_PASSWORD_FILE: the origin's Redis refuses this edge unless it has no password and protected mode off",
    );
    expect(conf(prefix).redis_password_file).toBeUndefined();
    // No shared recordings folder named: said, and every recording plays the placeholder there.
    expect(r.stdout).toContain('NOTE: no RECORDINGS_ROOT: this edge plays the placeholder for every recording');
    expect(conf(prefix).recordings_root).toBeUndefined();
    expect(install(prefix, env, ['--uninstall']).status).toBe(0);
    expect(readdirSync(redisDir)).toEqual(['redis.conf']);
    expect(readFileSync(redisConf, 'utf8')).toBe('port 6379\n');
  });
});

describe.skipIf(!REDIS_SERVER)('the rendered replica config', () => {
  const dir = tempDir();
  const prefix = join(dir, 'prefix');
  const socket = join(dir, 'replica.sock');
  const pwFile = join(dir, 'redis.pw');
  let proc: ReturnType<typeof spawn> | undefined;
  afterAll(() => void proc?.kill('SIGKILL'));

  it('starts a real redis-server that is a stale-refusing replica with a 5 s timeout and the password', async () => {
    writeFileSync(pwFile, 'pw-with-&-and-/\n', { mode: 0o600 });
    const r = install(prefix, { ROLE: 'edge', ORIGIN: '127.0.0.1', REDIS_REPLICA: socket, REDIS_PASSWORD_FILE: pwFile, SCHEDULE: 'none' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const file = conf(prefix).redis_conf!;
    expect(file).toBe(join(prefix, 'lib', 'streamctl', 'etc', 'redis', 'streamctl-replica.conf'));
    expect(conf(prefix).redis_password_file).toBe(pwFile);
    expect(readFileSync(file, 'utf8')).toContain('\nmasterauth pw-with-&-and-/\nrequirepass pw-with-&-and-/\n');
    proc = spawn(REDIS_SERVER!, [file, '--dir', dir, '--save', ''], { stdio: 'ignore' });
    // Until it answers, not until its socket file appears: that is a moment before it listens.
    for (let i = 0; i < 200 && !(existsSync(socket) && (await redisAnswers(socket))); i++) await new Promise((res) => setTimeout(res, 25));
    const c = await connectRedis(socket, { password: 'pw-with-&-and-/' });
    try {
      const [stale, timeout, port, info] = await c.pipeline([
        ['CONFIG', 'GET', 'replica-serve-stale-data'],
        ['CONFIG', 'GET', 'repl-timeout'],
        ['CONFIG', 'GET', 'port'],
        ['INFO', 'replication'],
      ]);
      expect(stale).toEqual(['replica-serve-stale-data', 'no']);
      expect(timeout).toEqual(['repl-timeout', '5']);
      expect(port).toEqual(['port', '0']);
      expect(String(info)).toContain('role:slave');
      // Not linked (nothing at 127.0.0.1:6379 answers as this primary): reads are refused, not stale.
      await expect(c.call('GET', 'sc:settings')).rejects.toThrow(/MASTERDOWN/);
    } finally {
      c.close();
    }
  });
});

// With REDIS_REPLICA=<socket> on the origin, Redis listens on that socket, so the relay's
// primary (redis_primary=) must be that socket too, not the default path.
describe.skipIf(!REDIS_SERVER)('the rendered primary config', () => {
  const dir = tempDir();
  const prefix = join(dir, 'prefix');
  const socket = join(dir, 'primary.sock');
  const pwFile = join(dir, 'redis.pw');
  let proc: ReturnType<typeof spawn> | undefined;
  afterAll(() => void proc?.kill('SIGKILL'));

  it('starts a real redis-server on REDIS_REPLICA, and `edge resync` reaches it through redis_primary=', async () => {
    writeFileSync(pwFile, 'primary-pw\n', { mode: 0o600 });
    const r = install(prefix, { ROLE: 'origin', REDIS_REPLICA: socket, REDIS_PASSWORD_FILE: pwFile, SCHEDULE: 'none' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(conf(prefix).redis_primary).toBe(socket);
    const file = conf(prefix).redis_conf!;
    expect(readFileSync(file, 'utf8')).toContain(`\nunixsocket ${socket}\n`);
    // No TCP port: other redis-servers on this host may hold 6379.
    proc = spawn(REDIS_SERVER!, [file, '--dir', dir, '--save', '', '--port', '0'], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !(existsSync(socket) && (await redisAnswers(socket))); i++) await new Promise((res) => setTimeout(res, 25));
    const resync = streamctl(prefix, ['edge', 'resync', '--json']);
    expect(resync.stderr).toBe('');
    expect(resync.status).toBe(0);
    expect(JSON.parse(resync.stdout)).toMatchObject({ redis: socket, replication_turned_on: true });
  });
});
