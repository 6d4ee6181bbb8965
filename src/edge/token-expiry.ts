// An edge's record of the viewer sessions it admitted with a playback token, so that a token that
// expires mid-session stops playing there too (MistServer checks a viewer only when its session
// starts). The one box keeps this in viewer_sessions; an edge has no database on its hot path, so
// its USER_NEW writes one small file per session, named by MistServer's session id (64 hex, checked
// by the payload parser, never the stream name), holding the token's expiry and the stream.
// USER_END deletes it; `streamctl sessions expire` (the scheduled job) reads the folder, asks the
// edge's own MistServer to re-check the streams holding expired tokens (its USER_NEW then refuses
// them) and deletes the records it handled. Local files: no network on the hot path, and the cut
// works while the edge cannot reach the origin.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A session id as a file name: MistServer's 64-hex USER_NEW id, or USER_END's (letters and digits). */
const RECORD_NAME = /^[0-9A-Za-z]{1,128}$/;

/** A half-written record (`<id>.tmp`) older than this is a crashed writer's; `sessions expire` removes it. */
const STALE_TMP_MS = 60 * 60_000;

/** One recorded session. */
export interface TokenSession {
  sessionId: string;
  stream: string;
  /** The token's `exp`, unix ms. */
  expiresAt: number;
}

function recordPath(dir: string, sessionId: string): string {
  if (!RECORD_NAME.test(sessionId)) throw new Error('a session id that is not letters and digits');
  return join(dir, sessionId);
}

/**
 * Records (or re-records) a session's token expiry, before USER_NEW answers: written whole under a
 * temporary name, then renamed, so a reader never sees half a record. Creates the folder on first
 * use (setgid STATE_DIR gives it the group the job runs in). Throws when it cannot write.
 */
export function recordTokenSession(dir: string, s: TokenSession): void {
  const path = recordPath(dir, s.sessionId);
  const body = JSON.stringify({ stream: s.stream, exp: s.expiresAt });
  try {
    writeFileSync(`${path}.tmp`, body, { mode: 0o660 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true });
    // Explicitly, past MistServer's umask: the scheduled job may run as another user of the group.
    chmodSync(dir, 0o2770);
    writeFileSync(`${path}.tmp`, body, { mode: 0o660 });
  }
  renameSync(`${path}.tmp`, path);
}

/** Forgets a session (USER_END): true when it had a record. */
export function forgetTokenSession(dir: string, sessionId: string): boolean {
  try {
    unlinkSync(recordPath(dir, sessionId));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** What the folder holds: the sessions whose token expired by `now`, how many are still valid, what was unreadable. */
export interface TokenSessionScan {
  expired: TokenSession[];
  valid: number;
  /** Records that are not a session (removed, or the job would trip on them for ever). */
  removed: number;
}

/** Reads every record (a missing folder holds none); removes unreadable ones and stale temporary files. */
export function scanTokenSessions(dir: string, now: number): TokenSessionScan {
  const scan: TokenSessionScan = { expired: [], valid: 0, removed: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return scan;
    throw err;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.tmp')) {
      if (ageMs(path, now) > STALE_TMP_MS) scan.removed += removeQuietly(path);
      continue;
    }
    const s = RECORD_NAME.test(name) ? readRecord(path, name) : null;
    if (s === 'gone') continue;
    if (s === null) {
      scan.removed += removeQuietly(path);
      continue;
    }
    if (s.expiresAt <= now) scan.expired.push(s);
    else scan.valid++;
  }
  scan.expired.sort((a, b) => a.stream.localeCompare(b.stream) || a.expiresAt - b.expiresAt);
  return scan;
}

/** The record, 'gone' when USER_END deleted it since the listing, null when it is not a record. */
function readRecord(path: string, sessionId: string): TokenSession | 'gone' | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { stream?: unknown; exp?: unknown };
    if (typeof v.stream !== 'string' || v.stream === '' || typeof v.exp !== 'number' || !Number.isFinite(v.exp)) return null;
    return { sessionId, stream: v.stream, expiresAt: v.exp };
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
}

function ageMs(path: string, now: number): number {
  try {
    return now - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function removeQuietly(path: string): number {
  try {
    unlinkSync(path);
    return 1;
  } catch {
    return 0;
  }
}

/** What one `sessions expire` run did on an edge. */
export interface EdgeExpiryRun {
  expired: number;
  streams: string[];
  /** Streams MistServer confirmed re-checking; the others' records stay for the next run. */
  rechecked: string[];
  removed: number;
  /** Why MistServer did not take a re-check (the run stopped there); absent when every one was taken. */
  failure?: string;
}

/**
 * Asks MistServer to re-check each stream holding an expired token (`recheck`: invalidate_sessions
 * on this edge's own MistServer), then deletes those records: the re-check's USER_NEW refuses the
 * token, and USER_END would delete them anyway. A stream MistServer did not confirm keeps its
 * records for the next run; the first failure ends the run (MistServer is unreachable).
 */
export async function expireTokenSessions(dir: string, now: number, recheck: (stream: string) => Promise<void>): Promise<EdgeExpiryRun> {
  const scan = scanTokenSessions(dir, now);
  const streams = [...new Set(scan.expired.map((s) => s.stream))];
  const run: EdgeExpiryRun = { expired: scan.expired.length, streams, rechecked: [], removed: scan.removed };
  for (const stream of streams) {
    try {
      await recheck(stream);
    } catch (err) {
      run.failure = err instanceof Error ? err.message : String(err);
      break;
    }
    run.rechecked.push(stream);
    for (const s of scan.expired) if (s.stream === stream) forgetTokenSession(dir, s.sessionId);
  }
  return run;
}
