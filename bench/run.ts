// npm run bench: trigger start-up cost measured side by side with bare `node -e 0`, in one run,
// spawned as MistServer spawns handlers (argv[1] = trigger name, payload on stdin), against a
// database with 100,000 users. NODE_EXTRA_CA_CERTS is removed from the children's environment
// (it adds ~80 ms to every node start on this machine and would hide the difference).
// One figure per case: the time until the process is gone. MistServer kills a blocking handler as
// soon as it has read the answer, so everything that matters happens before the answer and the
// answer time is the exit time; a case that answers earlier than it exits is reported as a defect.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAll } from '../scripts/build';

const ROOT = resolve(__dirname, '..');
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

interface Case {
  label: string;
  command: string;
  args: string[];
  input?: string;
  /** A detaching wrapper: also print when the spawned process itself exited. */
  wrapper?: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Timing {
  /** Until stdout closed: when MistServer has the answer (and kills a blocking handler, capture 14). */
  answer: number;
  /** Until the process exited. */
  exit: number;
  /** Until the spawned process itself exited (a detaching wrapper exits before its program). */
  proc: number;
}

/** A program that closes stdout this much earlier than it exits is doing work MistServer may kill. */
const EARLY_ANSWER_MS = 1;

/** Spawns one run the way MistServer does and times the answer and the exit separately. */
function timeOnce(c: Case, env: NodeJS.ProcessEnv): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - start) / 1e6;
    const child = spawn(c.command, c.args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let answer = 0;
    let proc = 0;
    let stderr = '';
    child.on('exit', () => (proc = since()));
    child.stdout.on('data', () => {});
    child.stdout.on('end', () => (answer = since()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`${c.label} exited ${status}: ${stderr}`));
      else resolvePromise({ answer: answer || since(), exit: since(), proc: proc || since() });
    });
    child.stdin.end(c.input ?? '');
  });
}

/** Fills the database with USERS users, one key each, as fast as SQLite allows. */
function seed(dbPath: string): string {
  const db = new Database(dbPath);
  const now = Date.now();
  const insertUser = db.prepare('INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)');
  // Every user has its policy row (a missing one refuses viewers), as `user add` writes it.
  const insertChannel = db.prepare('INSERT INTO channels (user_id, updated_at) VALUES (?, ?)');
  const insertKey = db.prepare('INSERT INTO stream_keys (user_id, label, prefix, digest, created_at) VALUES (?, ?, ?, ?, ?)');
  let sampleKey = '';
  db.transaction(() => {
    for (let i = 1; i <= USERS; i++) {
      const key = `stc_${createHash('sha256').update(`bench-${i}`).digest('base64url').slice(0, 32)}`;
      insertUser.run(i, `user${i}`, now);
      insertChannel.run(i, now);
      insertKey.run(i, 'default', key.slice(0, 8), createHash('sha256').update(key).digest('hex'), now);
      if (i === Math.floor(USERS / 2)) sampleKey = key;
    }
  })();
  db.close();
  return sampleKey;
}

