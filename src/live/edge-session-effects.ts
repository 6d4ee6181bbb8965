// After the relay published an admission-relevant change, the edges' MistServers must apply it to
// sessions already running (they cache each admission): the same requests session-effects.ts sends to
// one box, sent to every edge in the `edges` setting. Each channel's `open` tag is set by its state
// now before its viewers are re-checked (an edge whose stream is still tagged open would re-admit
// them without USER_NEW). A failed edge is logged, never fatal, and the running relay sends it
// again until it answers (EdgeRetryQueue); meanwhile its Redis copy is already right and its own
// `edge watch` untags what is no longer open.
import { mistApiCredentials } from '../config';
import { oneLine } from '../lib/errors';
import { mistCall, type MistApiOptions } from '../mist/api';
import type { EdgeEffect } from '../replica/relay';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { channelTag, liveEffectRequest, untagSettled } from './session-effects';

/** An edge that does not answer must not hold up the relay for long. */
const EDGE_TIMEOUT_MS = 3000;

/** The edges' API URLs from the `edges` setting. */
export function edgeUrls(db: Db): string[] {
  return getSetting(db, 'edges')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

interface Planned {
  stream: string;
  request: Record<string, unknown>;
  /** An untag that may close what was open: the re-check waits for it to settle. */
  mustSettle: boolean;
  effect: EdgeEffect;
}

/** Each channel's tag now, and whether the change can have closed it (then the re-check waits). */
function plan(db: Db, base: string, effects: EdgeEffect[], now: number): Planned[] {
  return effects.map((effect) => {
    const tag = channelTag(db, base, effect.user, now);
    // Closed by bans alone, it may have been open before the change; closed by the user or its
    // policy (and the policy unchanged), it was never open on any edge and no untag is waited for.
    const couldHaveBeenOpen = effect.policyChanged || tag.open || tag.closedBy === 'bans';
    return { stream: tag.stream, request: tag.request, mustSettle: effect.retag && !tag.open && couldHaveBeenOpen, effect };
  });
}

/**
 * Asks every MistServer of the deployment (each edge, and the origin's own mist-api) to stop these
 * sessions (evicted under viewer-sessions on some box). A box that cannot be reached is logged,
 * never retried: its evicted session is refused at its next re-check all the same, and a retry
 * must not hold up the relay's publishing.
 */
export async function stopSessionsEverywhere(db: Db, sessionIds: string[], log: (line: string) => void): Promise<void> {
  if (sessionIds.length === 0) return;
  const urls = [...edgeUrls(db), getSetting(db, 'mist-api')].filter(Boolean);
  if (urls.length === 0)
    return log(`${sessionIds.length} evicted session(s) not stopped: no MistServer API to send them to (edges and mist-api are empty)`);
  const creds = mistApiCredentials();
  const results = await Promise.allSettled(
    urls.map((url) =>
      mistCall({ url, username: creds.username, password: creds.password, timeoutMs: EDGE_TIMEOUT_MS }, { stop_sessid: sessionIds }),
    ),
  );
  results.forEach((r, i) => {
    if (r.status === 'rejected') log(`${urls[i]}: could not stop ${sessionIds.length} evicted session(s): ${oneLine(r.reason)}`);
  });
  log(`asked ${results.filter((r) => r.status === 'fulfilled').length} MistServer(s) to stop ${sessionIds.length} evicted session(s)`);
}

/** Two effects on one channel as one: every reason, retagged or policy-changed if either was. */
function merged(a: EdgeEffect, b: EdgeEffect): EdgeEffect {
  const reasons = [...new Set([...a.reason.split(', '), ...b.reason.split(', ')])];
  return { user: a.user, reason: reasons.join(', '), retag: a.retag || b.retag, policyChanged: a.policyChanged || b.policyChanged };
}

/**
 * Effects an edge did not take (its API unreachable, a refused login), kept per edge and sent again,
 * merged with later ones, until it answers. Re-planned when sent: the tag then follows the
 * channel's state at that time. Held by the running relay only (`--once` does not retry); the
 * edge's own `edge watch` converges its tags without them.
 */
export class EdgeRetryQueue {
  private readonly pending = new Map<string, Map<string, EdgeEffect>>();

  add(url: string, effects: EdgeEffect[]): void {
    const byUser = this.pending.get(url) ?? new Map<string, EdgeEffect>();
    for (const e of effects) {
      const had = byUser.get(e.user);
      byUser.set(e.user, had ? merged(had, e) : e);
    }
    this.pending.set(url, byUser);
  }

  /** Every edge's pending effects, removed from the queue (a failed send adds them back). */
  take(): Map<string, EdgeEffect[]> {
    const out = new Map([...this.pending].map(([url, byUser]) => [url, [...byUser.values()]]));
    this.pending.clear();
    return out;
  }

  /** Edges with something pending. */
  get edges(): number {
    return this.pending.size;
  }
}

/** Retag and re-check on one edge; false (logged) when it did not take them. */
async function applyToEdge(
  db: Db,
  url: string,
  effects: EdgeEffect[],
  now: number,
  log: (line: string) => void,
  retry: string,
): Promise<boolean> {
  const base = getSetting(db, 'stream-base');
  const planned = plan(db, base, effects, now);
  const creds = mistApiCredentials();
  if (creds.problem) log(creds.problem);
  const conn: MistApiOptions = { url, username: creds.username, password: creds.password, timeoutMs: EDGE_TIMEOUT_MS };
  try {
    for (const p of planned.filter((x) => x.effect.retag)) await mistCall(conn, p.request);
    if (planned.some((p) => p.mustSettle)) await untagSettled();
    for (const p of planned)
      await mistCall(conn, liveEffectRequest({ kind: 'recheck-viewers', user: p.effect.user, reason: p.effect.reason }, base));
    log(
      `edge ${url}: re-checking the viewers of ${planned.map((p) => p.stream).join(', ')} (${[...new Set(planned.map((p) => p.effect.reason))].join('; ')})`,
    );
    return true;
  } catch (err) {
    // Unreachable once is unreachable for the rest of this round: do not wait on it again.
    log(`edge ${url}: not applied to live sessions of ${planned.map((p) => p.stream).join(', ')}: ${oneLine(err)}${retry}`);
    return false;
  }
}

/**
 * Sends the effects to every edge (in parallel), one line per edge and outcome. An edge that did
 * not take them goes into `queue` (when given) for retryEdgeEffects.
 */
export async function applyEdgeEffects(
  db: Db,
  effects: EdgeEffect[],
  now: number,
  log: (line: string) => void,
  queue?: EdgeRetryQueue,
): Promise<void> {
  const urls = edgeUrls(db);
  if (effects.length === 0 || urls.length === 0) return;
  const note = queue ? '; kept, sent again until it answers' : '';
  await Promise.all(
    urls.map(async (url) => {
      if (!(await applyToEdge(db, url, effects, now, log, note))) queue?.add(url, effects);
    }),
  );
}

/** Sends each edge what it did not take before (an edge no longer in `edges` is dropped). */
export async function retryEdgeEffects(db: Db, queue: EdgeRetryQueue, now: number, log: (line: string) => void): Promise<void> {
  const urls = new Set(edgeUrls(db));
  await Promise.all(
    [...queue.take()].map(async ([url, effects]) => {
      if (!urls.has(url)) return;
      if (!(await applyToEdge(db, url, effects, now, log, '; kept, sent again until it answers'))) queue.add(url, effects);
    }),
  );
}
