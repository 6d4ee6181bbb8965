// npm run bench: every trigger program's cost measured side by side with bare `node -e 0` and a
// PHP-CLI + PDO SQLite peer (bench/peer/*.php, when php is installed), in one run, spawned as
// MistServer spawns handlers (argv[1] = trigger name, payload on stdin), against a small database
// (1,000 users and keys) and a large one (BENCH_USERS, default 1,000,000 users and keys, plus
// 100,000 open viewer sessions and 100,000 broadcasts): the same latencies are expected of both.
// Peak memory (max RSS) per program comes from /usr/bin/time. NODE_EXTRA_CA_CERTS is removed from
// the children's environment (it adds ~80 ms to every node start on this machine).
// An edge's USER_NEW (no database; one pipelined read from a local Redis replica over a
// unix socket, the cap claimed on the primary) is measured in the same run, against a primary +
// replica pair the bench starts (skipped when redis-server is missing).
// The flash crowd against the real MistServer is bench/flash-crowd.ts (run inside isolated.sh).
// One figure per case: the time until the process is gone. MistServer kills a blocking handler as
// soon as it has read the answer, so everything that matters happens before the answer and the
// answer time is the exit time; a case that answers earlier than it exits is reported as a defect.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAll } from '../scripts/build';
import { connectRedis } from '../src/lib/resp';
import { keys, REPLICATED_SETTINGS } from '../src/replica/schema';
import { SETTING_DEFAULTS } from '../src/store/settings';

const ROOT = resolve(__dirname, '..');
const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const SMALL_USERS = 1_000;
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
const BROADCASTS = Number(process.env.BENCH_BROADCASTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

interface Case {
  label: string;
  /** Which database (small or large), 'edge' for an edge's program (Redis), or '' for the baselines. */
  db: 'small' | 'large' | 'edge' | '';
  command: string;
  args: string[];
  input?: string;
  env: NodeJS.ProcessEnv;
  /** The answer it must give (checked once before timing); undefined: not checked. */
  expect?: string;
  /** Input and environment of each run, when they must differ from run to run (a transition each time). */
  vary?: () => { input: string; env: NodeJS.ProcessEnv };
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
}

/** A program that closes stdout this much earlier than it exits is doing work MistServer may kill. */
const EARLY_ANSWER_MS = 1;

/** Spawns one run the way MistServer does and times the answer and the exit separately. */
function timeOnce(c: Case): Promise<Timing> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - start) / 1e6;
    const run = c.vary?.() ?? c;
    const child = spawn(c.command, c.args, { env: run.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let answer = 0;
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stdout.on('end', () => (answer = since()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`${c.label} exited ${status}: ${stderr}`));
      else resolvePromise({ answer: answer || since(), exit: since() });
    });
    child.stdin.end(run.input ?? '');
  });
}

/**
 * Fills the database with `users` users, one key each, and `sessions` open viewer sessions and
 * `broadcasts` ended broadcasts spread over them, as fast as SQLite allows. Returns a key of a
 * user in the middle (user number users/2).
 */
