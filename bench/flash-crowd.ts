// Flash crowd against the real MistServer (../shared/mistserver, inside its isolated.sh; this
// script re-runs itself there): BENCH_CROWD (default 1,000) new viewers, each from its own loopback
// address (MistServer bundles one address into one session), join an open channel and then a
// private one with valid tokens. Reported per channel: USER_NEW runs (MistServer's own Prometheus
// counter) and the CPU seconds every process in the namespace spent (MistServer, its sessions and
// the trigger programs they ran, reaped), minus the same span of idle time with both pushes live.
// Target: 0 USER_NEW runs on the open channel. Without the real server: one line, and success.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { buildAll } from '../scripts/build';
import { MIST, RealMist, sleep, waitFor } from '../test/real-mist/harness';

const CROWD = Number(process.env.BENCH_CROWD ?? 1000);
const CONCURRENCY = 25;
const METRICS = 'bench-metrics';
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds of every process in this namespace but this one and the encoders (reaped children included). */
function namespaceCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm === 'ffmpeg' || comm === 'npm' || comm === 'sh' || comm === 'bash') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields 14-17 (utime, stime, cutime, cstime), counted from the state field as index 0 = field 3
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / TICK;
}

async function userNewRuns(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:4242/${METRICS}`)).text();
  const m = text.match(/^mist_trigger_count\{trigger="USER_NEW"\}\s*(\d+)/m);
  return m ? Number(m[1]) : 0;
}

/** One viewer from 127.0.x.y: reads the first bytes of the TS stream, then leaves. */
function viewer(n: number, stream: string, query: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: 8080,
        path: `/${encodeURIComponent(stream)}.ts${query}`,
        localAddress: `127.0.${(n >> 8) & 255}.${n & 255}`,
        timeout: 30_000,
      },
      (res) => {
        res.once('data', () => {
          req.destroy();
          resolve(res.statusCode === 200);
        });
        res.on('end', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function crowd(stream: string, query: string, first: number): Promise<{ admitted: number; seconds: number }> {
  let next = 0;
  let admitted = 0;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CROWD) {
        const n = first + next++;
        if (await viewer(n, stream, query)) admitted++;
      }
    }),
  );
  return { admitted, seconds: (Date.now() - start) / 1000 };
}

async function main(): Promise<void> {
  const lo = spawnSync('ip', ['-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).stdout ?? '';
  if (!lo.includes('198.18.0.1')) {
    if (!existsSync(join(MIST, 'isolated.sh'))) {
      console.log(`flash crowd skipped: no MistServer at ${MIST} (see docs/performance.md)`);
      return;
    }
    await buildAll();
    const r = spawnSync(join(MIST, 'isolated.sh'), ['npx', 'tsx', __filename], {
      stdio: 'inherit',
      env: { ...process.env, STREAMCTL_CROWD_BUILT: '1' },
    });
    process.exit(r.status ?? 1);
  }
  if (!process.env.STREAMCTL_CROWD_BUILT) await buildAll();
  const mist = new RealMist();
  try {
    await mist.start();
    await mist.api({ config: { prometheus: METRICS } });
    mist.ok(['token', 'secret']);
    mist.ok(['config', 'set', 'token-max-ttl', '24h']);
    const alice = mist.push('rtmp', mist.user('alice'), 900);
    const carol = mist.push('rtmp', mist.user('carol'), 900);
    mist.ok(['channel', 'set', 'carol', '--access', 'private']);
    const token = mist.scJson<{ token: string }>(['token', 'issue', 'carol', '--viewer', 'carol', '--ttl', '1h']).token;
    await waitFor(
      'both live',
      () => mist.scJson(['status', 'alice']).state === 'live' && mist.scJson(['status', 'carol']).state === 'live',
      60_000,
    );
    await waitFor(
      'alice tagged open',
      async () => JSON.stringify((await mist.api({ stream_tags: ['streams+alice'] })).stream_tags).includes('open'),
      30_000,
    );
    await sleep(2000);

    // Sessions end (and their processes are reaped) some 15-20 s after the viewers left.
    const SETTLE_MS = 25_000;
    const idle0 = namespaceCpuSeconds();
    await sleep(SETTLE_MS);
    const idlePerSecond = (namespaceCpuSeconds() - idle0) / (SETTLE_MS / 1000);

    const results: string[] = [];
    for (const [label, stream, query, first] of [
      ['open channel (public)', 'streams+alice', '', 256],
      ['private channel, valid tokens', 'streams+carol', `?tkn=${token}`, 256 + CROWD + 256],
    ] as const) {
      const runs0 = await userNewRuns();
      const cpu0 = namespaceCpuSeconds();
      const t0 = Date.now();
      const c = await crowd(stream, query, first);
      await sleep(SETTLE_MS);
      const span = (Date.now() - t0) / 1000;
      const cpu = namespaceCpuSeconds() - cpu0 - idlePerSecond * span;
      const runs = (await userNewRuns()) - runs0;
      results.push(
        `  ${label.padEnd(32)} ${String(c.admitted).padStart(5)} admitted in ${c.seconds.toFixed(1).padStart(5)} s   USER_NEW runs ${String(runs).padStart(5)}   CPU ${cpu.toFixed(1).padStart(6)} s`,
      );
    }
    console.log(
      `flash crowd on the real MistServer 3.10: ${CROWD.toLocaleString('en')} new viewers per channel, ${CONCURRENCY} at a time, each from its own address`,
    );
    console.log(
      `  CPU: every process in the namespace (MistServer, sessions, trigger programs) over the crowd + ${SETTLE_MS / 1000} s, minus idle (${idlePerSecond.toFixed(2)} CPU-s/s with both pushes live)`,
    );
    for (const r of results) console.log(r);
    console.log('  target: 0 USER_NEW runs on the open channel');
    await alice.end();
    await carol.end();
  } finally {
    await mist.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`flash crowd failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
