// The sender (`streamctl webhook deliver`): takes due deliveries from SQLite, POSTs each signed
// body to its endpoint, and stores what came of it. An HTTP client only (Node's fetch).
// No event is lost, whenever the process dies:
// - a delivery is leased before it is sent and stays pending until an attempt is stored; a sender
//   killed mid-request leaves the lease to run out, then the next sender sends it again (at least
//   once: the receiver drops the repeat by webhook-id, the same on every attempt);
// - an attempt and the delivery's new state are stored in one transaction after the answer.
import { oneLine } from '../lib/errors';
import { recordEvent } from '../store/events';
import type { Db } from '../store/open';
import {
  claimDueDeliveries,
  disableWebhookEndpoint,
  nextDueAt,
  pruneWebhookEvents,
  recordAttempt,
  type AttemptResult,
  type ClaimedDelivery,
} from '../store/webhooks';
import { writeWithRetry } from '../store/write-retry';
import { signedHeaders } from './signing';

/** How long an endpoint has to answer (the Standard Webhooks spec suggests a short timeout). */
export const DELIVERY_TIMEOUT_MS = 15_000;

/** Delays before each retry (after attempt 1, 2, ...): about a day in all, then it is failed. */
export const RETRY_DELAYS_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000] as const;

/** A Retry-After asking for longer than this is held to it (a day, the whole retry window). */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** Requests under way at once (a slow endpoint holds one place, not the others' deliveries). */
const MAX_IN_FLIGHT = 8;

/** How often an idle sender looks for due deliveries (new events from the triggers). */
export const SENDER_POLL_MS = 500;

/** Events (and their deliveries and attempts) kept after they are done, for `webhook replay`. */
export const KEEP_EVENTS_MS = 7 * 24 * 3_600_000;

const PRUNE_EVERY_MS = 3_600_000;

const USER_AGENT = 'streamctl-webhooks';

export interface SenderOptions {
  now: () => number;
  /** Per-request timeout; the lease is this plus a margin. */
  timeoutMs?: number;
  log: (line: string) => void;
}

/** Seconds or an HTTP date, as ms from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The delivery's state after attempt `attempt` (1-based) failed, honouring a Retry-After. */
export function afterFailure(
  attempt: number,
  now: number,
  retryAfter: number | null,
): { state: 'pending' | 'failed'; nextAt: number | null } {
  const delay = RETRY_DELAYS_MS[attempt - 1];
  if (delay === undefined) return { state: 'failed', nextAt: null };
  return { state: 'pending', nextAt: now + Math.max(delay, Math.min(retryAfter ?? 0, MAX_RETRY_AFTER_MS)) };
}

/** What one POST came to, before it is stored. */
interface Outcome {
  httpStatus: number | null;
  error: string | null;
  retryAfter: number | null;
}

async function post(d: ClaimedDelivery, sentAt: number, timeoutMs: number): Promise<Outcome> {
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      headers: { ...signedHeaders(d.secret, d.eventId, sentAt, d.body), 'user-agent': USER_AGENT },
      body: d.body,
      // A redirect is an answer that is not 2xx: signed bodies are not re-sent to another address.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not read: only the status counts (and reading could outlast the timeout).
    await res.body?.cancel().catch(() => {});
    return { httpStatus: res.status, error: null, retryAfter: retryAfterMs(res.headers.get('retry-after'), sentAt) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const error =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : oneLine(e.cause?.code ?? e.cause?.message ?? e.message);
    return { httpStatus: null, error: error.slice(0, 200), retryAfter: null };
  }
}

/** Sends one leased delivery and stores the attempt; returns it. */
export async function sendDelivery(db: Db, d: ClaimedDelivery, opts: SenderOptions): Promise<AttemptResult> {
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const sentAt = opts.now();
  const o = await post(d, sentAt, timeoutMs);
  const at = opts.now();
  const attempt = d.attempts + 1;
  const ok = o.httpStatus !== null && o.httpStatus >= 200 && o.httpStatus <= 299;
  const gone = o.httpStatus === 410;
  // 410 Gone: the endpoint asks to be dropped (the spec's rule). It is disabled; this delivery
  // and any later ones wait, pending, in case an operator enables it again.
  const next = ok
    ? { state: 'delivered' as const, nextAt: null }
    : gone
      ? { state: 'pending' as const, nextAt: at }
      : afterFailure(attempt, at, o.retryAfter);
  const result: AttemptResult = {
    deliveryId: d.id,
    attempt,
    at,
    httpStatus: o.httpStatus,
    error: o.error,
    durationMs: at - sentAt,
    ...next,
  };
  writeWithRetry(db, () => {
    recordAttempt(db, result);
    if (gone) {
      disableWebhookEndpoint(db, d.endpointId, 'answered 410 Gone', at);
      recordEvent(db, {
        at,
        kind: 'webhook',
        outcome: 'disabled',
        reason: `endpoint ${d.endpointId} answered 410 Gone`,
        detail: d.eventId,
      });
    } else if (result.state === 'failed') {
      recordEvent(db, {
        at,
        kind: 'webhook',
        outcome: 'failed',
        reason: `no 2xx from endpoint ${d.endpointId} after ${attempt} attempts (last: ${o.httpStatus ?? o.error})`,
        detail: d.eventId,
      });
    }
  });
  if (!ok)
    opts.log(
      `${d.type} ${d.eventId} to endpoint ${d.endpointId}: attempt ${attempt} got ${o.httpStatus ?? o.error}${gone ? '; endpoint disabled' : result.nextAt ? `; next in ${Math.round((result.nextAt - at) / 1000)} s` : '; giving up'}`,
    );
  return result;
}

/** What a sender run did. */
export interface SenderTotals {
  attempts: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * The lease: the request's timeout, and as long again to store its outcome. A sender that takes
 * longer (killed, or stalled on a locked database) has the row taken by the next one: sent twice
 * at worst, never lost.
 */
export const leaseFor = (timeoutMs: number) => 2 * timeoutMs;

/**
 * Sends what is due until `signal` aborts (then lets the requests under way finish), or, with
 * `once`, until nothing is due. Up to MAX_IN_FLIGHT requests at a time.
 */
export async function runSender(db: Db, opts: SenderOptions & { once?: boolean; signal?: AbortSignal }): Promise<SenderTotals> {
  const totals: SenderTotals = { attempts: 0, delivered: 0, retrying: 0, failed: 0 };
  const timeoutMs = opts.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const inFlight = new Set<Promise<void>>();
  let lastPrune = 0;
  let wake: (() => void) | null = null;
  opts.signal?.addEventListener('abort', () => wake?.());
  for (;;) {
    if (opts.signal?.aborted) break;
    const now = opts.now();
    const free = MAX_IN_FLIGHT - inFlight.size;
    let claimed: ClaimedDelivery[] = [];
    try {
      if (now - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = now;
        const pruned = writeWithRetry(db, () => pruneWebhookEvents(db, now - KEEP_EVENTS_MS));
        if (pruned > 0) opts.log(`pruned ${pruned} webhook event(s) older than ${KEEP_EVENTS_MS / 86_400_000} days`);
      }
      if (free > 0) claimed = writeWithRetry(db, () => claimDueDeliveries(db, now, now + leaseFor(timeoutMs), free));
    } catch (err) {
      // A database locked for longer than the retries (a backup, a long prune): try again at the
      // next poll; a run-once sender gives up and says why (its cron line runs again).
      if (opts.once) throw err;
      opts.log(`could not read the due deliveries: ${oneLine(err)} (trying again)`);
    }
    for (const d of claimed) {
      const p: Promise<void> = sendDelivery(db, d, opts)
        .then((r) => {
          totals.attempts++;
          if (r.state === 'delivered') totals.delivered++;
          else if (r.state === 'failed') totals.failed++;
          else totals.retrying++;
        })
        .catch((err: unknown) => opts.log(`could not store the attempt of ${d.eventId}: ${oneLine(err)} (sent again once its lease ends)`))
        .finally(() => {
          inFlight.delete(p);
          wake?.();
        });
      inFlight.add(p);
    }
    if (opts.once && inFlight.size === 0) {
      const due = nextDueAt(db);
      if (due === null || due > opts.now()) break;
      continue;
    }
    // Sleep until a request finishes, the next poll, or a stop.
    const wait = claimed.length === free && free > 0 ? 0 : SENDER_POLL_MS;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      function done() {
        clearTimeout(t);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }
  await Promise.all(inFlight);
  return totals;
}
