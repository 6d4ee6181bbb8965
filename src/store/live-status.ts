// Live status facts (buffer events, stream ends, session ends) and the broadcasts derived from
// them. Facts are append-only and deduplicated (MIST_TUUID and a natural key), and broadcasts are
// re-derived from the buffer events around each new one, so the result does not depend on the
// order or number of deliveries.
import type { Db } from './open';

/** A STREAM_BUFFER state, or LOST: reconcile found the stream gone without an EMPTY. */
export type BufferState = 'FULL' | 'DRY' | 'RECOVER' | 'EMPTY' | 'LOST';

/** The channel state shown to operators and the site. */
export type LiveState = 'live' | 'unstable' | 'offline';

/** Same-millisecond events sort live before end, so the end wins ties. */
const RANK = `CASE state WHEN 'FULL' THEN 0 WHEN 'DRY' THEN 1 WHEN 'RECOVER' THEN 1 WHEN 'EMPTY' THEN 2 ELSE 3 END`;
const ORDER = `at, ${RANK}`;
const NEWEST_FIRST = `at DESC, ${RANK} DESC`;

const isEnd = (state: BufferState) => state === 'EMPTY' || state === 'LOST';

/** The state a buffer event puts a channel in. */
export function stateAfter(state: BufferState | undefined): LiveState {
  if (state === undefined || isEnd(state)) return 'offline';
  return state === 'DRY' ? 'unstable' : 'live';
}

export interface BufferEventInput {
  userId: number;
  at: number;
  state: BufferState;
  issues: string | null;
  /** Parsed health summary as JSON text, or null (EMPTY, LOST, malformed JSON). */
  health: string | null;
  eventId: string;
}

