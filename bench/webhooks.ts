// What webhooks add to STREAM_BUFFER, in process and so to the microsecond (a spawned
// program's ±10 % noise at ~50 ms would hide it): the transaction a transition commits
// (applyBufferEvent: buffer event, broadcasts, event log, and the webhook event with its delivery
// rows) on two databases alike but for webhook endpoints, interleaved; and the look-up a transition
// pays when no endpoint exists. Set against `node -e 0` measured in the same run, as the other
// figures are. `npm run bench` runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyBufferEvent } from '../src/live/live-transition';
import { migrate } from '../src/store/migrate';
import { openForCli, openForTrigger, type Db } from '../src/store/open';
import { enqueueWebhookEvent, insertWebhookEndpoint } from '../src/store/webhooks';

const ROUNDS = Number(process.env.BENCH_WEBHOOK_ROUNDS ?? 2000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A migrated database with one channel, opened as a trigger opens it; `endpoints` webhook endpoints. */
function database(dir: string, name: string, endpoints: number): Db {
  const path = join(dir, `${name}.db`);
  const setup = openForCli(path, { create: true });
  migrate(setup);
  setup.prepare('INSERT INTO users (id, name, created_at) VALUES (1, ?, ?)').run('alice', Date.now());
  for (let i = 0; i < endpoints; i++)
    insertWebhookEndpoint(setup, { url: `https://site${i}.example/hooks`, secret: 'AAAA', events: null, now: Date.now() });
  setup.close();
  return openForTrigger(path);
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'streamctl-bench-webhooks-'));
  try {
    const cases = [
      { label: 'no endpoint', db: database(dir, 'off', 0), times: [] as number[] },
      { label: '1 endpoint', db: database(dir, 'one', 1), times: [] as number[] },
      { label: '3 endpoints', db: database(dir, 'three', 3), times: [] as number[] },
    ];
    const lookUp: number[] = [];
    let at = Date.now();
    for (let r = 0; r < ROUNDS; r++) {
      // FULL, EMPTY, FULL, ...: every event is a transition (live or offline), as in a real broadcast.
      const state = r % 2 === 0 ? 'FULL' : 'EMPTY';
      at += 1000;
      for (const c of cases) {
        const start = process.hrtime.bigint();
        const t = applyBufferEvent(
          c.db,
          { userId: 1, at, state, issues: null, health: null, eventId: `${c.label}-${r}` },
          { userName: 'alice', stream: 'streams+alice', now: at },
        );
        c.times.push(Number(process.hrtime.bigint() - start) / 1e3);
        if (t.before === t.after) throw new Error(`${c.label}: round ${r} was no transition`);
      }
      // All that a transition pays when no endpoint exists: the look-up that finds none.
      const start = process.hrtime.bigint();
      if (enqueueWebhookEvent(cases[0]!.db, { type: 'stream.live', at, channel: 'alice', userId: 1, data: {}, now: at }) !== null)
        throw new Error('an event without an endpoint');
      lookUp.push(Number(process.hrtime.bigint() - start) / 1e3);
    }
    const written = cases.map((c) => (c.db.prepare('SELECT count(*) AS n FROM webhook_deliveries').get() as { n: number }).n);
    for (const c of cases) c.db.close();
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const node = median(
      Array.from({ length: 15 }, () => {
        const start = process.hrtime.bigint();
        spawnSync(process.execPath, ['-e', '0'], { env });
        return Number(process.hrtime.bigint() - start) / 1e6;
      }),
    );
    const off = median(cases[0]!.times);
    console.log(
      `\nwebhooks: a STREAM_BUFFER transition's transaction (applyBufferEvent, in process), ${ROUNDS} interleaved rounds, median`,
    );
    console.log(`  node -e 0 in this run: ${node.toFixed(1)} ms`);
    for (const [i, c] of cases.entries()) {
      const us = median(c.times);
      console.log(
        `  ${c.label.padEnd(12)} ${us.toFixed(0).padStart(6)} µs${i === 0 ? '' : `  +${(us - off).toFixed(0)} µs = ${(((us - off) / 1000 / node) * 100).toFixed(2)} % of node -e 0`}   (${written[i]} delivery rows written)`,
      );
    }
    console.log(
      `  with no endpoint, the look-up a transition adds: ${median(lookUp).toFixed(1)} µs = ${((median(lookUp) / 1000 / node) * 100).toFixed(3)} % of node -e 0 (target: nothing measurable off, < 5 % on)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
