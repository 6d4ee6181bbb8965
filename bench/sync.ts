// A big `streamctl sync` and the write lock: BENCH_SYNC_GRANTS (default 600,000)
// grants on one private channel, sent once (every grant new) and then again with 10 changed (the
// nightly case). While each runs, this process takes the write lock every ~10 ms as a push would
// (BEGIN IMMEDIATE, COMMIT): the longest wait is the longest the sync held the lock. The first run
// stages the channel's new grant set in batches (src/site/sync.ts), the second writes its 20 rows
// in the one final transaction.
// Run as `npx tsx bench/sync.ts` (part of `npm run bench`).
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAll } from '../scripts/build';

const ROOT = resolve(__dirname, '..');
const GRANTS = Number(process.env.BENCH_SYNC_GRANTS ?? 600_000);

async function withLockProbe(
  env: NodeJS.ProcessEnv,
  dbPath: string,
  args: string[],
): Promise<{ ms: number; longestWaitMs: number; probes: number }> {
  const probe = new Database(dbPath);
  probe.pragma('busy_timeout = 60000');
  const start = process.hrtime.bigint();
  const child = spawn(join(ROOT, 'bin/streamctl'), args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let running = true;
  const exited = new Promise<number | null>((done) => child.on('close', (s) => ((running = false), done(s))));
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
  probe.close();
  if (status !== 0) throw new Error(`streamctl ${args.join(' ')} exited ${status}: ${stderr}`);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, longestWaitMs, probes };
}

async function main(): Promise<void> {
  await buildAll({ declarations: false });
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-sync-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, STREAMCTL_DB: join(dir, 'bench.db') };
    delete env.NODE_EXTRA_CA_CERTS;
    const streamctl = (...args: string[]) => {
      const r = spawnSync(join(ROOT, 'bin/streamctl'), args, { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`streamctl ${args.join(' ')}: ${r.stderr}`);
    };
    streamctl('db', 'migrate');
    streamctl('user', 'add', 'club');
    streamctl('channel', 'set', 'club', '--access', 'private');
    const doc = (changed: number) => ({
      channels: [
        { user: 'club', grants: Array.from({ length: GRANTS }, (_, i) => ({ viewer: `viewer-${i < changed ? `${i}-new` : i}` })) },
      ],
    });
    const file = join(dir, 'sync.json');
    const rows: [string, { ms: number; longestWaitMs: number; probes: number }][] = [];
    writeFileSync(file, JSON.stringify(doc(0)));
    rows.push([
      `sync, ${GRANTS.toLocaleString('en')} grants, all new`,
      await withLockProbe(env, env.STREAMCTL_DB!, ['sync', file, '--json']),
    ]);
    writeFileSync(file, JSON.stringify(doc(10)));
    rows.push([`sync again, 10 of them changed`, await withLockProbe(env, env.STREAMCTL_DB!, ['sync', file, '--json'])]);
    console.log(
      `sync and the write lock (load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} CPUs)`,
    );
    for (const [label, r] of rows)
      console.log(
        `  ${label.padEnd(40)} ${r.ms.toFixed(0).padStart(7)} ms; longest wait for the write lock ${r.longestWaitMs.toFixed(0)} ms (${r.probes} probes)`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
