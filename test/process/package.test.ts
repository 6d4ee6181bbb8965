// The standalone executable (`npm run package`), run the way MistServer and operators run it: under
// each trigger program's name (symlink), with the trigger name as argv[1], and as the CLI — on the
// same captured payloads as the node programs, with the same answers.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, PACKAGE_BIN, PACKAGE_DIR } from '../../scripts/package';
import { openForTrigger } from '../../src/store/open';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import { cliAsync, startFakeMist } from '../fake-mist';
import { baseEnv, FIXTURES, fixture, fixtureEnv, ROOT, tempDir, type RunResult } from '../helpers';
import { loadTrigger } from '../property/harness';
import { fromMistEnv, runnerAnswer } from '../support/trigger';

/** Newest modification time under a folder (sources, migrations). */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

beforeAll(async () => {
  const fresh = existsSync(PACKAGE_BIN) && statSync(PACKAGE_BIN).mtimeMs > Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'db')));
  if (!fresh) await buildPackage();
}, 300_000);

interface Call {
  /** Path of what is executed (the binary or one of its symlinks). */
  program: string;
  args: string[];
  payload?: string;
  db: string;
  env?: Record<string, string>;
}

function run(call: Call): RunResult {
  const r = spawnSync(call.program, call.args, {
    input: call.payload ?? '',
    env: baseEnv({ STREAMCTL_DB: call.db, MIST_TRIG_DEF: 'false', MIST_PID: '4242', MIST_CONTROL: '1', ...call.env }),
    encoding: 'utf8',
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const packaged = (name = 'streamctl') => join(PACKAGE_DIR, name);

/** A database made by the packaged CLI (migrations embedded), with user alice; returns alice's key. */
function packagedDb(): { db: string; key: string } {
  const db = join(tempDir(), 'streamctl.db');
  const migrate = run({ program: packaged(), args: ['db', 'migrate'], db });
  expect(migrate.status, migrate.stderr).toBe(0);
  const add = run({ program: packaged(), args: ['user', 'add', 'alice', '--json'], db });
  expect(add.status, add.stderr).toBe(0);
  return { db, key: (JSON.parse(add.stdout) as { key: string }).key };
}

const withKey = (payload: string, key: string) => payload.replaceAll('KEY_ALICE', key);

describe('the standalone executable', () => {
  it('has a symlink for mist-trigger and every registry trigger program', () => {
    for (const program of ['mist-trigger', ...Object.values(TRIGGERS).map((s) => s.program)]) {
      expect(lstatSync(packaged(program)).isSymbolicLink(), program).toBe(true);
      expect(readlinkSync(packaged(program))).toBe('streamctl');
    }
  });

  it('is the CLI: migrates, manages users and keys, prints JSON', () => {
    const { db, key } = packagedDb();
    expect(key).toMatch(/^stc_/);
    expect(statSync(db).mode & 0o777, 'the database holds the token secret: owner only').toBe(0o600);
    const rotated = run({ program: packaged(), args: ['key', 'rotate', 'alice', '--json'], db });
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).revoked_keys).toBe(1);
    const bad = run({ program: packaged(), args: ['user', 'show', 'nobody'], db });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  describe('PUSH_REWRITE on the captured payloads', () => {
    let db = '';
    let key = '';
    beforeAll(() => void ({ db, key } = packagedDb()));
    const ways = [
      ['under its program name', () => packaged('push-rewrite'), ['PUSH_REWRITE']],
      ['with the trigger name as argv[1]', () => packaged(), ['PUSH_REWRITE']],
      ['as mist-trigger', () => packaged('mist-trigger'), ['PUSH_REWRITE']],
    ] as const;

    it.each(ways)('accepts SRT (capture 18) and RTSP (capture 19) pushes %s', (_, program, args) => {
      for (const name of ['18-srt-push-key/PUSH_REWRITE-1', '19-rtsp-push-key/PUSH_REWRITE-1']) {
        const r = run({ program: program(), args: [...args], payload: withKey(fixture(name), key), db, env: fixtureEnv(name) });
        expect(r.stdout).toBe('streams+alice');
        expect(r.status).toBe(0);
      }
    });

    it.each([
      ['the internal name streams+alice sent as a key (capture 01)', '01-basic-push-alice/PUSH_REWRITE-1'],
      ['an empty name (capture 33)', '33-rewrite-trailing-slash-empty-name/PUSH_REWRITE-1'],
      ['a mixed-case internal name (capture 34)', '34-rewrite-mixed-case/PUSH_REWRITE-1'],
    ])('refuses %s with an empty answer', (_, name) => {
      const r = run({ program: packaged('push-rewrite'), args: ['PUSH_REWRITE'], payload: fixture(name), db });
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/refused push/);
    });

    it('runs the program it is named after, whatever argv[1] says', () => {
      const r = run({ program: packaged('push-rewrite'), args: ['SOMETHING_ELSE'], payload: `u\n10.0.0.1\n${key}`, db });
      expect(r.stdout).toBe('streams+alice');
    });

    it('never writes the key to stderr or the event log', () => {
      run({ program: packaged('push-rewrite'), args: ['PUSH_REWRITE'], payload: `x\n10.0.0.1\n${key}`, db });
      const events = run({ program: packaged(), args: ['events', '--json'], db });
      expect(events.stdout).toContain('accepted');
      expect(events.stdout).not.toContain(key);
    });
  });

  it('rewrites the RTMP URL (capture 01) and refuses the wrong key (capture 02)', () => {
    const { db, key } = packagedDb();
    const name = '01-basic-push-alice/RTMP_PUSH_REWRITE-1';
    const ok = run({ program: packaged('rtmp-push-rewrite'), args: ['RTMP_PUSH_REWRITE'], payload: withKey(fixture(name), key), db, env: fixtureEnv(name) });
    expect(ok.stdout).toBe('rtmp://127.0.0.1:1935/live/streams+alice');
    const wrong = run({ program: packaged('rtmp-push-rewrite'), args: ['RTMP_PUSH_REWRITE'], payload: fixture('02-push-wrong-key/RTMP_PUSH_REWRITE-1'), db });
    expect(wrong.stdout).toBe('');
  });

  it('answers every registry trigger\'s refusal, with one stderr line, when the database is missing', () => {
    for (const [name, spec] of Object.entries(TRIGGERS)) {
      const r = run({ program: packaged(spec.program), args: [name], payload: 'x', db: '/nonexistent/streamctl.db' });
      expect(r.stdout, name).toBe(spec.refusal);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
    }
  });

  it('refuses to load its addon from a cache folder others could write', () => {
    const { db, key } = packagedDb();
    const cache = tempDir();
    const id = createHash('sha256').update(readFileSync(join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).digest('hex').slice(0, 16);
    const dir = join(cache, `streamctl-${process.getuid?.() ?? 0}-${id}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = run({ program: packaged('push-rewrite'), args: ['PUSH_REWRITE'], payload: `u\n10.0.0.1\n${key}`, db, env: { STREAMCTL_CACHE_DIR: cache } });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not a private folder');
    chmodSync(dir, 0o700);
    const ok = run({ program: packaged('push-rewrite'), args: ['PUSH_REWRITE'], payload: `u\n10.0.0.1\n${key}`, db, env: { STREAMCTL_CACHE_DIR: cache } });
    expect(ok.stdout).toBe('streams+alice');
    expect(existsSync(join(dir, 'better_sqlite3.node'))).toBe(true);
  });

  it('points every MistServer trigger at itself on mist apply, and doctor finds it working', async () => {
    const { db } = packagedDb();
    const root = tempDir();
    run({ program: packaged(), args: ['config', 'set', 'recordings-root', root], db });
    const mist = await startFakeMist();
    const applied = await cliAsync(db, ['mist', 'apply', '--api', mist.url], {}, PACKAGE_BIN);
    expect(applied.status, applied.stderr).toBe(0);
    const handlers = Object.values(mist.state.triggers).flatMap((list) => (list as { handler: string }[]).map((e) => e.handler));
    expect(handlers.length).toBe(Object.keys(TRIGGERS).length - 1);
    expect(new Set(handlers)).toEqual(new Set([PACKAGE_BIN]));
    const conf = join(tempDir(), 'streamctl.conf');
    writeFileSync(conf, `db=${db}\n`);
    const doctor = await cliAsync(db, ['doctor', '--api', mist.url, '--json'], { STREAMCTL_CONF: conf }, PACKAGE_BIN);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.checks.find((c) => c.check === 'programs run')?.status).toBe('ok');
    expect(doctor.status).toBe(0);
  });

  it('refuses a database that does not exist (issue 10 item 11): names it, exits 1, creates nothing', () => {
    const typo = join(tempDir(), 'typo.db');
    const r = run({ program: packaged(), args: ['user', 'list'], db: typo });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`database ${typo} does not exist`);
    expect(existsSync(typo)).toBe(false);
  });

  it('answers empty for a trigger name it does not handle', () => {
    const r = run({ program: packaged(), args: ['NO_SUCH_TRIGGER'], payload: 'x', db: '/nonexistent/streamctl.db' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown trigger');
  });

  it('gives the same answers as the trigger code on every captured payload of the triggers it handles', async () => {
    // Two databases made the same way; each capture runs through the executable and through the
    // code its bundle and the node programs are built from, in process (parse → decide → render,
    // the refusal for anything thrown, as the runner does). That the node programs print what
    // that code decides is test/process/programs.test.ts's part.
    const codeSide = packagedDb();
    const pkgSide = packagedDb();
    const db = openForTrigger(codeSide.db);
    // Every ingest capture; a sample of the others keeps the run short as the registry grows. A
    // payload already compared for that trigger is not run again (31 of the 52 ingest captures
    // repeat one byte for byte: the same push, captured in several scenarios); both sides skip it.
    const limit = (trigger: string) => (trigger.endsWith('PUSH_REWRITE') ? Infinity : 10);
    const seen = new Map<string, number>();
    const payloads = new Set<string>();
    let compared = 0;
    try {
      for (const folder of readdirSync(join(FIXTURES, 'mist-captures')).sort()) {
        const dir = join(FIXTURES, 'mist-captures', folder);
        if (!statSync(dir).isDirectory()) continue;
        for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
          const trigger = file.replace(/-\d+\.txt$/, '');
          if (!(trigger in TRIGGERS) || (seen.get(trigger) ?? 0) >= limit(trigger)) continue;
          const name = `${folder}/${file.slice(0, -4)}`;
          const payload = `${trigger}\n${fixture(name)}`;
          if (payloads.has(payload)) continue;
          payloads.add(payload);
          seen.set(trigger, (seen.get(trigger) ?? 0) + 1);
          const env = fixtureEnv(name);
          const inCode = await runnerAnswer(await loadTrigger(trigger as TriggerName), db, withKey(fixture(name), codeSide.key), fromMistEnv(env));
          const viaPkg = run({ program: packaged(), args: [trigger], payload: withKey(fixture(name), pkgSide.key), db: pkgSide.db, env });
          expect(viaPkg.stdout, name).toBe(inCode);
          compared++;
        }
      }
    } finally {
      db.close();
    }
    expect(compared).toBeGreaterThanOrEqual(50);
    // ~65 starts of the executable: 14 s on a loaded 2-core machine, past the 60 s default under more load.
  }, 180_000);
});

describe('the standalone executable without a config (streamctl init)', () => {
  // A copy in a folder of its own: its streamctl.conf is the one beside it.
  const dir = tempDir();
  const exe = join(dir, 'streamctl');
  beforeAll(() => {
    copyFileSync(PACKAGE_BIN, exe);
    chmodSync(exe, 0o755);
  });
  const work = tempDir();
  const bare = (args: string[], payload = '') => spawnSync(exe, args, { env: baseEnv(), cwd: work, input: payload, encoding: 'utf8' });

  it('refuses to invent ./data/streamctl.db on first run, and names init', () => {
    for (const args of [['user', 'list'], ['db', 'migrate']]) {
      const r = bare(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(`streamctl: no database configured: ${join(dir, 'streamctl.conf')} names no db=; run 'streamctl init --db <path>' (or set STREAMCTL_DB)\n`);
    }
    // A trigger run refuses too (MistServer's answer), with the same line in its log.
    const t = bare(['USER_NEW'], fixture('01-basic-push-alice/USER_NEW-1'));
    expect(t.stdout).toBe('false');
    expect(t.stderr).toContain("run 'streamctl init --db <path>'");
    expect(readdirSync(work)).toEqual([]);
  });

  it('init writes db= beside the executable and creates the database; triggers and the CLI then use it', () => {
    const db = join(tempDir(), 'state', 'streamctl.db');
    const r = bare(['init', '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'streamctl.conf'), 'utf8')).toContain(`\ndb=${db}\n`);
    expect(existsSync(db)).toBe(true);
    const add = bare(['user', 'add', 'alice', '--json']);
    expect(add.status, add.stderr).toBe(0);
    const key = (JSON.parse(add.stdout) as { key: string }).key;
    expect(bare(['PUSH_REWRITE'], `rtmp://h/live/${key}\n127.0.0.1\n${key}`).stdout).toBe('streams+alice');
    expect(readdirSync(work)).toEqual([]);
  });

  it('init keeps an existing db= unless --force', () => {
    const other = join(tempDir(), 'other.db');
    const r = bare(['init', '--db', other]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already names the database .*; add --force to replace it\n$/);
    expect(bare(['init', '--db', other, '--force']).status).toBe(0);
    expect(readFileSync(join(dir, 'streamctl.conf'), 'utf8')).toContain(`\ndb=${other}\n`);
  });
});
