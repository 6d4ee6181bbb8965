// Replication to the edges: how long a change committed in SQLite takes to be readable in
// Redis with `streamctl edge relay` running (the built CLI, its own process, polling every ~100 ms),
// what a full `edge resync` costs at scale, and what the outbox triggers add to a write. Needs
// redis-server (skipped with one line without it). Own redis-server on a unix socket in a temp dir.
//   BENCH_RELAY_USERS   channels in the database (default 10,000, each with a grant)
//   BENCH_RELAY_ROUNDS  changes timed (default 50)
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAll } from '../scripts/build';
import { connectRedis } from '../src/lib/resp';
import { resync } from '../src/replica/relay';
import { keys } from '../src/replica/schema';
import { migrate } from '../src/store/migrate';

const ROOT = resolve(__dirname, '..');
const USERS = Number(process.env.BENCH_RELAY_USERS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 50);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const redisServer = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!redisServer) {
    console.log('bench/relay: redis-server is not installed, skipped');
    return;
  }
  await buildAll();
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-relay-'));
  const socket = join(dir, 'r.sock');
  const redis = spawn(redisServer, ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  let relay: ReturnType<typeof spawn> | undefined;
  try {
    while (!existsSync(socket)) await sleep(20);
    const dbPath = join(dir, 'bench.db');
    const db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    const now = Date.now();
    const user = db.prepare('INSERT INTO users (name, created_at) VALUES (?, ?)');
    const channel = db.prepare('INSERT INTO channels (user_id, updated_at) VALUES (?, ?)');
    const grant = db.prepare('INSERT INTO access_grants (user_id, viewer, created_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < USERS; i++) {
        const id = Number(user.run(`u${i}`, now).lastInsertRowid);
        channel.run(id, now);
        grant.run(id, `viewer-${i}`, now);
      }
    })();

    // What the triggers add to a write: the same UPDATE with replication off and on.
    const toggle = db.prepare('UPDATE users SET disabled = 1 - disabled WHERE id = ?');
    const timeWrites = () => {
      const t0 = process.hrtime.bigint();
      for (let i = 1; i <= 2000; i++) db.transaction(() => toggle.run(i))();
      return Number(process.hrtime.bigint() - t0) / 1e6 / 2000;
    };
    const off = timeWrites();
    const client = await connectRedis(socket, { timeoutMs: 60_000 });
    db.prepare("INSERT INTO settings (name, value) VALUES ('replication', 'redis')").run();
    const on = timeWrites();

    let t0 = performance.now();
    const r = await resync(db, client, Date.now);
    const resyncMs = performance.now() - t0;
    t0 = performance.now();
    const again = await resync(db, client, Date.now);
    const resync2Ms = performance.now() - t0;

    relay = spawn(process.execPath, [join(ROOT, 'bin', 'streamctl'), 'edge', 'relay'], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', STREAMCTL_DB: dbPath, STREAMCTL_REDIS_PRIMARY: socket },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await sleep(1500);
    const latencies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const name = `u${round}`;
      const before = (await client.call('GET', keys.channel(name))) as string;
      const start = performance.now();
      db.prepare('UPDATE users SET disabled = 1 - disabled WHERE name = ?').run(name);
      while (((await client.call('GET', keys.channel(name))) as string) === before) {
        if (performance.now() - start > 10_000) throw new Error('the relay did not publish within 10 s');
        await sleep(1);
      }
      latencies.push(performance.now() - start);
      // Spread the changes over the poll period, as real changes arrive.
      await sleep(37 + (round % 5) * 11);
    }
    client.close();
    db.close();
    console.log(`bench/relay: ${USERS} channels, ${USERS} grants`);
    console.log(`  write with the outbox trigger: ${on.toFixed(3)} ms per transaction (replication off: ${off.toFixed(3)} ms)`);
    console.log(
      `  edge resync: ${r.written} keys in ${resyncMs.toFixed(0)} ms; again (idempotent, ${again.deleted} deleted): ${resync2Ms.toFixed(0)} ms`,
    );
    console.log(
      `  change -> readable in Redis (relay running, polls every 100 ms), ${ROUNDS} changes: p50 ${pct(latencies, 50).toFixed(1)} ms, p90 ${pct(latencies, 90).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
    );
  } finally {
    relay?.kill('SIGTERM');
    redis.kill('SIGKILL');
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
