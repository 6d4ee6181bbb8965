// Recordings at scale: `recordings prune` removing BENCH_PRUNE_N catalogued recordings (small real
// files, default 100,000), and `recordings list` against BENCH_LIST_ROWS rows (default 1,000,000):
// the default page, one channel's page, a deep keyset page, and the whole catalogue streamed.
// Run as `npx tsx bench/prune.ts` (the integrator wires it into `npm run bench`).
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAll } from '../scripts/build';

const ROOT = resolve(__dirname, '..');
const PRUNE_N = Number(process.env.BENCH_PRUNE_N ?? 100_000);
const LIST_ROWS = Number(process.env.BENCH_LIST_ROWS ?? 1_000_000);
const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 1000);
const DAY = 86_400_000;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
function recordingId(): string {
  let id = '';
  for (const b of randomBytes(16)) id += ALPHABET[b & 31];
  return id;
}

function streamctl(env: NodeJS.ProcessEnv, args: string[]): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  // stdout is read in full (like a pipe into jq); maxBuffer covers the streamed full listing
  const r = spawnSync(join(ROOT, 'bin/streamctl'), args, { env, encoding: 'utf8', maxBuffer: 2 * 1024 ** 3 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/** A migrated database with CHANNELS users and recordings-root set. */
function prepare(dir: string, env: NodeJS.ProcessEnv): { dbPath: string; root: string } {
  const dbPath = env.STREAMCTL_DB!;
  const root = join(dir, 'recordings');
  mkdirSync(root);
  streamctl(env, ['db', 'migrate']);
  streamctl(env, ['config', 'set', 'recordings-root', root]);
  const db = new Database(dbPath);
  const insertUser = db.prepare('INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)');
  const insertChannel = db.prepare('INSERT INTO channels (user_id, updated_at) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= CHANNELS; i++) {
      insertUser.run(i, `user${i}`, Date.now());
      insertChannel.run(i, Date.now());
    }
  })();
  db.close();
  return { dbPath, root };
}

/** Inserts `count` rows (and, with files, one small real file each) started `ageMs` ago and earlier. */
function seedRecordings(dbPath: string, root: string, count: number, ageMs: number, withFiles: boolean): void {
  const db = new Database(dbPath);
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    `INSERT INTO recordings (id, user_id, path, format, bytes, duration_ms, started_at, ended_at, status, exit_code, exit_reason, created_at)
     VALUES (?, ?, ?, 'EBML', 512, 60000, ?, ?, 'ok', 'CLEAN_EOF', 'end of stream', ?)`,
  );
  const now = Date.now();
  if (withFiles) for (let u = 1; u <= CHANNELS; u++) mkdirSync(join(root, String(u)), { recursive: true });
  const small = Buffer.alloc(512, 1);
  const BATCH = 50_000;
  for (let done = 0; done < count; done += BATCH) {
    db.transaction(() => {
      for (let i = done; i < Math.min(done + BATCH, count); i++) {
        const user = (i % CHANNELS) + 1;
        const started = now - ageMs - i * 60_000;
        const path = join(root, String(user), `${i}.mkv`);
        if (withFiles) writeFileSync(path, small);
        insert.run(recordingId(), user, path, started, started + 60_000, now);
      }
    })();
  }
  db.close();
}

/**
 * Runs `streamctl args` while this process asks for the write lock every ~10 ms (BEGIN IMMEDIATE,
 * COMMIT), as a push would: the longest wait is the longest any transaction of the command held
 * the lock (a checkpoint does not hold it). Also the command's CPU time (user + system).
 */