function seed(dbPath: string, users: number, sessions: number, broadcasts: number): string {
  const db = new Database(dbPath);
  const now = Date.now();
  const insertUser = db.prepare('INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)');
  // Every user has its policy row (a missing one refuses viewers), as `user add` writes it.
  const insertChannel = db.prepare('INSERT INTO channels (user_id, updated_at) VALUES (?, ?)');
  const insertKey = db.prepare('INSERT INTO stream_keys (user_id, label, prefix, digest, created_at) VALUES (?, ?, ?, ?, ?)');
  const insertSession = db.prepare(
    'INSERT INTO viewer_sessions (session_id, user_id, stream, ip, connector, opened_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertBroadcast = db.prepare('INSERT INTO broadcasts (user_id, started_at, ended_at, ended_cleanly) VALUES (?, ?, ?, 1)');
  let sampleKey = '';
  db.transaction(() => {
    for (let i = 1; i <= users; i++) {
      const key = `stc_${createHash('sha256').update(`bench-${i}`).digest('base64url').slice(0, 32)}`;
      insertUser.run(i, `user${i}`, now);
      insertChannel.run(i, now);
      insertKey.run(i, 'default', key.slice(0, 8), createHash('sha256').update(key).digest('hex'), now);
      if (i === Math.floor(users / 2)) sampleKey = key;
    }
    // Viewers of many channels (none of the measured ones: their own cases decide alone).
    for (let i = 0; i < sessions; i++) {
      const u = 1 + (i % Math.min(users, 5000));
      insertSession.run(
        createHash('sha256').update(`s${i}`).digest('hex'),
        u,
        `streams+user${u}`,
        '198.51.100.7',
        'HLS',
        now - 60_000,
        now - 1000,
      );
    }
    for (let i = 0; i < broadcasts; i++) {
      const u = 1 + (i % users);
      insertBroadcast.run(u, now - 86_400_000 - i * 10_000, now - 86_400_000 - i * 10_000 + 5_000);
    }
  })();
  db.close();
  return sampleKey;
}

/**
 * A stand-in for MistServer's API for the second-push cases: `clients` lists one
 * connected encoder (its connection time growing) on every stream, `stop_sessid` answers as 3.10
 * does (the encoder stays listed, so every takeover run finds one). Same host, as PUSH_REWRITE
 * reaches the real one.
 */
interface ClientsQuery {
  time: number;
  streams: string[];
  fields: string[];
}

async function startFakeMistApi(): Promise<{ url: string; stop: () => void }> {
  const started = Math.floor(Date.now() / 1000) - 60;
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      // One object or an array of them, as MistServer takes `clients` (PUSH_REWRITE sends one).
      const request = JSON.parse(body) as { clients?: ClientsQuery | ClientsQuery[] };
      const look = (q: ClientsQuery) => {
        const row: Record<string, unknown> = {
          host: '192.0.2.50',
          stream: q.streams[0],
          protocol: 'INPUT:RTMP',
          conntime: q.time - started,
          down: (q.time - started) * 12_000,
          sessid: 'Ibench',
        };
        return { fields: q.fields, time: q.time, data: [q.fields.map((f) => row[f])] };
      };
      const answer = {
        authorize: { status: 'OK', local: true },
        ...(request.clients === undefined
          ? {}
          : { clients: Array.isArray(request.clients) ? request.clients.map(look) : look(request.clients) }),
      };
      res.writeHead(200, { 'content-type': 'text/javascript', connection: 'close' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, stop: () => server.close() };
}

/** A STREAM_BUFFER event far ahead: every accept comes before it, so the channel reads as ended (EMPTY) or live (FULL) on every run. */
const AHEAD = Date.parse('2100-01-01T00:00:00Z');

/** One database prepared for the cases: migrated, seeded, and its measured channels set up. */
function prepareDb(
  dir: string,
  name: 'small' | 'large' | 'hooked',
  users: number,
  sessions: number,
  broadcasts: number,
  baseEnv: NodeJS.ProcessEnv,
  mistApi: string,
) {
  const dbPath = join(dir, `${name}.db`);
  const env: NodeJS.ProcessEnv = { ...baseEnv, STREAMCTL_DB: dbPath };
  const streamctl = (...args: string[]) => {
    const r = spawnSync(join(ROOT, 'bin/streamctl'), args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  streamctl('db', 'migrate');
  const key = seed(dbPath, users, sessions, broadcasts);
  const mid = Math.floor(users / 2);
  const adult = `user${mid + 1}`;
  const hidden = `user${mid + 2}`;
  streamctl('token', 'secret');
  // Every run looks the key up: the guard's own early refusal would be cheaper than the lookup.
  streamctl('config', 'set', 'push-guard-failures', '999999999');
  streamctl('channel', 'set', adult, '--access', 'age');
  streamctl('channel', 'set', hidden, '--access', 'private');
  const token = (
    JSON.parse(streamctl('token', 'issue', adult, '--viewer', 'v1', '--ttl', '1h', '--age-verified', '--json')) as { token: string }
  ).token;
  // A paid channel with and without viewer-sessions; tokens with a jti (what token issue
  // mints: one revocation lookup) and without (a site's own token: none).
  const paid = `user${mid + 3}`;
  const limited = `user${mid + 4}`;
  const evicting = `user${mid + 5}`;
  for (const ch of [paid, limited, evicting]) streamctl('channel', 'set', ch, '--access', 'paid');
  // A limit never reached (each run is a new session) measures the count; evict-oldest at 1 evicts on every run.
  streamctl('channel', 'set', limited, '--viewer-sessions', '1000000');
  streamctl('channel', 'set', evicting, '--viewer-sessions', '1', '--on-excess', 'evict-oldest');
  const issue = (ch: string) =>
    (JSON.parse(streamctl('token', 'issue', ch, '--viewer', 'v1', '--ttl', '1h', '--ent', 'paid', '--json')) as { token: string }).token;
  const secret = streamctl('token', 'secret', '--show');
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'v1', aud: paid, exp: Math.floor(Date.now() / 1000) + 3600, ent: ['paid'] })}`;
  const noJti = `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
  const tickets = {
    paid,
    limited,
    evicting,
    paidToken: issue(paid),
    paidNoJti: noJti,
    limitedToken: issue(limited),
    evictingToken: issue(evicting),
  };
  // Second-push policy. The measured channel's last broadcast has ended: every push
  // is decided from SQLite ("off", today's path). Two more channels are live: a second push asks
  // MistServer (the fake API) and is refused (refuse) or stops the encoder listed (takeover).
  streamctl('config', 'set', 'mist-api', mistApi);
  const liveTakeover = `user${mid + 7}`;
  streamctl('channel', 'set', liveTakeover, '--second-push', 'takeover');
  const db = new Database(dbPath);
  const buffer = db.prepare('INSERT INTO buffer_events (user_id, at, state) VALUES (?, ?, ?)');
  buffer.run(mid, AHEAD, 'EMPTY');
  buffer.run(mid + 6, AHEAD, 'FULL');
  buffer.run(mid + 7, AHEAD, 'FULL');
  // Both live channels have a publisher (another key), accepted before their FULL.
  db.prepare(
    'INSERT INTO channel_publishers (user_id, key_id, ip, accepted_at) SELECT user_id, NULL, ?, ? FROM stream_keys WHERE user_id IN (?, ?)',
  ).run('192.0.2.50', Date.now() - 60_000, mid + 6, mid + 7);
  db.close();
  const keyOf = (i: number) => `stc_${createHash('sha256').update(`bench-${i}`).digest('base64url').slice(0, 32)}`;
  return { env, key, mid, adult, hidden, token, liveTakeover, refuseKey: keyOf(mid + 6), takeoverKey: keyOf(mid + 7), tickets };
}

let sessionCounter = 0;
/** Every trigger program against one database. */
function triggerCases(db: 'small' | 'large', p: ReturnType<typeof prepareDb>, installed: (program: string) => string): Case[] {
  const { env, key, mid, adult, hidden, token, tickets: t, liveTakeover, refuseKey, takeoverKey } = p;
  const pushWith = (k: string) => `rtmp://127.0.0.1/live/${k}\n127.0.0.1\n${k}`;
  const stream = `streams+user${mid}`;
  const push = `rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`;
  const session = () => (++sessionCounter).toString(16).padStart(64, '0');
  // Captured shape (20b-hls-tkn): stream, host, token, connector, URL, session id, jwt-validated.
  const view = (s: string, tkn: string) =>
    `${s}\n127.0.0.1\n${tkn}\nHLS\nhttp://127.0.0.1:8080/hls/${s}/index.m3u8?tkn=${tkn}\n${session()}\nfalse`;
  // Captured shape (01, 32c): 12 lines.
  const userEnd = `1684129823\n${stream}\nHLS\n127.0.0.1\n12\n100000\n2000\n[UA:curl/7.88.1]\n12\n12\n12\n${session()}`;
  const c = (label: string, program: string, trigger: string, input: string, expect?: string): Case => ({
    label: `${label}`,
    db,
    command: installed(program),
    args: [trigger],
    input,
    env,
    expect,
  });
  return [
    c('push-rewrite (accept)', 'push-rewrite', 'PUSH_REWRITE', push, stream),
    c('push-rewrite (live: refuse, asks API)', 'push-rewrite', 'PUSH_REWRITE', pushWith(refuseKey), ''),
    c('push-rewrite (live: takeover)', 'push-rewrite', 'PUSH_REWRITE', pushWith(takeoverKey), `streams+${liveTakeover}`),
    c('mist-trigger PUSH_REWRITE', 'mist-trigger', 'PUSH_REWRITE', push, stream),
    c('user-new (public channel)', 'user-new', 'USER_NEW', view(stream, '1684129823'), 'true'),
    c('user-new (age channel, JWT)', 'user-new', 'USER_NEW', view(`streams+${adult}`, token), 'true'),
    c('user-new (private, refused)', 'user-new', 'USER_NEW', view(`streams+${hidden}`, '1684129824'), 'false'),
    c('user-new (paid JWT, no jti)', 'user-new', 'USER_NEW', view(`streams+${t.paid}`, t.paidNoJti), 'true'),
    c('user-new (paid JWT, jti: revoked?)', 'user-new', 'USER_NEW', view(`streams+${t.paid}`, t.paidToken), 'true'),
    c('user-new (paid JWT, viewer-sessions)', 'user-new', 'USER_NEW', view(`streams+${t.limited}`, t.limitedToken), 'true'),
    c('user-new (paid JWT, evicts oldest)', 'user-new', 'USER_NEW', view(`streams+${t.evicting}`, t.evictingToken), 'true'),
    c('user-end', 'user-end', 'USER_END', userEnd, ''),
    c('stream-buffer (FULL, tags open)', 'stream-buffer', 'STREAM_BUFFER', `${stream}\nFULL\n{}`, ''),
    c('stream-end', 'stream-end', 'STREAM_END', `${stream}\n1000\n2000\n3\n1\n1\n40`, ''),
    c('stream-source (unknown VoD)', 'stream-source', 'STREAM_SOURCE', 'vod+aaaaaaaaaaaaaaaaaaaaaaaaaa', ''),
    c(
      'default-stream (offline channel)',
      'default-stream',
      'DEFAULT_STREAM',
      `vod\n${stream}\n127.0.0.1\nHLS\nhttp://127.0.0.1:8080/hls/${stream}/index.m3u8`,
    ),
    c('push-out-start (not a recording)', 'push-out-start', 'PUSH_OUT_START', `${stream}\nrtmp://example.invalid/live/x`),
  ];
}

/** The PHP-CLI + PDO SQLite peers (same database, same lookup); none when php is missing. */
function phpCases(db: 'small' | 'large', p: ReturnType<typeof prepareDb>): Case[] {
  const php = spawnSync('php', ['-r', 'echo extension_loaded("pdo_sqlite") ? "y" : "n";'], { encoding: 'utf8' });
  if (php.status !== 0 || php.stdout !== 'y') return [];
  const stream = `streams+user${p.mid}`;
  const push = `rtmp://127.0.0.1/live/${p.key}\n127.0.0.1\n${p.key}`;
  const view = `${stream}\n127.0.0.1\n1684129823\nHLS\nhttp://127.0.0.1:8080/hls/${stream}/index.m3u8\n${'f'.repeat(64)}\nfalse`;
  return [
    {
      label: 'PHP peer PUSH_REWRITE',
      db,
      command: 'php',
      args: [join(ROOT, 'bench/peer/push-rewrite.php')],
      input: push,
      env: p.env,
      expect: stream,
    },
    {
      label: 'PHP peer USER_NEW (public)',
      db,
      command: 'php',
      args: [join(ROOT, 'bench/peer/user-new.php')],
      input: view,
      env: p.env,
      expect: 'true',
    },
  ];
}

/** A started redis-server: its socket and a stop function. */
interface BenchRedis {
  socket: string;
  stop(): void;
}

async function startRedisServer(dir: string, name: string, args: string[]): Promise<BenchRedis> {
  const socket = join(dir, `${name}.sock`);
  const proc = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, ...args],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server (${name}) did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { socket, stop: () => void proc.kill('SIGKILL') };
}

