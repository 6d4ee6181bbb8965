// Webhooks on the real MistServer: a real RTMP push going live and offline and its
// recording reach a local HTTP receiver as signed deliveries from the installed sender (`streamctl
// webhook deliver`, as install.sh's service runs it), each verified with the Standard Webhooks
// reference library. The sender is then SIGKILLed while the receiver holds a request open: the
// event is delivered by the next sender, with the same webhook-id.
import Ajv from 'ajv';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, verified, type Receiver } from '../webhooks/receiver';
import { cleanEnv, RealMist, REPO, waitFor } from './harness';

const mist = new RealMist();
const ajv = new Ajv({ allowUnionTypes: true });
for (const f of readdirSync(join(REPO, 'schemas'))) ajv.addSchema(JSON.parse(readFileSync(join(REPO, 'schemas', f), 'utf8')));

let receiver: Receiver;
let secret: string;

/** The installed sender, as the streamctl-webhooks service runs it. */
function sender(...args: string[]): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(join(mist.prefix, 'bin', 'streamctl'), ['webhook', 'deliver', ...args], {
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  mist.track(child);
  return { child, exited: new Promise((r) => child.once('exit', r)) };
}

/** Every request so far, verified (throws on a bad signature) and checked against the body schema. */
function bodies(): any[] {
  return receiver.received.map((r) => {
    const body = verified(secret, r);
    if (!ajv.validate('webhook-event.schema.json', body)) throw new Error(`${ajv.errorsText()}: ${r.body}`);
    expect(r.headers['webhook-id']).toBe(body.id);
    return body;
  });
}
const ofType = (type: string) => bodies().filter((b) => b.type === type);

beforeAll(async () => {
  receiver = await startReceiver();
  await mist.start();
  mist.user('alice');
  mist.ok(['channel', 'set', 'alice', '--record', 'on']);
  secret = mist.scJson(['webhook', 'add', receiver.url]).secret;
});
afterAll(async () => {
  await mist.stop();
  await receiver.close();
});

describe('webhooks from a real broadcast', () => {
  let first: ReturnType<typeof sender>;

  it('stream.live arrives signed within seconds of the push', async () => {
    first = sender('--timeout', '2s');
    const key = mist.scJson<{ key: string }>(['key', 'rotate', 'alice']).key;
    const started = Date.now();
    const push = mist.push('rtmp', key, 8);
    const live = await waitFor('stream.live delivered', () => ofType('stream.live')[0] ?? null, 30_000, 200);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(live).toMatchObject({ channel: 'alice', data: { stream: 'streams+alice', state: 'live', broadcast: { ended_at: null } } });
    expect(live.data.broadcast.id).toBe(mist.scJson<any[]>(['broadcasts', 'alice'])[0].id);
    await push.exited;
  });

  it('stream.offline and recording.ready follow when the push ends, for the same broadcast', async () => {
    const offline = await waitFor('stream.offline delivered', () => ofType('stream.offline')[0] ?? null, 90_000, 500);
    const ready = await waitFor('recording.ready delivered', () => ofType('recording.ready')[0] ?? null, 60_000, 500);
    const [live] = ofType('stream.live');
    expect(offline).toMatchObject({
      channel: 'alice',
      data: { state: 'offline', reason: 'ended', broadcast: { id: live.data.broadcast.id, ended_cleanly: true } },
    });
    const [rec] = mist.scJson<any[]>(['recordings', 'list', 'alice']);
    expect(ready).toMatchObject({
      channel: 'alice',
      data: { recording: { id: rec.id, status: 'ok', bytes: rec.bytes, broadcast_id: live.data.broadcast.id } },
    });
    // One event per change, each delivered once to a receiver that answered 2xx at once.
    expect(
      bodies()
        .map((b) => b.type)
        .sort(),
    ).toEqual(['recording.ready', 'stream.live', 'stream.offline']);
    const attempts = mist.scJson<any[]>(['webhook', 'deliveries']);
    expect(attempts.map((a) => [a.type, a.attempt, a.http_status, a.state]).sort()).toEqual([
      ['recording.ready', 1, 204, 'delivered'],
      ['stream.live', 1, 204, 'delivered'],
      ['stream.offline', 1, 204, 'delivered'],
    ]);
  });

  it('a sender SIGKILLed mid-delivery loses nothing: the next one delivers the same event', async () => {
    const [rec] = mist.scJson<any[]>(['recordings', 'list', 'alice']);
    receiver.replies.push('hang');
    const before = receiver.received.length;
    mist.ok(['recordings', 'delete', rec.id]);
    await receiver.waitFor(before + 1);
    first.child.kill('SIGKILL');
    await first.exited;
    const held = receiver.received[before]!;
    expect(verified(secret, held).type).toBe('recording.deleted');
    expect(mist.scJson<any[]>(['webhook', 'deliveries', '--event', String(held.headers['webhook-id'])])).toMatchObject([
      { attempt: 0, state: 'pending' },
    ]);

    const second = sender('--timeout', '2s');
    try {
      await receiver.waitFor(before + 2, 30_000);
      await waitFor(
        'delivered',
        () => mist.scJson<any[]>(['webhook', 'deliveries', '--event', String(held.headers['webhook-id'])])[0].state === 'delivered',
        10_000,
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const again = receiver.received[before + 1]!;
    expect(again.headers['webhook-id']).toBe(held.headers['webhook-id']);
    expect(again.body).toBe(held.body);
    expect(verified(secret, again).data.recording.id).toBe(rec.id);
    const metrics = mist.ok(['metrics']);
    expect(metrics).toMatch(/^streamctl_webhook_pending 0$/m);
  });
});