async function main(): Promise<void> {
  await buildAll();
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-'));
  try {
    const dbPath = join(dir, 'bench.db');
    const env: NodeJS.ProcessEnv = { ...process.env, STREAMCTL_DB: dbPath, MIST_TRIGGER: 'PUSH_REWRITE', MIST_TRIG_DEF: 'x', MIST_TIME: String(Date.now()) };
    const hadCaCerts = env.NODE_EXTRA_CA_CERTS !== undefined;
    delete env.NODE_EXTRA_CA_CERTS;
    const migrate = spawnSync(join(ROOT, 'bin/streamctl'), ['db', 'migrate'], { env, encoding: 'utf8' });
    if (migrate.status !== 0) throw new Error(migrate.stderr);
    const key = seed(dbPath);
    const payload = `rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`;
    // A wrong key from another address; the guard limit is raised so that every run still looks
    // the key up (the guard's own early refusal is cheaper than this).
    const wrong = `stc_${'W'.repeat(32)}`;
    const wrongPayload = `rtmp://127.0.0.1/live/${wrong}\n192.0.2.66\n${wrong}`;
    // Captured shape (01-basic-push-alice/USER_END-1), for a session streamctl never saw.
    const userEnd = `abc123\nstreams+user${Math.floor(USERS / 2)}\nHLS\n127.0.0.1\n6\n2316\n0\n[UA:curl/7.88.1]\n6\n6`;

    // Measure the programs as installed (what MistServer runs): install.sh into a temp prefix.
    const prefix = join(dir, 'prefix');
    const install = spawnSync('bash', [join(ROOT, 'install.sh')], { env: { ...env, PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '' }, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
    const installed = (program: string) => join(prefix, 'lib/streamctl/bin', program);

    const cases: Case[] = [
      { label: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
      { label: 'push-rewrite (accept)', command: installed('push-rewrite'), args: ['PUSH_REWRITE'], input: payload },
      { label: 'push-rewrite (refuse, wrong key)', command: installed('push-rewrite'), args: ['PUSH_REWRITE'], input: wrongPayload },
      { label: 'mist-trigger PUSH_REWRITE', command: installed('mist-trigger'), args: ['PUSH_REWRITE'], input: payload },
      ...viewerCases(dbPath, env, installed),
      // An asynchronous trigger as installed (bin/user-end → dist/user-end.sh, detached) and its
      // program run directly: what the wrapper costs. Its "answer" is its program's end (the
      // program holds stdout); MistServer's child itself is gone much earlier (printed below).
      { label: 'user-end (installed: detaching wrapper)', command: installed('user-end'), args: ['USER_END'], input: userEnd, wrapper: true },
      { label: 'user-end (program run directly)', command: join(prefix, 'lib/streamctl/dist/user-end.js'), args: ['USER_END'], input: userEnd },
      { label: 'push-rewrite, repo bin/ shim (dev)', command: join(ROOT, 'bin/push-rewrite'), args: ['PUSH_REWRITE'], input: payload },
    ];
    const user = `streams+user${Math.floor(USERS / 2)}`;
    const expected = [undefined, user, '', user, 'true', 'true', 'false', '', '', user];
    cases.forEach((c, i) => {
      if (expected[i] === undefined) return;
      const r = spawnSync(c.command, c.args, { input: c.input, env, encoding: 'utf8' });
      if (r.stdout !== expected[i]) throw new Error(`${c.label}: unexpected answer ${JSON.stringify(r.stdout)} ${r.stderr}`);
    });

    const times = new Map<string, Timing[]>(cases.map((c) => [c.label, []]));
    for (const c of cases) for (let i = 0; i < 3; i++) await timeOnce(c, env); // warm the page cache
    // Interleaved rounds: each round runs every case once, in a fresh shuffled order, so machine
    // noise and position effects (the run right after another costs more) hit all alike.
    let shuffleState = 12345;
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...cases];
      for (let i = order.length - 1; i > 0; i--) {
        shuffleState = (shuffleState * 1103515245 + 12345) % 2 ** 31;
        const j = shuffleState % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (const c of order) times.get(c.label)!.push(await timeOnce(c, env));
    }

    const baseline = times.get('node -e 0')!;
    const base = median(baseline.map((t) => t.exit));
    console.log(`streamctl trigger start-up: ${USERS.toLocaleString('en')} users, ${ROUNDS} interleaved rounds, median wall time`);
    console.log(`NODE_EXTRA_CA_CERTS: ${hadCaCerts ? 'set in this shell, UNSET for every measured process' : 'not set'}; node ${process.version}`);
    console.log(`programs as installed by install.sh (${prefix}/lib/streamctl/bin), database given by STREAMCTL_DB`);
    console.log(`  answer = exit: every write commits before the answer, as MistServer kills the handler once it has it`);
    console.log(`  ${''.padEnd(40)}  answer   ratio vs node -e 0`);
    const early: string[] = [];
    for (const c of cases) {
      const answer = median(times.get(c.label)!.map((t) => t.answer));
      const exit = median(times.get(c.label)!.map((t) => t.exit));
      console.log(`  ${c.label.padEnd(40)} ${exit.toFixed(1).padStart(7)} ms  ${(exit / base).toFixed(2)}`);
      if (c.wrapper) console.log(`  ${''.padEnd(40)} ${median(times.get(c.label)!.map((t) => t.proc)).toFixed(1).padStart(7)} ms  until MistServer's child (the wrapper) exited`);
      if (exit - answer > EARLY_ANSWER_MS) early.push(`${c.label} answers ${(exit - answer).toFixed(1)} ms before it exits (${answer.toFixed(1)} ms)`);
    }
    for (const line of early) console.log(`  DEFECT: ${line}: work after the answer is lost when MistServer kills it`);
    console.log('target: PUSH_REWRITE and public USER_NEW ratio <= 1.25 against node -e 0; a token check adds a few ms');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** USER_NEW on a public channel (no token work), on an age-restricted one with a signed JWT, and refused (audited). */
function viewerCases(dbPath: string, env: NodeJS.ProcessEnv, installed: (program: string) => string): Case[] {
  const streamctl = (...args: string[]) => {
    const r = spawnSync(join(ROOT, 'bin/streamctl'), args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const adult = `user${Math.floor(USERS / 2) + 1}`;
  streamctl('token', 'secret');
  streamctl('config', 'set', 'push-guard-failures', '999999999');
  streamctl('channel', 'set', adult, '--access', 'age');
  const hidden = `user${Math.floor(USERS / 2) + 2}`;
  streamctl('channel', 'set', hidden, '--access', 'private');
  const token = (JSON.parse(streamctl('token', 'issue', adult, '--viewer', 'v1', '--ttl', '1h', '--age-verified', '--json')) as { token: string }).token;
  const session = (n: number) => n.toString(16).padStart(64, '0');
  // Captured shape (20b-hls-tkn): stream, host, token, connector, URL, session id, jwt-validated.
  const payload = (stream: string, tkn: string, n: number) =>
    `${stream}\n127.0.0.1\n${tkn}\nHLS\nhttp://127.0.0.1:8080/hls/${stream}/index.m3u8?tkn=${tkn}\n${session(n)}\nfalse`;
  return [
    { label: 'user-new (public channel)', command: installed('user-new'), args: ['USER_NEW'], input: payload(`streams+user${Math.floor(USERS / 2)}`, '1684129823', 1) },
    { label: 'user-new (age channel, JWT)', command: installed('user-new'), args: ['USER_NEW'], input: payload(`streams+${adult}`, token, 2) },
    { label: 'user-new (private channel, refused)', command: installed('user-new'), args: ['USER_NEW'], input: payload(`streams+${hidden}`, '1684129824', 3) },
  ];
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