/**
 * The edge's USER_NEW cases: a primary (TCP on loopback, as an edge reaches the origin) and a
 * replica on a unix socket (replica-serve-stale-data no), holding a public, a private and a capped
 * channel by src/replica/schema.ts. Empty when redis-server is not installed.
 */
async function edgeCases(
  dir: string,
  baseEnv: NodeJS.ProcessEnv,
  installed: (program: string) => string,
  stops: (() => void)[],
): Promise<Case[]> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return [];
  const port = await new Promise<number>((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
  });
  const primary = await startRedisServer(dir, 'primary', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--repl-diskless-sync-delay',
    '0',
  ]);
  stops.push(primary.stop);
  const replica = await startRedisServer(dir, 'replica', ['--replicaof', '127.0.0.1', String(port), '--replica-serve-stale-data', 'no']);
  stops.push(replica.stop);
  const w = await connectRedis(primary.socket, { timeoutMs: 5000 });
  const secret = 'bench-edge-secret-0123456789abcdef';
  const settings = Object.fromEntries(REPLICATED_SETTINGS.map((n) => [n, SETTING_DEFAULTS[n]]));
  const chan = (id: number, name: string, access: string, viewerCap: number | null, viewerSessions: number | null = null) =>
    JSON.stringify({
      id,
      name,
      disabled: false,
      externalId: null,
      access,
      minAge: null,
      viewerCap,
      passwordSet: false,
      viewerSessions,
      onExcess: 'refuse',
    });
  await w.pipeline([
    ['SET', keys.settings, JSON.stringify(settings)],
    [
      'SET',
      keys.tokenKeys,
      JSON.stringify([{ id: 1, kind: 'secret', alg: 'HS256', material: secret, label: 'secret-1', retiredAt: null }]),
    ],
    ['SET', keys.channel('edgepub'), chan(1, 'edgepub', 'public', null)],
    ['SET', keys.channel('edgepriv'), chan(2, 'edgepriv', 'private', null)],
    ['SET', keys.channel('edgecap'), chan(3, 'edgecap', 'public', 1_000_000)],
    ['SET', keys.channel('edgelim'), chan(4, 'edgelim', 'private', null, 1_000_000)],
    ['HSET', keys.grants('edgelim'), 'v1', ''],
    ['HSET', keys.grants('edgepriv'), 'v1', ''],
    ['HSET', keys.globalBans, '1', JSON.stringify({ kind: 'ip', value: '203.0.113.0/24', until: null })],
  ]);
  if ((await w.call('WAIT', 1, 10_000)) !== 1) throw new Error('the bench replica did not catch up');
  w.close();
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'v1', aud: 'edgepriv', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  const jwt = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  const limInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'v1', aud: 'edgelim', jti: 'bench-jti', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  const limJwt = `${limInput}.${createHmac('sha256', secret).update(limInput).digest('base64url')}`;
  const env = {
    ...baseEnv,
    STREAMCTL_REDIS_REPLICA: replica.socket,
    STREAMCTL_REDIS_PRIMARY: `127.0.0.1:${port}`,
    // Where a token session's expiry is recorded (install.sh: STATE_DIR/sessions).
    STREAMCTL_SESSIONS_DIR: join(dir, 'edge-sessions'),
    MIST_TRIGGER: 'USER_NEW',
  };
  const session = () => (++sessionCounter).toString(16).padStart(64, '0');
  const view = (s: string, tkn: string) =>
    `${s}\n127.0.0.1\n${tkn}\nHLS\nhttp://127.0.0.1:8080/hls/${s}/index.m3u8?tkn=${tkn}\n${session()}\nfalse`;
  const c = (label: string, stream: string, tkn: string): Case => ({
    label,
    db: 'edge',
    command: installed('edge-user-new'),
    args: ['USER_NEW'],
    input: view(stream, tkn),
    env,
    expect: 'true',
  });
  return [
    c('edge-user-new (public channel)', 'streams+edgepub', '1684129823'),
    c('edge-user-new (private, JWT + grant)', 'streams+edgepriv', jwt),
    c('edge-user-new (capped, Lua on primary)', 'streams+edgecap', '1684129823'),
    c('edge-user-new (JWT+jti, viewer-sessions)', 'streams+edgelim', limJwt),
  ];
}

