// Broadcasts: one row per time a channel was live (ended_at is NULL while live), re-derived from
// the buffer events around each new one, so the result does not depend on the order or number of
// deliveries; and what viewers and MistServer reported about each.
import { isEnd, ORDER, type BufferState } from './buffer-events';
import type { Db } from './open';
import { stmt } from './statements';

export interface Broadcast {
  id: number;
  userId: number;
  startedAt: number;
  endedAt: number | null;
}

interface BroadcastRow {
  id: number;
  user_id: number;
  started_at: number;
  ended_at: number | null;
}

function toBroadcast(r: BroadcastRow): Broadcast {
  return { id: r.id, userId: r.user_id, startedAt: r.started_at, endedAt: r.ended_at };
}

/** The channel's broadcast that is live now, if any. */
export function findOpenBroadcast(db: Db, userId: number): Broadcast | undefined {
  const r = stmt(db, 'SELECT id, user_id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND ended_at IS NULL').get(userId) as
    | BroadcastRow
    | undefined;
  return r && toBroadcast(r);
}

/**
 * How far apart a recording and a broadcast with no time in common may be and still belong
 * together: a push too short to reach STREAM_BUFFER FULL is recorded all the same.
 */
const RECORDING_SLACK_MS = 10_000;

/**
 * The broadcast a recording of [startedAt, endedAt] belongs to: the one it shares the most time
 * with, else the nearest within RECORDING_SLACK_MS. The recorder starts when the push does
 * (PUSH_OUT_START), seconds before the broadcast opens at STREAM_BUFFER FULL, and may stop after
 * the EMPTY that closed it, so neither its start, middle nor end alone is a reliable moment.
 */