async function streamctlWithLockProbe(
  env: NodeJS.ProcessEnv,
  dbPath: string,
  args: string[],
): Promise<{ ms: number; cpuMs: number; stdout: string; longestWaitMs: number; probes: number }> {
  const probe = new Database(dbPath);
  probe.pragma('busy_timeout = 60000');
  const start = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', join(ROOT, 'bin/streamctl'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('close', done));
  let running = true;
  void exited.then(() => (running = false));
  let longestWaitMs = 0;
  let probes = 0;
  while (running) {
    const t0 = process.hrtime.bigint();
    probe.exec('BEGIN IMMEDIATE');
    longestWaitMs = Math.max(longestWaitMs, Number(process.hrtime.bigint() - t0) / 1e6);
    probe.exec('COMMIT');
    probes++;
    await new Promise((r) => setTimeout(r, 10));
  }
  const status = await exited;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  probe.close();
  if (status !== 0) throw new Error(`streamctl ${args.join(' ')} exited ${status}: ${stderr}`);
  const [user, sys] = stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, stdout, longestWaitMs, probes };
}

function countFiles(root: string): number {
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

function main(): Promise<void> | void {
  return buildAll().then(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const results: [string, number][] = [];

    // Prune: every recording is past a 30 d retention.
    const pruneDir = mkdtempSync(join(tmpdir(), 'streamctl-bench-prune-'));
    try {
      env.STREAMCTL_DB = join(pruneDir, 'bench.db');
      const { dbPath, root } = prepare(pruneDir, env);
      seedRecordings(dbPath, root, PRUNE_N, 31 * DAY, true);
      const pruned = await streamctlWithLockProbe(env, dbPath, ['recordings', 'prune', '--older-than', '30d', '--json']);
      const summary = JSON.parse(pruned.stdout) as { deleted: number; failed: number };
      if (summary.deleted !== PRUNE_N || summary.failed !== 0 || countFiles(root) !== 0)
        throw new Error(`prune did not remove everything: ${pruned.stdout.slice(0, 300)}`);
      results.push([`recordings prune: ${PRUNE_N.toLocaleString('en')} recordings (files and rows)`, pruned.ms]);
      results.push([`  its CPU time (user + system)`, pruned.cpuMs]);
      results.push([`  longest wait for the write lock during it (${pruned.probes} probes)`, pruned.longestWaitMs]);
    } finally {
      rmSync(pruneDir, { recursive: true, force: true });
    }

    // List: rows only (no files needed to list).
    const listDir = mkdtempSync(join(tmpdir(), 'streamctl-bench-list-'));
    try {
      env.STREAMCTL_DB = join(listDir, 'bench.db');
      const { dbPath, root } = prepare(listDir, env);
      seedRecordings(dbPath, root, LIST_ROWS, DAY, false);
      const rows = LIST_ROWS.toLocaleString('en');
      const page = streamctl(env, ['recordings', 'list', '--json']);
      const firstPage = JSON.parse(page.stdout) as { id: string }[];
      results.push([`recordings list --json (newest 100 of ${rows})`, page.ms]);
      results.push([
        `recordings list user7 --json (one channel of ${CHANNELS})`,
        streamctl(env, ['recordings', 'list', 'user7', '--json']).ms,
      ]);
      const deep = JSON.parse(streamctl(env, ['recordings', 'list', '--limit', '1', '--json']).stdout) as { id: string }[];
      results.push([
        `recordings list --before <id> --limit 100 (keyset page)`,
        streamctl(env, ['recordings', 'list', '--before', deep[0]!.id, '--limit', '100', '--json']).ms,
      ]);
      const all = streamctl(env, ['recordings', 'list', '--all', '--json']);
      const lines = all.stdout.split('\n').length - 3;
      if (firstPage.length !== Math.min(100, LIST_ROWS) || lines !== LIST_ROWS)
        throw new Error(`unexpected listing sizes ${firstPage.length} / ${lines}`);
      results.push([`recordings list --all --json (${rows} rows streamed)`, all.ms]);
      results.push([`streamctl --version (CLI start-up, for scale)`, streamctl(env, ['--version']).ms]);
    } finally {
      rmSync(listDir, { recursive: true, force: true });
    }

    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} CPUs`,
    );
    const width = Math.max(...results.map(([label]) => label.length));
    for (const [label, ms] of results) console.log(`${label.padEnd(width)}  ${ms.toFixed(0).padStart(7)} ms`);
  });
}

if (require.main === module) {
  Promise.resolve(main()).catch((err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