/**
 * STREAM_BUFFER where every run is a transition (FULL, EMPTY, FULL, ... at a later MIST_TIME each
 * time: a broadcast opened or closed, an event logged), on two databases alike but for one webhook
 * endpoint: what writing the webhook event in the same transaction adds. The endpoint is never
 * sent to (no sender runs); its deliveries just pile up, as when the site is down.
 */
function webhookCases(off: ReturnType<typeof prepareDb>, on: ReturnType<typeof prepareDb>, installed: (program: string) => string): Case[] {
  const toggling = (label: string, p: ReturnType<typeof prepareDb>, user: string): Case => {
    let n = 0;
    let last = 0;
    return {
      label,
      db: 'small',
      command: installed('stream-buffer'),
      args: ['STREAM_BUFFER'],
      env: p.env,
      vary: () => {
        last = Math.max(Date.now(), last + 1);
        const state = n++ % 2 === 0 ? 'FULL\n{}' : 'EMPTY';
        return {
          input: `streams+${user}\n${state}`,
          env: { ...p.env, MIST_TRIGGER: 'STREAM_BUFFER', MIST_TIME: String(last), MIST_TUUID: `bench-${label}-${n}` },
        };
      },
    };
  };
  const user = `user${off.mid + 3}`;
  return [toggling('stream-buffer live/offline, no webhook', off, user), toggling('stream-buffer live/offline, 1 webhook', on, user)];
}

