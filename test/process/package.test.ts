// The standalone executable (`npm run package`), run the way MistServer and operators run it: under
// each trigger program's name (symlink), with the trigger name as argv[1], as mist-trigger and as
// the CLI. What it proves is the packaging: dispatch, the bundled trigger code (the same answers,
// log lines and writes as that code in process), the embedded migrations and addon, failing closed,
// init. What each trigger answers on each capture is proven in process (test/triggers/,
// test/triggers/property.test.ts), and for the built node programs in test/process/programs.test.ts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, LIEF_NOTE_NOISE, PACKAGE_BIN, PACKAGE_DIR } from '../../scripts/package';
import { openForTrigger } from '../../src/store/open';
import { TRIGGERS, type TriggerName } from '../../src/triggers/registry';
import { cliAsync, startFakeMist } from '../support/fake-mist';
import { baseEnv, fixture, fixtureEnv, ROOT, tempDir, type RunResult } from '../support/helpers';
import { cli } from '../support/cli';
import { runInProcess } from '../support/trigger';

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

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

/** What building the executable warned (nothing when it was fresh and not rebuilt). */
const buildWarnings: string[] = [];

/** The file's one packagedDb() (two starts, made once); a test changes a copy of it. */
let template = { db: '', key: '' };

/** A copy of a database (by default the template): what packagedDb() gives, without its two starts. */
function packagedCopy(from = template.db): { db: string; key: string } {
  const db = join(tempDir(), 'streamctl.db');
  for (const suffix of ['', '-wal']) if (existsSync(from + suffix)) copyFileSync(from + suffix, db + suffix);
  return { db, key: template.key };
}

beforeAll(async () => {
  // Built after the last change to what goes into it (sources, migrations, the build itself).
  const inputs = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'db')), statSync(join(ROOT, 'scripts', 'package.ts')).mtimeMs);
  const fresh = existsSync(PACKAGE_BIN) && statSync(PACKAGE_BIN).mtimeMs > inputs;
  if (!fresh) {
    // Whatever the build warns reaches this console.warn (the LIEF noise is dropped before it).
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void buildWarnings.push(args.map(String).join(' '));
    try {
      await buildPackage();
    } finally {
      console.warn = warn;
    }
  }
  template = packagedDb();
}, 300_000);

const withKey = (payload: string, key: string) => payload.replaceAll('KEY_ALICE', key);

/**
 * The captures the executable answers under each trigger program's name, compared with the trigger
 * code in process: one or two per registry trigger, so that each trigger's samples give different
 * answers and together every kind of answer (a value, empty, "true", "false"), with and without a
 * log line. STREAM_SOURCE answers a value only for a catalogued recording, which no capture names
 * (programs.test.ts runs that one).
 */
const SAMPLES: Record<TriggerName, string[]> = {
  PUSH_REWRITE: ['18-srt-push-key/PUSH_REWRITE-1', '33-rewrite-trailing-slash-empty-name/PUSH_REWRITE-1'],
  RTMP_PUSH_REWRITE: ['01-basic-push-alice/RTMP_PUSH_REWRITE-1', '02-push-wrong-key/RTMP_PUSH_REWRITE-1'],
  USER_NEW: ['01-basic-push-alice/USER_NEW-1', '20i-vod-wildcard/USER_NEW-1'],
  PUSH_OUT_START: ['01-basic-push-alice/PUSH_OUT_START-1', '29-timeout-with-configured-default/PUSH_OUT_START-1'],
  RECORDING_END: ['01-basic-push-alice/RECORDING_END-1'],
  STREAM_SOURCE: ['20i-vod-wildcard/STREAM_SOURCE-1'],
  DEFAULT_STREAM: ['20k-nonexistent/DEFAULT_STREAM-1', '21-vod-hls-segment/DEFAULT_STREAM-1'],
  STREAM_BUFFER: ['01-basic-push-alice/STREAM_BUFFER-1'],
  STREAM_END: ['01-basic-push-alice/STREAM_END-1'],
  USER_END: ['01-basic-push-alice/USER_END-1'],
};

/** Rows in each table of a database file. */
function rowCounts(path: string): Record<string, number> {
  const db = openForTrigger(path);
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    return Object.fromEntries(
      tables.map(({ name }) => [name, (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n]),
    );
  } finally {
    db.close();
  }
}

