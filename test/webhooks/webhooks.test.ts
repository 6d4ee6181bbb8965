// Webhooks in process: the captured STREAM_BUFFER and a RECORDING_END through their
// trigger modules leave events in the same transaction as their state change; `webhook deliver`
// (the CLI in process, Node's fetch) POSTs them to a local receiver, and every request is verified
// with the Standard Webhooks reference library (standardwebhooks on npm) and the body schema.
import Ajv from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyBufferEvent } from '../../src/live/live-transition';
import type { Db } from '../../src/store/open';
import { enqueueWebhookEvent } from '../../src/store/webhooks';
import { afterFailure, retryAfterMs, RETRY_DELAYS_MS } from '../../src/webhooks/sender';
import { signatureHeader } from '../../src/webhooks/signing';
import { startFakeMist } from '../support/fake-mist';
import { ROOT } from '../support/helpers';
import { parsePrometheusText } from '../support/prometheus-text';
import { empty, full, deliver } from '../live/deliveries';
import { record, setup } from '../recordings/support';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb, row, rows } from '../support/db';
import { startReceiver, verified, type Receiver } from './receiver';

const ajv = new Ajv({ allowUnionTypes: true });
for (const f of readdirSync(join(ROOT, 'schemas'))) ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', f), 'utf8')));
const validBody = (body: unknown) => {
  const ok = ajv.validate('webhook-event.schema.json', body);
  if (!ok) throw new Error(`body does not match schemas/webhook-event.schema.json: ${ajv.errorsText()} in ${JSON.stringify(body)}`);
};

let receiver: Receiver;
beforeEach(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
});

async function addEndpoint(db: Db, url: string, ...extra: string[]): Promise<{ id: number; secret: string }> {
  const e = await cliJson(db, ['webhook', 'add', url, ...extra]);
  return { id: e.id, secret: e.secret };
}

const deliverOnce = (db: Db, now?: () => number, ...extra: string[]) =>
  cliJson(db, ['webhook', 'deliver', '--once', ...extra], now ? { now } : {});
const count = (db: Db, table: string) => row<{ n: number }>(db, `SELECT count(*) AS n FROM ${table}`)!.n;

