// Keeps an edge's `open` tags in step with its own Redis replica. The origin's relay
// asks each edge in `edges` to retag and re-check a channel after a change, but that call can fail
// (the edge's API unreachable from the origin) or never be made (`edges` empty): an edge whose
// stream stayed tagged `open` would go on admitting every new viewer of a channel made private,
// capped or banned, with no USER_NEW. So the edge converges on its own: whenever the replica has
// published something new (sc:meta changes with every publish and resync), and every FULL_PASS_MS
// anyway (a ban that ends, a lost datagram), every live channel stream on this MistServer is
// compared with the replica: open and untagged → tagged; tagged and no longer open → untagged,
// then, once the untag has settled, its sessions re-checked (invalidate_sessions), so viewers
// admitted without a check go through USER_NEW now.
// A replica that cannot answer (cut off: MASTERDOWN) leaves the tags as they are: it cannot say
// what changed, and public channels keep playing there; USER_NEW still refuses every other viewer.
import { abortableSleep } from '../lib/abortable-sleep';
import { oneLine } from '../lib/errors';
import type { RedisClient } from '../lib/resp';
import { activeStreamTags } from '../mist/active-streams';
import { OPEN_TAG, tagRequest } from '../mist/stream-tags';
import { keys } from '../replica/schema';
import { edgeOpenness } from './edge-openness';

/** How often the replica's sc:meta is read (one HMGET over the local socket). */
export const WATCH_POLL_MS = 1000;

/** Every live stream is compared with the replica at least this often, published or not. */
export const FULL_PASS_MS = 30_000;

type Json = Record<string, unknown>;

/** What one pass changed. */
export interface TagPass {
  /** Channel streams compared. */
  checked: number;
  tagged: string[];
  /** Untagged, then re-checked. */
  untagged: string[];
}

/**
 * Compares every live channel stream on this MistServer with the replica and fixes its tag;
 * re-checks the sessions of each stream it untagged once `settle` resolved (the untag must reach
 * MistServer's session re-checks first, or they still see the stream open). Throws on a Redis or
 * API error (nothing after the failing call is sent). `owed`: streams untagged whose re-check has
 * not been sent yet (a pass that failed between the two); kept across passes by the caller.
 */
export async function reconcileTags(
  replica: RedisClient,
  mist: (body: Json) => Promise<Json>,
  now: number,
  settle: () => Promise<void>,
  owed = new Set<string>(),
): Promise<TagPass> {
  const live = activeStreamTags(await mist({ active_streams: { fields: ['tags'], longform: true } }));
  const pass: TagPass = { checked: 0, tagged: [], untagged: [] };
  for (const [stream, tags] of live) {
    const o = await edgeOpenness(replica, stream, now);
    if (o.channel === null) continue;
    pass.checked++;
    const tagged = tags.includes(OPEN_TAG);
    if (o.open === tagged) continue;
    await mist(tagRequest(stream, o.open));
    (o.open ? pass.tagged : pass.untagged).push(stream);
    if (!o.open) owed.add(stream);
  }
  if (owed.size > 0) {
    await settle();
    for (const stream of [...owed]) {
      await mist({ invalidate_sessions: stream });
      owed.delete(stream);
    }
  }
  return pass;
}

export interface TagWatchOptions {
  /** Connects to the local replica (called again after any failure). */
  replica: () => Promise<RedisClient>;
  /** One request to this edge's MistServer API. */
  mist: (body: Json) => Promise<Json>;
  now: () => number;
  /** One line for the operator. */
  log: (line: string) => void;
  /** Waits for an untag to settle (UNTAG_SETTLE_MS). */
  settle: () => Promise<void>;
  signal: AbortSignal;
  /** One pass, then return (a failure throws). */
  once?: boolean;
  pollMs?: number;
  fullPassMs?: number;
}

/** Totals of a watch run. */
export interface WatchTotals {
  passes: number;
  tagged: number;
  untagged: number;
  failures: number;
}

/** Watches until aborted (or, with `once`, makes one pass). Failures are logged once each and retried. */
export async function runTagWatch(o: TagWatchOptions): Promise<WatchTotals> {
  const totals: WatchTotals = { passes: 0, tagged: 0, untagged: 0, failures: 0 };
  let client: RedisClient | undefined;
  let seen: string | undefined;
  let lastPass = 0;
  let failing: string | undefined;
  const owed = new Set<string>();
  try {
    while (!o.signal.aborted) {
      try {
        client ??= await o.replica();
        // Changes with every publish (outbox) and resync (synced_at); MASTERDOWN when cut off.
        const meta = JSON.stringify(await client.call('HMGET', keys.meta, 'outbox', 'synced_at'));
        if (o.once || meta !== seen || owed.size > 0 || o.now() - lastPass >= (o.fullPassMs ?? FULL_PASS_MS)) {
          const pass = await reconcileTags(client, o.mist, o.now(), o.settle, owed);
          seen = meta;
          lastPass = o.now();
          totals.passes++;
          totals.tagged += pass.tagged.length;
          totals.untagged += pass.untagged.length;
          if (pass.untagged.length > 0)
            o.log(`untagged ${pass.untagged.join(', ')} (no longer open in the replica) and re-checked their viewers`);
          if (pass.tagged.length > 0) o.log(`tagged ${pass.tagged.join(', ')} open (open in the replica)`);
        }
        if (failing !== undefined) o.log('the replica and MistServer answer again; tags follow the replica');
        failing = undefined;
      } catch (err) {
        totals.failures++;
        client?.close();
        client = undefined;
        if (o.once) throw err;
        const message = oneLine(err);
        if (failing !== message) o.log(`${message}; tags left as they are, retrying`);
        failing = message;
      }
      if (o.once) break;
      await abortableSleep(o.pollMs ?? WATCH_POLL_MS, o.signal);
    }
  } finally {
    client?.close();
  }
  return totals;
}
