// After the relay published an admission-relevant change, the edges' MistServers must apply it to
// sessions already running (they cache each admission): the same requests session-effects.ts sends to
// one box, sent to every edge in the `edges` setting. Each channel's `open` tag is set by its state
// now before its viewers are re-checked (an edge whose stream is still tagged open would re-admit
// them without USER_NEW). A failed edge is logged, never fatal: its Redis copy is already right,
// so only sessions admitted before the change keep playing there until their next re-check.
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

/** Sends the effects to every edge (in parallel); returns one line per edge and outcome. */
export async function applyEdgeEffects(db: Db, effects: EdgeEffect[], now: number, log: (line: string) => void): Promise<void> {
  const urls = edgeUrls(db);
  if (effects.length === 0 || urls.length === 0) return;
  const base = getSetting(db, 'stream-base');
  const planned = plan(db, base, effects, now);
  const creds = mistApiCredentials();
  if (creds.problem) log(creds.problem);
  await Promise.all(
    urls.map(async (url) => {
      const conn: MistApiOptions = { url, username: creds.username, password: creds.password, timeoutMs: EDGE_TIMEOUT_MS };
      try {
        for (const p of planned.filter((x) => x.effect.retag)) await mistCall(conn, p.request);
        if (planned.some((p) => p.mustSettle)) await untagSettled();
        for (const p of planned) await mistCall(conn, liveEffectRequest({ kind: 'recheck-viewers', user: p.effect.user, reason: p.effect.reason }, base));
        log(`edge ${url}: re-checking the viewers of ${planned.map((p) => p.stream).join(', ')} (${[...new Set(planned.map((p) => p.effect.reason))].join('; ')})`);
      } catch (err) {
        // Unreachable once is unreachable for the rest of this round: do not wait on it again.
        log(`edge ${url}: not applied to live sessions of ${planned.map((p) => p.stream).join(', ')}: ${oneLine(err)}`);
      }
    }),
  );
}