/** Peak resident memory (kB) of one run, from GNU time; null when /usr/bin/time is missing. */
/**
 * Runs a command to its end without blocking this process's event loop (the second-push cases'
 * fake MistServer API answers from this process): stdout, stderr, status.
 */
function runAsync(
  command: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string; status: number | null; error?: Error }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => resolvePromise({ stdout, stderr, status: null, error }));
    child.on('close', (status) => resolvePromise({ stdout, stderr, status }));
    child.stdin.end(input);
  });
}

async function peakRssKb(c: Case): Promise<number | null> {
  const run = c.vary?.() ?? c;
  const r = await runAsync('/usr/bin/time', ['-f', '%M', c.command, ...c.args], run.input ?? '', run.env ?? c.env);
  if (r.error) return null;
  const lines = r.stderr.trim().split('\n');
  const kb = Number(lines[lines.length - 1]);
  return Number.isFinite(kb) ? kb : null;
}

async function main(): Promise<void> {
  await buildAll();
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-'));
  const stops: (() => void)[] = [];
  try {
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, MIST_TRIGGER: 'PUSH_REWRITE', MIST_TRIG_DEF: 'x', MIST_TIME: String(Date.now()) };
    const hadCaCerts = baseEnv.NODE_EXTRA_CA_CERTS !== undefined;
    delete baseEnv.NODE_EXTRA_CA_CERTS;
    for (const k of Object.keys(baseEnv)) if (k.startsWith('STREAMCTL_')) delete baseEnv[k];

    // Measure the programs as installed (what MistServer runs): install.sh into a temp prefix.
    const prefix = join(dir, 'prefix');
    const install = spawnSync('bash', [join(ROOT, 'install.sh')], {
      env: { ...baseEnv, PREFIX: prefix, SKIP_BUILD: '1', MIST_USER: '' },
      encoding: 'utf8',
    });
    if (install.status !== 0) throw new Error(`install.sh failed: ${install.stderr}`);
    // An asynchronous trigger's bin/<program> is a detaching sh wrapper that exits at once; what
    // costs CPU and memory is the program it starts, so that is what is measured.
    const installed = (program: string) => {
      const target = realpathSync(join(prefix, 'lib/streamctl/bin', program));
      return target.endsWith('.sh') ? target.replace(/\.sh$/, '.js') : target;
    };

    const fakeMist = await startFakeMistApi();
    stops.push(fakeMist.stop);
    const seedStart = Date.now();
    const small = prepareDb(dir, 'small', SMALL_USERS, 0, 0, baseEnv, fakeMist.url);
    const large = prepareDb(dir, 'large', USERS, SESSIONS, BROADCASTS, baseEnv, fakeMist.url);
    // The small database again, with one webhook endpoint: STREAM_BUFFER writes its events.
    const hooked = prepareDb(dir, 'hooked', SMALL_USERS, 0, 0, baseEnv, fakeMist.url);
    const added = spawnSync(join(ROOT, 'bin/streamctl'), ['webhook', 'add', 'http://127.0.0.1:9/bench'], {
      env: hooked.env,
      encoding: 'utf8',
    });
    if (added.status !== 0) throw new Error(`webhook add: ${added.stderr}`);
    const webhooks = webhookCases(small, hooked, installed);
    const seedSeconds = (Date.now() - seedStart) / 1000;

    const baselines: Case[] = [{ label: 'node -e 0', db: '', command: process.execPath, args: ['-e', '0'], env: baseEnv }];
    const edge = await edgeCases(dir, baseEnv, installed, stops);
    const php = phpCases('small', small);
    const cases: Case[] = [
      ...baselines,
      ...triggerCases('small', small, installed),
      ...triggerCases('large', large, installed),
      ...edge,
      ...webhooks,
      ...php,
      ...phpCases('large', large),
    ];
    for (const c of cases) {
      if (c.expect === undefined) continue;
      const r = await runAsync(c.command, c.args, c.input ?? '', c.env);
      if (r.stdout !== c.expect) throw new Error(`${c.label} (${c.db}): unexpected answer ${JSON.stringify(r.stdout)} ${r.stderr}`);
    }

    const id = (c: Case) => `${c.label}|${c.db}`;
    const times = new Map<string, Timing[]>(cases.map((c) => [id(c), []]));
    for (const c of cases) for (let i = 0; i < 2; i++) await timeOnce(c); // warm the page cache
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
      for (const c of order) times.get(id(c))!.push(await timeOnce(c));
    }
    const rss = new Map<string, number | null>();
    for (const c of cases) {
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const kb = await peakRssKb(c);
        if (kb !== null) runs.push(kb);
      }
      rss.set(id(c), runs.length ? median(runs) : null);
    }

    const exit = (c: Case) => median(times.get(id(c))!.map((t) => t.exit));
    const base = exit(cases[0]!);
    const baseRss = rss.get(id(cases[0]!)) ?? null;
    const fmtRss = (kb: number | null | undefined) => (kb == null ? '   -   ' : `${(kb / 1024).toFixed(1).padStart(5)} MB`);
    console.log(
      `streamctl trigger programs: ${ROUNDS} interleaved rounds, median wall time until exit (= answer), peak RSS from /usr/bin/time (median of 3)`,
    );
    console.log(
      `NODE_EXTRA_CA_CERTS: ${hadCaCerts ? 'set in this shell, UNSET for every measured process' : 'not set'}; node ${process.version}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      `databases: small = ${SMALL_USERS.toLocaleString('en')} users and keys; large = ${USERS.toLocaleString('en')} users and keys, ${SESSIONS.toLocaleString('en')} open viewer sessions, ${BROADCASTS.toLocaleString('en')} broadcasts (seeded in ${seedSeconds.toFixed(0)} s)`,
    );
    console.log(`node -e 0: ${base.toFixed(1)} ms, ${fmtRss(baseRss)}`);
    console.log(
      `  ${'program'.padEnd(36)} ${'small db'.padStart(9)}  ×node  ${'large db'.padStart(9)}  ×node  large/small  peak RSS  ×node`,
    );
    const early: string[] = [];
    const labels = [...new Set(cases.filter((c) => (c.db === 'small' || c.db === 'large') && !webhooks.includes(c)).map((c) => c.label))];
    for (const label of labels) {
      const s = cases.find((c) => c.label === label && c.db === 'small');
      const l = cases.find((c) => c.label === label && c.db === 'large');
      if (!s || !l) continue;
      const es = exit(s);
      const el = exit(l);
      const r = rss.get(id(s)) ?? null;
      console.log(
        `  ${label.padEnd(36)} ${es.toFixed(1).padStart(6)} ms  ${(es / base).toFixed(2)}  ${el.toFixed(1).padStart(6)} ms  ${(el / base).toFixed(2)}  ${((el / es - 1) * 100).toFixed(1).padStart(6)} %   ${fmtRss(r)}  ${r && baseRss ? (r / baseRss).toFixed(2) : '-'}`,
      );
      // Only our blocking programs answer (asynchronous ones print nothing); per run, so that a
      // slow teardown in a few loaded runs does not read as work after the answer.
      for (const c of [s, l]) {
        if (c.expect === '' || c.command === 'php') continue;
        const gap = median(times.get(id(c))!.map((t) => t.exit - t.answer));
        if (gap > EARLY_ANSWER_MS) early.push(`${c.label} (${c.db}) answers ${gap.toFixed(1)} ms before it exits (median per run)`);
      }
    }
    if (edge.length === 0) console.log('  edge USER_NEW: skipped (redis-server is not installed)');
    else {
      // Side by side with the one-box program on the same kind of channel (small db: the edge has none).
      const oneBox = (label: string) => exit(cases.find((c) => c.label === label && c.db === 'small')!);
      const peers: Record<string, string> = {
        'edge-user-new (public channel)': 'user-new (public channel)',
        'edge-user-new (private, JWT + grant)': 'user-new (age channel, JWT)',
        'edge-user-new (capped, Lua on primary)': 'user-new (public channel)',
        'edge-user-new (JWT+jti, viewer-sessions)': 'user-new (paid JWT, viewer-sessions)',
      };
      console.log(
        `  ${'edge program (Redis replica, no db)'.padEnd(36)} ${'time'.padStart(9)}  ×node  ×one-box user-new (small db)  peak RSS  ×node`,
      );
      for (const c of edge) {
        const e = exit(c);
        const r = rss.get(id(c)) ?? null;
        const peer = peers[c.label]!;
        console.log(
          `  ${c.label.padEnd(36)} ${e.toFixed(1).padStart(6)} ms  ${(e / base).toFixed(2)}  ${(e / oneBox(peer)).toFixed(2)} (${peer})  ${fmtRss(r)}  ${r && baseRss ? (r / baseRss).toFixed(2) : '-'}`,
        );
        const gap = median(times.get(id(c))!.map((t) => t.exit - t.answer));
        if (gap > EARLY_ANSWER_MS) early.push(`${c.label} answers ${gap.toFixed(1)} ms before it exits (median per run)`);
      }
    }
    {
      const [off, on] = webhooks.map((c) => exit(c)) as [number, number];
      console.log(`  ${'webhooks: STREAM_BUFFER, a transition each run'.padEnd(36)} ${'small db'.padStart(9)}  ×node  peak RSS  ×node`);
      for (const c of webhooks) {
        const r = rss.get(id(c)) ?? null;
        console.log(
          `  ${c.label.padEnd(36)} ${exit(c).toFixed(1).padStart(6)} ms  ${(exit(c) / base).toFixed(2)}  ${fmtRss(r)}  ${r && baseRss ? (r / baseRss).toFixed(2) : '-'}`,
        );
      }
      console.log(
        `  the webhook event adds ${(on - off).toFixed(1)} ms (${(((on - off) / base) * 100).toFixed(1)} % of node -e 0) to a transition (target < 5 %)`,
      );
    }
    if (php.length === 0) console.log('  PHP peer: skipped (php with pdo_sqlite is not installed)');
    else {
      const ours = (label: string) => exit(cases.find((c) => c.label === label && c.db === 'small')!);
      const peer = (label: string) => exit(cases.find((c) => c.label === label && c.db === 'small')!);
      console.log(
        `  side by side on the small db: push-rewrite ${(ours('push-rewrite (accept)') / peer('PHP peer PUSH_REWRITE')).toFixed(2)}× the PHP peer, user-new (public) ${(ours('user-new (public channel)') / peer('PHP peer USER_NEW (public)')).toFixed(2)}× the PHP peer`,
      );
    }
    // What each ticket feature adds to USER_NEW, against the same kind of admission without it.
    {
      const small = (label: string) => exit(cases.find((c) => c.label === label && c.db === 'small')!);
      const base22 = small('user-new (paid JWT, no jti)');
      const pct = (label: string) => `${(((small(label) - base22) / base) * 100).toFixed(1)} % of node -e 0`;
      console.log(
        `  tickets on the small db, added to a paid JWT admission (${base22.toFixed(1)} ms): a jti (revocation lookup) ${pct('user-new (paid JWT, jti: revoked?)')}; viewer-sessions counted ${pct('user-new (paid JWT, viewer-sessions)')}; evicting the oldest (stop_sessid datagram) ${pct('user-new (paid JWT, evicts oldest)')}`,
      );
    }
    {
      // What the second-push policy adds, against node -e 0: a channel that is not
      // live ("off") runs today's path; a live one asks MistServer (and a takeover stops its encoder).
      const onSmall = (label: string) => exit(cases.find((c) => c.label === label && c.db === 'small')!);
      const off = onSmall('push-rewrite (accept)');
      const added = (label: string) => `${(((onSmall(label) - off) / base) * 100).toFixed(1)} % of node -e 0`;
      console.log(
        `  second push (small db): off = push-rewrite (accept) ${(off / base).toFixed(2)}× node; a live channel adds ${added('push-rewrite (live: refuse, asks API)')} (refuse), ${added('push-rewrite (live: takeover)')} (takeover)`,
      );
    }
    for (const line of early) console.log(`  DEFECT: ${line}: work after the answer is lost when MistServer kills it`);
    console.log('targets: every program <= 1.2x node -e 0 (writes committed before the answer); large db within 10 % of small');
    console.log('open channels skip USER_NEW entirely (tagged `open` on MistServer): see bench/flash-crowd.ts for the real-server count');
  } finally {
    for (const stop of stops) stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