export function findBroadcastForRecording(db: Db, userId: number, startedAt: number, endedAt: number): Broadcast | undefined {
  // Broadcasts of a channel never overlap, so the few newest that start before the recording ends
  // are the only candidates (no scan of a long history).
  const rows = stmt(
    db,
    'SELECT id, user_id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND started_at <= ? ORDER BY started_at DESC LIMIT 4',
  ).all(userId, endedAt + RECORDING_SLACK_MS) as BroadcastRow[];
  let best: BroadcastRow | undefined;
  let bestScore = -RECORDING_SLACK_MS - 1;
  for (const r of rows) {
    // Positive: time in common; negative: the gap between them. Newest first wins a tie.
    const score = Math.min(endedAt, r.ended_at ?? Number.MAX_SAFE_INTEGER) - Math.max(startedAt, r.started_at);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best && toBroadcast(best);
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
 * Re-derives the channel's broadcasts from its buffer events around an event stored at `at`:
 * from the broadcast before `at` (earlier ones cannot change) to the first end event after `at`
 * (an end both histories share closes whatever was open, so the runs after it are what they
 * were; the new event itself, when an end, is not one of those: it may split a run). A late event
 * dated early in a long history therefore costs what an on-time one does, not a pass over
 * everything after it (20,000 broadcasts held the write lock 6.5 s). Existing rows
 * keep their ids where they still overlap a run; a run that split one gets a new row. Call
 * inside the transaction that stored the event.
 */
export function rebuildBroadcasts(db: Db, userId: number, at: number): void {
  const anchor = (
    stmt(db, 'SELECT max(started_at) AS s FROM broadcasts WHERE user_id = ? AND started_at <= ?').get(userId, at) as { s: number | null }
  ).s;
  const from = anchor ?? Number.MIN_SAFE_INTEGER;
  // Strictly later, so it is never the new event; same-millisecond live events sort before that
  // end (ORDER), so they stay inside the window.
  const until =
    (
      stmt(db, `SELECT at FROM buffer_events WHERE user_id = ? AND at > ? AND state IN ('EMPTY', 'LOST') ORDER BY at LIMIT 1`).get(
        userId,
        at,
      ) as { at: number } | undefined
    )?.at ?? Number.MAX_SAFE_INTEGER;
  const marks = stmt(db, `SELECT at, state FROM buffer_events WHERE user_id = ? AND at >= ? AND at <= ? ORDER BY ${ORDER}`).all(
    userId,
    from,
    until,
  ) as {
    at: number;
    state: BufferState;
  }[];
  const rows = stmt(
    db,
    'SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? AND started_at >= ? AND started_at <= ? ORDER BY started_at',
  ).all(userId, from, until) as BroadcastSpan[];
  const used = new Set<number>();
  const byStart = new Map<number, BroadcastSpan>();
  for (const r of rows) if (!byStart.has(r.started_at)) byStart.set(r.started_at, r);
  const update = stmt(db, 'UPDATE broadcasts SET started_at = ?, ended_at = ?, ended_cleanly = ? WHERE id = ?');
  const insert = stmt(db, 'INSERT INTO broadcasts (user_id, started_at, ended_at, ended_cleanly) VALUES (?, ?, ?, ?)');

  for (const seg of segmentsOf(marks)) {
    const sameStart = byStart.get(seg.start);
    const row =
      (sameStart && !used.has(sameStart.id) ? sameStart : undefined) ??
      rows.find((r) => !used.has(r.id) && overlaps(r, seg)) ??
      (seg.end === null ? rows.find((r) => !used.has(r.id) && r.ended_at === null) : undefined);
    const cleanly = seg.cleanly === null ? null : seg.cleanly ? 1 : 0;
    if (!row) {
      insert.run(userId, seg.start, seg.end, cleanly);
      continue;
    }
    used.add(row.id);
    if (row.started_at !== seg.start || row.ended_at !== seg.end || row.ended_cleanly !== cleanly)
      update.run(seg.start, seg.end, cleanly, row.id);
  }
  // A row no run explains (made before these events were kept) still closes at the next end.
  for (const r of rows) {
    if (used.has(r.id) || r.ended_at !== null) continue;
    const end = marks.find((m) => isEnd(m.state) && m.at >= r.started_at);
    if (end) update.run(r.started_at, end.at, end.state === 'EMPTY' ? 1 : 0, r.id);
  }
}

/** How far a viewing's estimated start may lie outside a broadcast and still belong to it. */
const ATTRIBUTION_SLACK_MS = 60_000;

/** The broadcast a viewing that began at `startedAt` (and ended by `endedBy`) watched, if any. */
export function broadcastForViewing(db: Db, userId: number, startedAt: number, endedBy: number): number | undefined {
  const spans = stmt(
    db,
    'SELECT id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND started_at <= ? ORDER BY started_at DESC LIMIT 3',
  ).all(userId, endedBy) as { id: number; started_at: number; ended_at: number | null }[];
  return pickBroadcast(spans, startedAt)?.id;
}

/** The span containing `startedAt`, else the nearest within the slack; spans come newest first, which wins ties. */
function pickBroadcast<T extends { started_at: number; ended_at: number | null }>(spans: T[], startedAt: number): T | undefined {
  let best: T | undefined;
  let bestDistance = ATTRIBUTION_SLACK_MS;
  for (const s of spans) {
    const distance =
      startedAt < s.started_at ? s.started_at - startedAt : s.ended_at !== null && startedAt > s.ended_at ? startedAt - s.ended_at : 0;
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
  mistTotals: {
    at: number;
    bytesDown: number;
    bytesUp: number;
    viewers: number;
    inputs: number;
    outputs: number;
    viewerSeconds: number;
  } | null;
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
  const spans = stmt(
    db,
    'SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? ORDER BY started_at DESC, id DESC LIMIT ?',
  ).all(userId, limit) as BroadcastSpan[];
  if (spans.length === 0) return [];
  const oldest = spans[spans.length - 1]!.started_at;
  const ends = stmt(db, 'SELECT session_id, started_at, at, seconds FROM session_ends WHERE user_id = ? AND live = 1 AND at >= ?').all(
    userId,
    oldest,
  ) as { session_id: string; started_at: number; at: number; seconds: number }[];
  const byBroadcast = new Map<number, typeof ends>();
  for (const e of ends) {
    const b = pickBroadcast(
      spans.filter((s) => s.started_at <= e.at),
      e.started_at,
    );
    if (b) byBroadcast.set(b.id, [...(byBroadcast.get(b.id) ?? []), e]);
  }
  const streamEnd = stmt(db, 'SELECT * FROM stream_ends WHERE user_id = ? AND at >= ? AND at < ? ORDER BY at LIMIT 1');
  const openSessions = stmt(
    db,
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
      b.ended_at === null
        ? undefined
        : (streamEnd.get(userId, b.ended_at, newer?.ended_at ?? Number.MAX_SAFE_INTEGER) as StreamEndRow | undefined);
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
  return stmt(
    db,
    'SELECT u.id AS userId, u.name AS userName FROM broadcasts b JOIN users u ON u.id = b.user_id WHERE b.ended_at IS NULL ORDER BY b.started_at',
  ).all() as { userId: number; userName: string }[];
}

/** The channel's newest broadcast (open or closed). */
export function latestBroadcast(
  db: Db,
  userId: number,
): { id: number; startedAt: number; endedAt: number | null; endedCleanly: boolean | null } | undefined {
  const r = stmt(
    db,
    'SELECT id, started_at, ended_at, ended_cleanly FROM broadcasts WHERE user_id = ? ORDER BY started_at DESC, id DESC LIMIT 1',
  ).get(userId) as BroadcastSpan | undefined;
  return (
    r && { id: r.id, startedAt: r.started_at, endedAt: r.ended_at, endedCleanly: r.ended_cleanly === null ? null : r.ended_cleanly === 1 }
  );
}