describe('events from the triggers, delivered signed', () => {
  it('live, offline, a recording and its deletion arrive signed, verified by standardwebhooks, in the body schema', async () => {
    const { db, root, alice } = await setup();
    const { secret } = await addEndpoint(db, receiver.url);
    const t0 = Date.now() - 60_000;
    deliver(db, full('streams+alice', t0));
    deliver(db, full('streams+alice', t0 + 1000)); // repeated FULL: no transition, no event
    deliver(db, empty('streams+alice', t0 + 30_000));
    const rec = record(db, root, alice, Math.floor((t0 + 1000) / 1000));
    expect((await cli(db, ['recordings', 'delete', rec.id])).status).toBe(0);
    expect(count(db, 'webhook_events')).toBe(4);

    expect(await deliverOnce(db)).toEqual({ attempts: 4, delivered: 4, retrying: 0, failed: 0 });
    const bodies = receiver.received.map((r) => verified(secret, r));
    expect(bodies.map((b) => b.type).sort()).toEqual(['recording.deleted', 'recording.ready', 'stream.live', 'stream.offline']);
    for (const [i, b] of bodies.entries()) {
      validBody(b);
      expect(b.channel).toBe('alice');
      expect(receiver.received[i]!.headers['webhook-id']).toBe(b.id);
      expect(receiver.received[i]!.headers['content-type']).toBe('application/json');
    }
    const live = bodies.find((b) => b.type === 'stream.live');
    expect(live).toMatchObject({
      time: new Date(t0).toISOString(),
      data: { stream: 'streams+alice', state: 'live', broadcast: { ended_at: null } },
    });
    const offline = bodies.find((b) => b.type === 'stream.offline');
    expect(offline.data).toMatchObject({
      state: 'offline',
      reason: 'ended',
      broadcast: { id: live.data.broadcast.id, ended_at: new Date(t0 + 30_000).toISOString() },
    });
    expect(bodies.find((b) => b.type === 'recording.ready').data.recording).toMatchObject({ id: rec.id, status: 'ok', bytes: 1426133 });
    expect(bodies.find((b) => b.type === 'recording.deleted').data.recording.id).toBe(rec.id);

    // Every attempt shows in `webhook deliveries`, delivered; nothing left to send.
    const attempts = await cliJson(db, ['webhook', 'deliveries']);
    expect(attempts).toHaveLength(4);
    expect(
      attempts.every((a: any) => a.state === 'delivered' && a.attempt === 1 && a.http_status === 204 && a.next_attempt_at === null),
    ).toBe(true);
    expect(await deliverOnce(db)).toEqual({ attempts: 0, delivered: 0, retrying: 0, failed: 0 });
  });

  it("the signature is HMAC-SHA256 of id.timestamp.body under the secret's bytes (the spec's own example)", () => {
    // From the Standard Webhooks spec's test vectors (libraries/javascript/src/index.test.ts).
    const key = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    expect(signatureHeader(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('with no endpoint nothing is written; with --events only those types are', async () => {
    const db = memoryDb();
    await addUser(db, 'bob');
    const t0 = Date.now();
    deliver(db, full('streams+bob', t0));
    deliver(db, empty('streams+bob', t0 + 1000));
    expect([count(db, 'webhook_events'), count(db, 'webhook_deliveries')]).toEqual([0, 0]);
    const { secret } = await addEndpoint(db, receiver.url, '--events', 'stream.offline');
    deliver(db, full('streams+bob', t0 + 2000));
    deliver(db, empty('streams+bob', t0 + 3000));
    await deliverOnce(db);
    expect(receiver.received.map((r) => verified(secret, r).type)).toEqual(['stream.offline']);
  });

  it('an event commits with its state change: a rolled-back change leaves no event', async () => {
    const db = memoryDb();
    await addUser(db, 'carol');
    await addEndpoint(db, receiver.url);
    const userId = row<{ id: number }>(db, "SELECT id FROM users WHERE name = 'carol'")!.id;
    expect(() =>
      db.transaction(() => {
        applyBufferEvent(
          db,
          { userId, at: Date.now(), state: 'FULL', issues: null, health: null, eventId: 'rolled-back' },
          { userName: 'carol', stream: 'streams+carol', now: Date.now() },
        );
        expect(count(db, 'webhook_events')).toBe(1);
        throw new Error('the state change fails after the event was written');
      })(),
    ).toThrow(/state change fails/);
    expect([count(db, 'webhook_events'), count(db, 'webhook_deliveries'), count(db, 'buffer_events')]).toEqual([0, 0, 0]);
  });

  it('status --reconcile closing a broadcast MistServer lost sends stream.offline with reason lost', async () => {
    const db = memoryDb();
    await addUser(db, 'fay');
    const { secret } = await addEndpoint(db, receiver.url, '--events', 'stream.offline');
    deliver(db, full('streams+fay', Date.now() - 3_600_000));
    const mist = await startFakeMist({ activeStreams: [] });
    expect((await cli(db, ['status', '--reconcile', '--api', mist.url])).status).toBe(0);
    await deliverOnce(db);
    const [offline] = receiver.received.map((r) => verified(secret, r));
    validBody(offline);
    expect(offline).toMatchObject({
      type: 'stream.offline',
      channel: 'fay',
      data: { reason: 'lost', broadcast: { ended_cleanly: false } },
    });
  });

  it('unstable and stable again are events too', async () => {
    const db = memoryDb();
    await addUser(db, 'dan');
    const { secret } = await addEndpoint(db, receiver.url);
    const t0 = Date.now();
    deliver(db, full('streams+dan', t0));
    deliver(db, {
      trigger: 'STREAM_BUFFER',
      payload: `streams+dan\nDRY\n{"issues":"video buffer low"}`,
      env: { MIST_TIME: String(t0 + 1000), MIST_TUUID: 'dry' },
    });
    deliver(db, {
      trigger: 'STREAM_BUFFER',
      payload: `streams+dan\nRECOVER\n{}`,
      env: { MIST_TIME: String(t0 + 2000), MIST_TUUID: 'rec' },
    });
    await deliverOnce(db);
    const bodies = receiver.received.map((r) => verified(secret, r));
    bodies.forEach(validBody);
    expect(bodies.map((b) => b.type).sort()).toEqual(['stream.live', 'stream.stable', 'stream.unstable']);
  });
});

describe('retries, Retry-After, 410, timeouts', () => {
  it('retries on the schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h), then gives up and says so in events', async () => {
    const db = memoryDb();
    await addUser(db, 'erin');
    const { id } = await addEndpoint(db, receiver.url);
    let now = Date.now();
    const clock = () => now;
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'erin', userId: null, data: {}, now });
    receiver.otherwise = { status: 500 };
    const seen: number[] = [];
    for (let attempt = 1; attempt <= 7; attempt++) {
      const r = await deliverOnce(db, clock);
      expect(r.attempts, `attempt ${attempt}`).toBe(1);
      const [last] = await cliJson(db, ['webhook', 'deliveries', '--limit', '1']);
      expect(last).toMatchObject({ attempt, http_status: 500, endpoint: id });
      if (attempt < 7) {
        const wait = Date.parse(last.next_attempt_at) - Date.parse(last.at);
        seen.push(Math.round(wait / 1000));
        // Not due before its time.
        now += wait - 1000;
        expect((await deliverOnce(db, clock)).attempts).toBe(0);
        now += 1000;
      } else {
        expect(last).toMatchObject({ state: 'failed', next_attempt_at: null });
      }
    }
    expect(seen).toEqual(RETRY_DELAYS_MS.map((ms) => ms / 1000));
    const [ev] = await cliJson(db, ['events', '--kind', 'webhook'], { now: clock });
    expect(ev).toMatchObject({ kind: 'webhook', outcome: 'failed' });
    expect(ev.reason).toMatch(/after 7 attempts \(last: 500\)/);
  });

  it('honours Retry-After (seconds and HTTP date), never earlier than the schedule', () => {
    const now = Date.parse('2026-12-07T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 01:00:00 GMT', now)).toBe(3_600_000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(afterFailure(1, now, 120_000)).toEqual({ state: 'pending', nextAt: now + 120_000 });
    expect(afterFailure(2, now, 120_000)).toEqual({ state: 'pending', nextAt: now + 300_000 });
    expect(afterFailure(1, now, 40 * 3_600_000)).toEqual({ state: 'pending', nextAt: now + 24 * 3_600_000 });
    expect(afterFailure(7, now, null)).toEqual({ state: 'failed', nextAt: null });
  });

  it('a 429 with Retry-After is retried when it asked', async () => {
    const db = memoryDb();
    const { secret } = await addEndpoint(db, receiver.url);
    let now = Date.now();
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'x', userId: null, data: {}, now });
    receiver.replies.push({ status: 429, headers: { 'retry-after': '90' } });
    expect((await deliverOnce(db, () => now)).retrying).toBe(1);
    const [a] = await cliJson(db, ['webhook', 'deliveries']);
    expect(Date.parse(a.next_attempt_at) - Date.parse(a.at)).toBe(90_000);
    now += 90_000;
    expect((await deliverOnce(db, () => now)).delivered).toBe(1);
    // The same id on the retry: the receiver deduplicates by it.
    expect(receiver.received[0]!.headers['webhook-id']).toBe(receiver.received[1]!.headers['webhook-id']);
    expect(receiver.received[0]!.body).toBe(receiver.received[1]!.body);
    expect(() => verified(secret, receiver.received[0]!)).not.toThrow();
  });

  it('410 Gone disables the endpoint (an event says so); enable sends what waited', async () => {
    const db = memoryDb();
    const { id } = await addEndpoint(db, receiver.url);
    const now = Date.now();
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'x', userId: null, data: {}, now });
    receiver.replies.push({ status: 410 });
    await deliverOnce(db);
    expect((await cliJson(db, ['webhook', 'list']))[0]).toMatchObject({ id, state: 'disabled', disabled_reason: 'answered 410 Gone' });
    expect((await cliJson(db, ['events', '--kind', 'webhook']))[0]).toMatchObject({ outcome: 'disabled' });
    // Disabled: new events are not queued for it, waiting ones are not sent.
    expect(enqueueWebhookEvent(db, { type: 'stream.offline', at: now, channel: 'x', userId: null, data: {}, now })).toBeNull();
    expect((await deliverOnce(db)).attempts).toBe(0);
    expect((await cliJson(db, ['webhook', 'enable', String(id)])).state).toBe('enabled');
    expect(await deliverOnce(db)).toMatchObject({ attempts: 1, delivered: 1 });
  });

  it('an endpoint that does not answer times out, refused connections are errors; both retried', async () => {
    const db = memoryDb();
    await addEndpoint(db, receiver.url);
    const closed = await startReceiver();
    await closed.close(); // a port nothing listens on any more
    await addEndpoint(db, closed.url);
    const now = Date.now();
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'x', userId: null, data: {}, now });
    receiver.replies.push('hang');
    expect(await deliverOnce(db, undefined, '--timeout', '300ms')).toMatchObject({ attempts: 2, retrying: 2 });
    const errors = (await cliJson(db, ['webhook', 'deliveries'])).map((a: any) => a.error).sort();
    expect(errors).toEqual(['ECONNREFUSED', 'no answer within 0.3 s']);
  });
});

