// `streamctl webhook ...`: signed HTTP notifications to the site's backend (Standard Webhooks,
// docs/webhooks.md). Endpoints and their secrets, what was delivered, and the sender itself.
import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../../lib/duration';
import { UsageError, UserError } from '../../lib/errors';
import {
  deleteWebhookEndpoint,
  enableWebhookEndpoint,
  enqueueTestEvent,
  getWebhookEndpoint,
  getWebhookEvent,
  insertWebhookEndpoint,
  leasedDelivery,
  listDeliveryAttempts,
  listWebhookEndpoints,
  replayWebhookEvent,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from '../../store/webhooks';
import { DELIVERY_TIMEOUT_MS, KEEP_EVENTS_MS, leaseFor, runSender, sendDelivery } from '../../webhooks/sender';
import { newSigningSecret } from '../../webhooks/signing';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';
import { positiveInt } from '../input';
import { webhookDeliveryJson, webhookJson } from '../shapes';

/** Types a site subscribes to (webhook.test goes to one endpoint, on request). */
const SUBSCRIBABLE = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'webhook.test');

function eventList(text: string): WebhookEventType[] {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (names.length === 0) throw new UsageError(`--events is empty: expected a comma-separated list of ${SUBSCRIBABLE.join(', ')}`);
  for (const n of names) {
    if (!(SUBSCRIBABLE as readonly string[]).includes(n))
      throw new UsageError(`unknown event "${n.slice(0, 40)}": expected ${SUBSCRIBABLE.join(', ')}`);
  }
  return names as WebhookEventType[];
}

/** An http(s) URL without credentials in it (they would be shown by every listing). */
function endpointUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid URL "${text.slice(0, 80)}": expected http://host/path or https://host/path`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`invalid URL "${text.slice(0, 80)}": only http and https are sent to`);
  if (url.username !== '' || url.password !== '')
    throw new UsageError('the URL holds a user name or password: listings would show it; the signature authenticates the sender');
  return url.href;
}

function endpointId(ctx: CliContext, text: string): number {
  const id = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(id)) throw new UsageError(`invalid endpoint id "${text.slice(0, 40)}": expected the number \`webhook list\` shows`);
  if (!getWebhookEndpoint(ctx.db(), id)) throw new UserError(`no webhook endpoint ${id} (see streamctl webhook list)`);
  return id;
}

function timeoutOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === null || ms < 100 || ms > 120_000) throw new InvalidArgumentError('expected a duration from 100ms to 2m, such as 15s');
  return ms;
}