describe('the standalone executable', () => {
  it("is built without warnings: LIEF's '.note' string-offset lines are dropped, nothing else is", () => {
    expect(buildWarnings).toEqual([]);
    for (const noise of [
      "warning: Can't find string offset for section name '.note.100'",
      "warning: Can't find string offset for section name '.note'",
    ]) {
      expect(LIEF_NOTE_NOISE.test(noise), noise).toBe(true);
    }
    for (const real of [
      "warning: Can't find string offset for section name '.text'",
      'error: Error when injecting resource',
      "Can't find string offset for section name '.note.100' and more",
    ]) {
      expect(LIEF_NOTE_NOISE.test(real), real).toBe(false);
    }
  });

  it('has a symlink for mist-trigger and every registry trigger program', () => {
    for (const program of ['mist-trigger', ...Object.values(TRIGGERS).map((s) => s.program)]) {
      expect(lstatSync(packaged(program)).isSymbolicLink(), program).toBe(true);
      expect(readlinkSync(packaged(program))).toBe('streamctl');
    }
  });

  it('is the CLI: migrates, manages users and keys, prints JSON', () => {
    // The template was made by `db migrate` and `user add alice --json` (beforeAll).
    expect(template.key).toMatch(/^stc_/);
    expect(statSync(template.db).mode & 0o777, 'the database holds the token secret: owner only').toBe(0o600);
    const { db } = packagedCopy();
    const rotated = run({ program: packaged(), args: ['key', 'rotate', 'alice', '--json'], db });
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).revoked_keys).toBe(1);
    const bad = run({ program: packaged(), args: ['user', 'show', 'nobody'], db });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("gives the trigger code's answers, log lines and writes on captures of every registry trigger, under each program's name", async () => {
    // A trigger added to the registry fails here until it has samples.
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(TRIGGERS).sort());
    // Two databases made the same way: the template with alice recorded (PUSH_OUT_START then answers
    // a path, under the one recordings root both sides name), and a copy of that. Each capture runs
    // through the code in process (parse → decide → render, the log lines as the runner prints them)
    // on one and through the executable on the other.
    const root = join(tempDir(), 'recordings');
    mkdirSync(root);
    const code = packagedCopy();
    expect((await cli(code.db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
    expect((await cli(code.db, ['channel', 'set', 'alice', '--record', 'on'])).status).toBe(0);
    const pkg = packagedCopy(code.db);
    const answers = new Set<string>();
    for (const [trigger, names] of Object.entries(SAMPLES) as [TriggerName, string[]][]) {
      const own = new Set<string>();
      for (const name of names) {
        const payload = withKey(fixture(name), template.key);
        const env = fixtureEnv(name);
        const inCode = await runInProcess({ trigger, payload, db: code.db, env });
        const viaPkg = run({ program: packaged(TRIGGERS[trigger].program), args: [trigger], payload, db: pkg.db, env });
        expect({ stdout: viaPkg.stdout, stderr: viaPkg.stderr, status: viaPkg.status }, name).toEqual({ ...inCode, status: 0 });
        own.add(inCode.stdout);
      }
      expect(own.size, `${trigger}: each sample gives another answer`).toBe(names.length);
      for (const a of own) answers.add(a);
    }
    expect(
      [...answers].filter((a) => !['', 'true', 'false'].includes(a)),
      'values',
    ).not.toEqual([]);
    for (const a of ['', 'true', 'false']) expect(answers).toContain(a);
    // The same writes: the informative triggers answer nothing, so their work shows only here.
    expect(rowCounts(pkg.db)).toEqual(rowCounts(code.db));
  });

  describe('dispatch', () => {
    let db = '';
    let key = '';
    beforeAll(() => void ({ db, key } = packagedCopy()));

    // Under each program's name: every registry trigger, in the comparison above.
    it.each([
      ['with the trigger name as argv[1] (SRT, capture 18)', () => packaged(), '18-srt-push-key/PUSH_REWRITE-1'],
      ['as mist-trigger (RTSP, capture 19)', () => packaged('mist-trigger'), '19-rtsp-push-key/PUSH_REWRITE-1'],
    ])('runs a trigger %s', (_, program, name) => {
      const r = run({ program: program(), args: ['PUSH_REWRITE'], payload: withKey(fixture(name), key), db, env: fixtureEnv(name) });
      expect(r.stdout).toBe('streams+alice');
      expect(r.status).toBe(0);
    });

    it('runs the program it is named after, whatever argv[1] says, and never writes the key to stderr or the event log', () => {
      const r = run({ program: packaged('push-rewrite'), args: ['SOMETHING_ELSE'], payload: `u\n10.0.0.1\n${key}`, db });
      expect(r.stdout).toBe('streams+alice');
      expect(r.stderr).not.toContain(key);
      const events = run({ program: packaged(), args: ['events', '--json'], db });
      expect(events.stdout).toContain('accepted');
      expect(events.stdout).not.toContain(key);
    });

    it('answers empty for a trigger name it does not handle', () => {
      const r = run({ program: packaged(), args: ['NO_SUCH_TRIGGER'], payload: 'x', db });
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('unknown trigger');
    });
  });

  it('answers the refusal, with one stderr line, when the database is missing: "false" for USER_NEW, empty for the others', () => {
    // Each trigger program's refusal is programs.test.ts's (the same runner); here the packaged
    // path, once for each refusal. Payloads that parse (the runner parses before it opens the
    // database), so the failure is the database's.
    const dir = tempDir();
    for (const trigger of ['USER_NEW', 'PUSH_REWRITE'] as const) {
      const name = SAMPLES[trigger][0]!;
      const r = run({
        program: packaged(TRIGGERS[trigger].program),
        args: [trigger],
        payload: withKey(fixture(name), template.key),
        db: join(dir, 'nope', 'streamctl.db'),
      });
      expect(r.stdout, trigger).toBe(TRIGGERS[trigger].refusal);
      expect(r.status, trigger).toBe(0);
      expect(r.stderr.trim().split('\n'), trigger).toHaveLength(1);
      expect(r.stderr, trigger).toMatch(/does not exist/);
    }
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });

  it('refuses to load its addon from a cache folder others could write', () => {
    const { db, key } = packagedCopy();
    const cache = tempDir();
    const id = createHash('sha256')
      .update(readFileSync(join(ROOT, 'dist', 'better_sqlite3.node')))
      .digest('hex')
      .slice(0, 16);
    const dir = join(cache, `streamctl-${process.getuid?.() ?? 0}-${id}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const r = run({
      program: packaged('push-rewrite'),
      args: ['PUSH_REWRITE'],
      payload: `u\n10.0.0.1\n${key}`,
      db,
      env: { STREAMCTL_CACHE_DIR: cache },
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not a private folder');
    chmodSync(dir, 0o700);
    const ok = run({
      program: packaged('push-rewrite'),
      args: ['PUSH_REWRITE'],
      payload: `u\n10.0.0.1\n${key}`,
      db,
      env: { STREAMCTL_CACHE_DIR: cache },
    });
    expect(ok.stdout).toBe('streams+alice');
    expect(existsSync(join(dir, 'better_sqlite3.node'))).toBe(true);
  });

  it('points every MistServer trigger at itself on mist apply, and doctor finds it working', async () => {
    const { db } = packagedCopy();
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

  it('refuses a database that does not exist: names it, exits 1, creates nothing', () => {
    const typo = join(tempDir(), 'typo.db');
    const r = run({ program: packaged(), args: ['user', 'list'], db: typo });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`database ${typo} does not exist`);
    expect(existsSync(typo)).toBe(false);
  });
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
    for (const args of [
      ['user', 'list'],
      ['db', 'migrate'],
    ]) {
      const r = bare(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(
        `streamctl: no database configured: ${join(dir, 'streamctl.conf')} names no db=; run 'streamctl init --db <path>' (or set STREAMCTL_DB)\n`,
      );
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
    // A token secret, as install.sh makes one: the site can mint playback tokens at once.
    const issued = bare(['token', 'issue', 'alice', '--viewer', 'v1', '--json']);
    expect(issued.status, issued.stderr).toBe(0);
    // ... and the executable verifies it (jose is inside it): a private channel admits the granted viewer.
    expect(bare(['channel', 'set', 'alice', '--access', 'private']).status).toBe(0);
    expect(bare(['grant', 'add', 'alice', 'v1']).status).toBe(0);
    const token = (JSON.parse(issued.stdout) as { token: string }).token;
    const watch = bare(['USER_NEW'], fixture('20b-hls-tkn/USER_NEW-1').replace('\nabc123\n', `\n${token}\n`));
    expect(watch.stdout, watch.stderr).toBe('true');
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
