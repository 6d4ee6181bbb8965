// The webhook sender as a service runs it (`streamctl webhook deliver` until SIGTERM), fed by the
// built STREAM_BUFFER program, and killed with SIGKILL at any point: mid-request, between
// requests, while storing. No event is lost: every one reaches the receiver at least once, and
// every delivery ends delivered. What it sends and how: test/webhooks/webhooks.test.ts, in process.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openForCli } from '../../src/store/open';
import { enqueueWebhookEvent } from '../../src/store/webhooks';
import { baseEnv, BIN, cliProcess, fixture, freshDb, runTriggerAsync } from '../support/helpers';
import { sqlOnFile } from '../support/db';
import { startReceiver, verified, type Receiver } from '../webhooks/receiver';

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function startSender(file: string, ...args: string[]): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(join(BIN, 'streamctl'), ['webhook', 'deliver', ...args], {
    env: baseEnv({ STREAMCTL_DB: file }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

async function until(what: string, holds: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const states = (file: string): Record<string, number> =>
  Object.fromEntries(
    (sqlOnFile(file, 'SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state') as { state: string; n: number }[]).map((r) => [
      r.state,
      r.n,
    ]),
  );

describe('streamctl webhook deliver, the program', () => {
  it('sends what the built STREAM_BUFFER program committed, signed, and stops on SIGTERM with exit 0', async () => {
    const file = freshDb();
    expect(cliProcess(file, ['user', 'add', 'alice']).status).toBe(0);
    const add = JSON.parse(cliProcess(file, ['webhook', 'add', receiver.url, '--json']).stdout);
    const health = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;
    const t = Date.now();
    const live = await runTriggerAsync({
      trigger: 'STREAM_BUFFER',
      payload: `streams+alice\nFULL\n${health}`,
      db: file,
      env: { MIST_TIME: String(t), MIST_TUUID: 'p-1' },
    });
    expect(live).toMatchObject({ status: 0, stdout: '' });
    // Committed by the trigger program itself, before it exited.
    expect(sqlOnFile(file, 'SELECT type FROM webhook_events')).toEqual([{ type: 'stream.live' }]);
    const sender = startSender(file);
    try {
      await receiver.waitFor(1);
      await runTriggerAsync({
        trigger: 'STREAM_BUFFER',
        payload: 'streams+alice\nEMPTY',
        db: file,
        env: { MIST_TIME: String(t + 5000), MIST_TUUID: 'p-2' },
      });
      await receiver.waitFor(2);
    } finally {
      sender.child.kill('SIGTERM');
    }
    expect(await sender.exited).toBe(0);
    expect(receiver.received.map((r) => verified(add.secret, r).type)).toEqual(['stream.live', 'stream.offline']);
    expect(sender.stderr()).toMatch(/stopped: 2 attempt\(s\), 2 delivered/);
  });

  it('killed (SIGKILL) mid-request, between requests and while storing, again and again: no event lost', async () => {
    const file = freshDb();
    const add = JSON.parse(cliProcess(file, ['webhook', 'add', receiver.url, '--json']).stdout);
    const db = openForCli(file);
    const ids: string[] = [];
    try {
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < 30; i++)
          ids.push(enqueueWebhookEvent(db, { type: 'stream.live', at: now + i, channel: `c${i}`, userId: null, data: { n: i }, now })!);
      })();
    } finally {
      db.close();
    }
    // The first request is held open, and the sender killed while it waits for the answer.
    receiver.replies.push('hang');
    const first = startSender(file, '--timeout', '1s');
    await receiver.waitFor(1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(states(file)).toEqual({ pending: 30 });

    // Then killed at spread-out moments while answers take a little while (mid-request, between
    // requests, right after an answer while the attempt is stored).
    receiver.otherwise = { status: 200, delayMs: 15 };
    for (const delay of [40, 130, 230, 310]) {
      if (!states(file).pending) break; // all delivered already: nothing left to interrupt
      const s = startSender(file, '--timeout', '1s');
      const seen = receiver.received.length;
      await until('the sender sent something', () => receiver.received.length > seen);
      await new Promise((r) => setTimeout(r, delay % 97));
      s.child.kill('SIGKILL');
      await s.exited;
    }
    // A last sender runs until everything is delivered (the killed ones' leases run out first).
    const last = startSender(file, '--timeout', '1s');
    try {
      await until('every delivery is delivered', () => (states(file).delivered ?? 0) === 30);
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }
    const got = new Set(receiver.received.map((r) => verified(add.secret, r).id as string));
    expect(ids.filter((id) => !got.has(id))).toEqual([]);
    // At least once: repeats are the same event, byte for byte, with the same webhook-id.
    expect(receiver.received.length).toBeGreaterThanOrEqual(30);
    expect(states(file)).toEqual({ delivered: 30 });
    // Six sender starts, each waiting out the killed one's 2 s lease: ~15 s idle, over a minute at a load of 30.
  }, 180_000);
});