export function webhookCommand(ctx: CliContext): Command {
  const cmd = new Command('webhook').description(
    'signed HTTP notifications to the site (Standard Webhooks): endpoints, deliveries, the sender',
  );

  cmd
    .command('add <url>')
    .description('send events to <url>; prints its signing secret (whsec_...) once')
    .option('--events <list>', `comma-separated: ${SUBSCRIBABLE.join(', ')} (default: all)`)
    .option('--json', 'print the endpoint as JSON, with its secret')
    .action((text: string, opts: { events?: string; json?: boolean }) => {
      const url = endpointUrl(text);
      const events = opts.events === undefined ? null : eventList(opts.events);
      const { secret, key } = newSigningSecret();
      const db = ctx.db();
      const id = insertWebhookEndpoint(db, { url, secret: key, events, now: ctx.now() });
      const endpoint = getWebhookEndpoint(db, id)!;
      if (opts.json) return ctx.json(webhookJson(endpoint, secret));
      ctx.out(
        `webhook ${id}: ${url} (${events ? events.join(', ') : 'all events'})\nsigning secret (shown once, store it now): ${secret}\n`,
      );
    });

  cmd
    .command('list')
    .description('show the endpoints (never their secrets)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const endpoints = listWebhookEndpoints(ctx.db());
      if (opts.json) return ctx.json(endpoints.map((e) => webhookJson(e)));
      if (endpoints.length === 0) return ctx.out('no webhook endpoints\n');
      ctx.out(
        table(
          ['ID', 'URL', 'EVENTS', 'STATE', 'ADDED'],
          endpoints.map((e) => [
            String(e.id),
            e.url,
            e.events ? e.events.join(',') : 'all',
            e.disabledAt === null ? 'enabled' : `disabled (${e.disabledReason ?? ''})`,
            shortTime(e.createdAt),
          ]),
        ),
      );
    });

  cmd
    .command('remove <id>')
    .description('stop sending to an endpoint; its queued deliveries are dropped')
    .option('--json', 'print the removed endpoint as JSON (as it was)')
    .action((text: string, opts: { json?: boolean }) => {
      const id = endpointId(ctx, text);
      const endpoint = getWebhookEndpoint(ctx.db(), id)!;
      deleteWebhookEndpoint(ctx.db(), id);
      if (opts.json) return ctx.json(webhookJson(endpoint));
      ctx.out(`webhook ${id} removed\n`);
    });

  cmd
    .command('enable <id>')
    .description('send to an endpoint again after it answered 410 Gone (its waiting deliveries are due at once)')
    .option('--json', 'print the endpoint as JSON')
    .action((text: string, opts: { json?: boolean }) => {
      const id = endpointId(ctx, text);
      const changed = enableWebhookEndpoint(ctx.db(), id, ctx.now());
      if (opts.json) return ctx.json(webhookJson(getWebhookEndpoint(ctx.db(), id)!));
      ctx.out(changed ? `webhook ${id} enabled\n` : `webhook ${id} was enabled already\n`);
    });

  cmd
    .command('deliveries')
    .description('each attempt, newest first: event id, type, endpoint, attempt, HTTP status or error, next attempt')
    .option('--event <id>', 'only this event')
    .option('--endpoint <id>', 'only this endpoint')
    .option('--limit <n>', 'at most n rows', positiveInt, 50)
    .option('--json', 'print JSON')
    .action((opts: { event?: string; endpoint?: string; limit: number; json?: boolean }) => {
      const rows = listDeliveryAttempts(ctx.db(), {
        ...(opts.event !== undefined ? { eventId: opts.event } : {}),
        ...(opts.endpoint !== undefined ? { endpointId: endpointId(ctx, opts.endpoint) } : {}),
        limit: opts.limit,
      });
      if (opts.json) return ctx.json(rows.map(webhookDeliveryJson));
      if (rows.length === 0) return ctx.out('no webhook deliveries\n');
      ctx.out(
        table(
          ['EVENT', 'TYPE', 'ENDPOINT', 'ATTEMPT', 'AT', 'RESULT', 'NEXT ATTEMPT'],
          rows.map((r) => [
            r.eventId,
            r.type,
            String(r.endpointId),
            String(r.attempt),
            shortTime(r.at),
            r.attempt === 0 ? `queued (${r.state})` : r.httpStatus !== null ? `HTTP ${r.httpStatus}` : (r.error ?? ''),
            shortTime(r.nextAt),
          ]),
        ),
      );
    });

  cmd
    .command('test <id>')
    .description('send a webhook.test event to endpoint <id> now and show its answer (retried by the sender if it fails)')
    .option('--json', 'print the attempt as JSON')
    .action(async (text: string, opts: { json?: boolean }) => {
      const id = endpointId(ctx, text);
      const db = ctx.db();
      const now = ctx.now();
      const { deliveryId } = enqueueTestEvent(db, id, now, now + leaseFor(DELIVERY_TIMEOUT_MS));
      const delivery = leasedDelivery(db, deliveryId)!;
      const r = await sendDelivery(db, delivery, { now: () => ctx.now(), log: () => {} });
      const [row] = listDeliveryAttempts(db, { eventId: delivery.eventId, limit: 1 });
      if (opts.json) ctx.json(webhookDeliveryJson(row!));
      else
        ctx.out(
          `webhook.test ${delivery.eventId} to ${delivery.url}: ${r.httpStatus !== null ? `HTTP ${r.httpStatus}` : r.error}${r.nextAt !== null ? `, retried at ${isoTime(r.nextAt)}` : ''}\n`,
        );
      if (r.state !== 'delivered') ctx.answerNo();
    });

  cmd
    .command('replay <event-id>')
    .description('queue an event again for the endpoints it was for (same webhook-id: a receiver that has it drops it)')
    .option('--endpoint <id>', 'only to this endpoint')
    .option('--json', 'print JSON')
    .action((eventId: string, opts: { endpoint?: string; json?: boolean }) => {
      const db = ctx.db();
      const event = getWebhookEvent(db, eventId);
      if (!event)
        throw new UserError(
          `no webhook event ${JSON.stringify(eventId.slice(0, 60))} (events are kept ${KEEP_EVENTS_MS / 86_400_000} days; see streamctl webhook deliveries)`,
        );
      const only = opts.endpoint !== undefined ? endpointId(ctx, opts.endpoint) : undefined;
      const endpoints = replayWebhookEvent(db, eventId, ctx.now(), only);
      if (opts.json) return ctx.json({ event_id: event.id, type: event.type, endpoints });
      if (endpoints.length === 0) return ctx.out(`${event.type} ${event.id}: no endpoint to send it to\n`);
      ctx.out(`${event.type} ${event.id} queued for endpoint(s) ${endpoints.join(', ')}\n`);
    });

  cmd
    .command('deliver')
    .description('the sender: send due deliveries (retried for about a day) until stopped; run as a service')
    .option('--once', 'send what is due now, then exit')
    .option('--timeout <duration>', 'how long an endpoint has to answer', timeoutOption, DELIVERY_TIMEOUT_MS)
    .option('--json', 'print the totals as JSON when it ends')
    .action(async (opts: { once?: boolean; timeout: number; json?: boolean }) => {
      const db = ctx.db();
      const log = (line: string) => ctx.err(`streamctl webhook: ${line}\n`);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        const t = await runSender(db, {
          now: () => ctx.now(),
          timeoutMs: opts.timeout,
          log,
          signal: stop.signal,
          once: opts.once === true,
        });
        if (opts.json) ctx.json({ attempts: t.attempts, delivered: t.delivered, retrying: t.retrying, failed: t.failed });
        else if (opts.once) ctx.out(`${t.attempts} attempt(s): ${t.delivered} delivered, ${t.retrying} to retry, ${t.failed} given up\n`);
        else log(`stopped: ${t.attempts} attempt(s), ${t.delivered} delivered`);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });

  return cmd;
}