describe('the CLI', () => {
  it("the secret is shown once: never in list, deliveries, remove or the sender's log", async () => {
    const db = memoryDb();
    const add = await cli(db, ['webhook', 'add', receiver.url]);
    const secret = /signing secret \(shown once, store it now\): (whsec_\S+)/.exec(add.stdout)![1]!;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const now = Date.now();
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'x', userId: null, data: {}, now });
    receiver.replies.push({ status: 500 });
    const outputs = [
      await cli(db, ['webhook', 'list']),
      await cli(db, ['webhook', 'list', '--json']),
      await cli(db, ['webhook', 'deliver', '--once']),
      await cli(db, ['webhook', 'deliveries']),
      await cli(db, ['webhook', 'deliveries', '--json']),
      await cli(db, ['events', '--json']),
      await cli(db, ['metrics']),
      await cli(db, ['webhook', 'remove', '1', '--json']),
    ];
    const key = secret.slice('whsec_'.length);
    for (const o of outputs) expect(o.stdout + o.stderr).not.toContain(key);
  });

  it('test sends a signed webhook.test now; replay re-sends an event with the same id', async () => {
    const db = memoryDb();
    const { id, secret } = await addEndpoint(db, receiver.url);
    const t = await cliJson(db, ['webhook', 'test', String(id)]);
    expect(t).toMatchObject({ type: 'webhook.test', attempt: 1, http_status: 204, state: 'delivered' });
    const body = verified(secret, receiver.received[0]!);
    validBody(body);
    expect(body).toMatchObject({ type: 'webhook.test', id: t.event_id, channel: null });

    const replay = await cliJson(db, ['webhook', 'replay', t.event_id]);
    expect(replay).toEqual({ event_id: t.event_id, type: 'webhook.test', endpoints: [id] });
    await deliverOnce(db);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers['webhook-id']).toBe(t.event_id);
    expect(verified(secret, receiver.received[1]!)).toEqual(body);

    receiver.otherwise = { status: 503 };
    const failed = await cli(db, ['webhook', 'test', String(id)]);
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/HTTP 503, retried at /);
  });

  it('refuses what it cannot use, naming the problem', async () => {
    const db = memoryDb();
    const cases: [string[], RegExp][] = [
      [['webhook', 'add', 'ftp://example.com/x'], /only http and https/],
      [['webhook', 'add', 'not a url'], /invalid URL/],
      [['webhook', 'add', 'https://user:pw@example.com/x'], /user name or password/],
      [['webhook', 'add', 'https://example.com/x', '--events', 'stream.live,stream.exploded'], /unknown event "stream.exploded"/],
      [['webhook', 'remove', '7'], /no webhook endpoint 7/],
      [['webhook', 'test', 'x'], /invalid endpoint id/],
      [['webhook', 'replay', 'msg_nope'], /no webhook event "msg_nope"/],
      [['webhook', 'deliver', '--timeout', 'forever'], /expected a duration/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('metrics show endpoints by state, what is pending and how old, what was delivered and what failed', async () => {
    const db = memoryDb();
    await addEndpoint(db, receiver.url);
    let now = Date.now();
    const clock = () => now;
    for (const type of ['stream.live', 'stream.offline'] as const)
      enqueueWebhookEvent(db, { type, at: now, channel: 'x', userId: null, data: {}, now });
    receiver.replies.push({ status: 204 }, { status: 502 });
    await deliverOnce(db, clock);
    now += 2000;
    const m = parsePrometheusText((await cli(db, ['metrics'], { now: clock })).stdout);
    const values = (name: string) => m.get(name)!.samples.map((x) => [x.labels, x.value]);
    expect(values('streamctl_webhook_endpoints')).toEqual([
      [{ state: 'enabled' }, 1],
      [{ state: 'disabled' }, 0],
    ]);
    expect(values('streamctl_webhook_pending')).toEqual([[{}, 1]]);
    expect(values('streamctl_webhook_oldest_pending_age_seconds')).toEqual([[{}, 2]]);
    expect(values('streamctl_webhook_deliveries')).toEqual([
      [{ outcome: 'delivered' }, 1],
      [{ outcome: 'failed' }, 0],
    ]);
    expect(values('streamctl_webhook_failed_attempts')).toEqual([[{}, 1]]);
  });

  it("remove drops the endpoint's queued deliveries", async () => {
    const db = memoryDb();
    const { id } = await addEndpoint(db, receiver.url);
    const now = Date.now();
    enqueueWebhookEvent(db, { type: 'stream.live', at: now, channel: 'x', userId: null, data: {}, now });
    expect((await cli(db, ['webhook', 'remove', String(id)])).stdout).toBe(`webhook ${id} removed\n`);
    expect(rows(db, 'SELECT * FROM webhook_deliveries')).toEqual([]);
    expect((await deliverOnce(db)).attempts).toBe(0);
  });
});