/** Stores a buffer event; false when it was already stored (same event id or same user/time/state). */
export function recordBufferEvent(db: Db, e: BufferEventInput): boolean {
  return (
    db
      .prepare(
        `INSERT INTO buffer_events (user_id, at, state, issues, health, event_id) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(e.userId, e.at, e.state, e.issues, e.health, e.eventId).changes === 1
  );
}

/** The newest buffer event of a channel, which decides its current state. */
export function latestBufferEvent(db: Db, userId: number): { at: number; state: BufferState; issues: string | null } | undefined {
  return db.prepare(`SELECT at, state, issues FROM buffer_events WHERE user_id = ? ORDER BY ${NEWEST_FIRST} LIMIT 1`).get(userId) as
    | { at: number; state: BufferState; issues: string | null }
    | undefined;
}

/** The newest health summary of a channel (JSON text) and when it was reported. */
export function latestHealth(db: Db, userId: number): { at: number; health: string } | undefined {
  return db.prepare('SELECT at, health FROM buffer_events WHERE user_id = ? AND health IS NOT NULL ORDER BY at DESC LIMIT 1').get(userId) as
    | { at: number; health: string }
    | undefined;
}

interface Segment {
  start: number;
  end: number | null;
  cleanly: boolean | null;
}

interface BroadcastSpan {
  id: number;
  started_at: number;
  ended_at: number | null;
  ended_cleanly: number | null;
}

/** Broadcasts are the runs from a live event (FULL/DRY/RECOVER) to the first end event after it. */
function segmentsOf(marks: { at: number; state: BufferState }[]): Segment[] {
  const out: Segment[] = [];
  let open: Segment | null = null;
  for (const m of marks) {
    if (!isEnd(m.state)) {
      if (!open) {
        open = { start: m.at, end: null, cleanly: null };
        out.push(open);
      }
    } else if (open) {
      open.end = m.at;
      open.cleanly = m.state === 'EMPTY';
      open = null;
    }
  }
  return out;
}

const overlaps = (r: BroadcastSpan, s: Segment) => r.started_at <= (s.end ?? Infinity) && s.start <= (r.ended_at ?? Infinity);

/**
 * Re-derives the channel's broadcasts from its buffer events, from the broadcast before `at` on
 * (earlier ones cannot change). Existing rows keep their ids where they still overlap a run; a
 * run that split one gets a new row. Call inside the transaction that stored the event.
 */
export function rebuildBroadcasts(db: Db, userId: number, at: number): void {
  const anchor = (db.prepare('SELECT max(started_at) AS s FROM broadcasts WHERE user_id = ? AND started_at <= ?').get(userId, at) as { s: number | null }).s;
  const from = anchor ?? Number.MIN_SAFE_INTEGER;
  const marks = db.prepare(`SELECT at, state FROM buffer_events WHERE user_id = ? AND at >= ? ORDER BY ${ORDER}`).all(userId, from) as {
    at: number;
    state: BufferState;
  }[];
  const rows = db
    .prepare('SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? AND started_at >= ? ORDER BY started_at')
    .all(userId, from) as BroadcastSpan[];
  const used = new Set<number>();
  const update = db.prepare('UPDATE broadcasts SET started_at = ?, ended_at = ?, ended_cleanly = ? WHERE id = ?');
  const insert = db.prepare('INSERT INTO broadcasts (user_id, started_at, ended_at, ended_cleanly) VALUES (?, ?, ?, ?)');

  for (const seg of segmentsOf(marks)) {
    const candidates = rows.filter((r) => !used.has(r.id));
    const row =
      candidates.find((r) => r.started_at === seg.start) ??
      candidates.find((r) => overlaps(r, seg)) ??
      (seg.end === null ? candidates.find((r) => r.ended_at === null) : undefined);
    const cleanly = seg.cleanly === null ? null : seg.cleanly ? 1 : 0;
    if (!row) {
      insert.run(userId, seg.start, seg.end, cleanly);
      continue;
    }
    used.add(row.id);
    if (row.started_at !== seg.start || row.ended_at !== seg.end || row.ended_cleanly !== cleanly) update.run(seg.start, seg.end, cleanly, row.id);
  }
  // A row no run explains (made before these events were kept) still closes at the next end.
  for (const r of rows) {
    if (used.has(r.id) || r.ended_at !== null) continue;
    const end = marks.find((m) => isEnd(m.state) && m.at >= r.started_at);
    if (end) update.run(r.started_at, end.at, end.state === 'EMPTY' ? 1 : 0, r.id);
  }
}

export interface StreamEndInput {
  userId: number;
  at: number;
  bytesDown: number;
  bytesUp: number;
  viewers: number;
  inputs: number;
  outputs: number;
  viewerSeconds: number;
  eventId: string;
}

/** Stores MistServer's totals for a stream that ended; false when already stored. */
export function recordStreamEnd(db: Db, e: StreamEndInput): boolean {
  return (
    db
      .prepare(
        `INSERT INTO stream_ends (user_id, at, bytes_down, bytes_up, viewers, inputs, outputs, viewer_seconds, event_id)
         VALUES (@userId, @at, @bytesDown, @bytesUp, @viewers, @inputs, @outputs, @viewerSeconds, @eventId) ON CONFLICT DO NOTHING`,
      )
      .run(e).changes === 1
  );
}

/** The first STREAM_END a channel had at or after `at`: lets reconcile date an end MistServer already reported. */
export function firstStreamEndSince(db: Db, userId: number, at: number): number | undefined {
  return (db.prepare('SELECT min(at) AS at FROM stream_ends WHERE user_id = ? AND at >= ?').get(userId, at) as { at: number | null }).at ?? undefined;
}

/**
 * USER_END fires this long after a viewing stops (MistServer's session timeout; 16-20 s in the
 * captures): used to estimate when a viewing began when USER_NEW left no row.
 */
export const USER_END_DELAY_MS = 18_000;

export interface SessionEndInput {
  sessionId: string;
  userId: number;
  /** A live channel stream (`<base>+<user>`) rather than a recording. */
  live: boolean;
  stream: string;
  at: number;
  seconds: number;
  bytesUp: number;
  bytesDown: number;
  ip: string | null;
  connector: string | null;
  eventId: string;
}

/**
 * Stores a viewer session end and folds it into viewer_sessions (creating a closed row when
 * USER_NEW never ran): closed_at is the newest end, seconds and bytes the sums over all ends.
 * Returns false when this end was already stored.
 */
export function recordSessionEnd(db: Db, e: SessionEndInput): boolean {
  const row = db.prepare('SELECT opened_at, closed_at FROM viewer_sessions WHERE session_id = ?').get(e.sessionId) as
    | { opened_at: number; closed_at: number | null }
    | undefined;
  // USER_NEW's opened_at is exact while the row is open; a re-used session id starts a new viewing.
  const startedAt = row && row.closed_at === null && row.opened_at <= e.at ? row.opened_at : e.at - USER_END_DELAY_MS - e.seconds * 1000;
  const inserted =
    db
      .prepare(
        `INSERT INTO session_ends (session_id, user_id, live, stream, started_at, at, seconds, bytes_up, bytes_down, event_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(e.sessionId, e.userId, e.live ? 1 : 0, e.stream, startedAt, e.at, e.seconds, e.bytesUp, e.bytesDown, e.eventId).changes === 1;
  if (!inserted) return false;
  const broadcastId = e.live ? (broadcastForViewing(db, e.userId, startedAt, e.at) ?? null) : null;
  db.prepare(
    `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, ip, connector, opened_at, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING`,
  ).run(e.sessionId, e.userId, broadcastId, e.stream, e.ip, e.connector, startedAt, e.at);
  db.prepare(
    `UPDATE viewer_sessions SET
       closed_at = t.last_end, seconds = t.seconds, bytes_up = t.bytes_up, bytes_down = t.bytes_down,
       last_seen_at = max(last_seen_at, t.last_end), broadcast_id = coalesce(broadcast_id, ?)
     FROM (SELECT max(at) AS last_end, sum(seconds) AS seconds, sum(bytes_up) AS bytes_up, sum(bytes_down) AS bytes_down
             FROM session_ends WHERE session_id = ?) AS t
     WHERE session_id = ?`,
  ).run(broadcastId, e.sessionId, e.sessionId);
  return true;
}

/** How far a viewing's estimated start may lie outside a broadcast and still belong to it. */
const ATTRIBUTION_SLACK_MS = 60_000;

/** The broadcast a viewing that began at `startedAt` (and ended by `endedBy`) watched, if any. */
export function broadcastForViewing(db: Db, userId: number, startedAt: number, endedBy: number): number | undefined {
  const spans = db
    .prepare('SELECT id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND started_at <= ? ORDER BY started_at DESC LIMIT 3')
    .all(userId, endedBy) as { id: number; started_at: number; ended_at: number | null }[];
  return pickBroadcast(spans, startedAt)?.id;
}

/** The span containing `startedAt`, else the nearest within the slack; spans come newest first, which wins ties. */
function pickBroadcast<T extends { started_at: number; ended_at: number | null }>(spans: T[], startedAt: number): T | undefined {
  let best: T | undefined;
  let bestDistance = ATTRIBUTION_SLACK_MS;
  for (const s of spans) {
    const distance = startedAt < s.started_at ? s.started_at - startedAt : s.ended_at !== null && startedAt > s.ended_at ? startedAt - s.ended_at : 0;
    if (distance < bestDistance) {
      best = s;
      bestDistance = distance;
    }
  }
  return best;
}

/** A broadcast with what its viewers and MistServer reported about it. */
export interface BroadcastSummary {
  id: number;
  startedAt: number;
  endedAt: number | null;
  endedCleanly: boolean | null;
  /** Most viewings at once (from session ends and open sessions; an estimate, see docs). */
  peakViewers: number;
  /** Distinct viewer sessions that ended while (or just after) it was live. */
  uniqueViewers: number;
  /** Sum of those sessions' seconds. */
  watchSeconds: number;
  /** Sessions still open (USER_NEW without USER_END), only while live. */
  currentViewers: number;
  /** MistServer's STREAM_END totals, once reported. */
  mistTotals: { at: number; bytesDown: number; bytesUp: number; viewers: number; inputs: number; outputs: number; viewerSeconds: number } | null;
}

interface StreamEndRow {
  at: number;
  bytes_down: number;
  bytes_up: number;
  viewers: number;
  inputs: number;
  outputs: number;
  viewer_seconds: number;
}

/** Peak concurrency of [start, end] intervals. */
function peakOf(intervals: [number, number][]): number {
  const points: [number, number][] = [];
  for (const [s, e] of intervals) points.push([s, 1], [Math.max(s, e), -1]);
  points.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of points) peak = Math.max(peak, (now += d));
  return peak;
}

/** The channel's newest broadcasts (newest first) with viewer figures and MistServer's totals. */
export function broadcastHistory(db: Db, userId: number, liveStream: string, limit: number, now: number): BroadcastSummary[] {
  const spans = db
    .prepare('SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? ORDER BY started_at DESC, id DESC LIMIT ?')
    .all(userId, limit) as BroadcastSpan[];
  if (spans.length === 0) return [];
  const oldest = spans[spans.length - 1]!.started_at;
  const ends = db
    .prepare('SELECT session_id, started_at, at, seconds FROM session_ends WHERE user_id = ? AND live = 1 AND at >= ?')
    .all(userId, oldest) as { session_id: string; started_at: number; at: number; seconds: number }[];
  const byBroadcast = new Map<number, typeof ends>();
  for (const e of ends) {
    const b = pickBroadcast(
      spans.filter((s) => s.started_at <= e.at),
      e.started_at,
    );
    if (b) byBroadcast.set(b.id, [...(byBroadcast.get(b.id) ?? []), e]);
  }
  const streamEnd = db.prepare('SELECT * FROM stream_ends WHERE user_id = ? AND at >= ? AND at < ? ORDER BY at LIMIT 1');
  const openSessions = db.prepare(
    'SELECT opened_at FROM viewer_sessions WHERE user_id = ? AND closed_at IS NULL AND last_seen_at >= ? AND lower(stream) = lower(?)',
  );

  return spans.map((b, i) => {
    const mine = byBroadcast.get(b.id) ?? [];
    const intervals: [number, number][] = mine.map((e) => [e.started_at, e.started_at + Math.max(1, e.seconds) * 1000]);
    let currentViewers = 0;
    if (b.ended_at === null) {
      const open = openSessions.all(userId, b.started_at, liveStream) as { opened_at: number }[];
      currentViewers = open.length;
      for (const o of open) intervals.push([o.opened_at, now]);
    }
    // MistServer reports STREAM_END after the stream's EMPTY: it belongs to the latest broadcast
    // that had ended by then, i.e. it lies between this end and the next (newer) broadcast's end.
    const newer = i > 0 ? spans[i - 1] : undefined;
    const totals =
      b.ended_at === null ? undefined : (streamEnd.get(userId, b.ended_at, newer?.ended_at ?? Number.MAX_SAFE_INTEGER) as StreamEndRow | undefined);
    return {
      id: b.id,
      startedAt: b.started_at,
      endedAt: b.ended_at,
      endedCleanly: b.ended_cleanly === null ? null : b.ended_cleanly === 1,
      peakViewers: peakOf(intervals),
      uniqueViewers: new Set(mine.map((e) => e.session_id)).size,
      watchSeconds: mine.reduce((sum, e) => sum + e.seconds, 0),
      currentViewers,
      mistTotals: totals
        ? {
            at: totals.at,
            bytesDown: totals.bytes_down,
            bytesUp: totals.bytes_up,
            viewers: totals.viewers,
            inputs: totals.inputs,
            outputs: totals.outputs,
            viewerSeconds: totals.viewer_seconds,
          }
        : null,
    };
  });
}

/** Users with an open broadcast, oldest broadcast first. */
export function liveChannels(db: Db): { userId: number; userName: string }[] {
  return db
    .prepare('SELECT u.id AS userId, u.name AS userName FROM broadcasts b JOIN users u ON u.id = b.user_id WHERE b.ended_at IS NULL ORDER BY b.started_at')
    .all() as { userId: number; userName: string }[];
}

/** The channel's newest broadcast (open or closed). */
export function latestBroadcast(db: Db, userId: number): { id: number; startedAt: number; endedAt: number | null; endedCleanly: boolean | null } | undefined {
  const r = db.prepare('SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? ORDER BY started_at DESC, id DESC LIMIT 1').get(userId) as
    | BroadcastSpan
    | undefined;
  return r && { id: r.id, startedAt: r.started_at, endedAt: r.ended_at, endedCleanly: r.ended_cleanly === null ? null : r.ended_cleanly === 1 };
}
