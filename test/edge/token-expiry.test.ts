// An edge's token-session records (src/edge/token-expiry.ts) in a real temporary folder: written
// whole, forgotten by USER_END, found once expired, unreadable ones and stale temporary files
// removed, and a re-check MistServer did not take leaves the records for the next run.
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expireTokenSessions, forgetTokenSession, recordTokenSession, scanTokenSessions } from '../../src/edge/token-expiry';
import { tempDir } from '../support/helpers';

const SESSION = (n: number) => n.toString(16).padStart(64, 'a');
const NOW = 1_800_000_000_000;

describe('token-session records on an edge', () => {
  it('creates the folder on first use and writes a record that a scan reads back, nothing left half-written', () => {
    const dir = join(tempDir('token-expiry'), 'sessions');
    recordTokenSession(dir, { sessionId: SESSION(1), stream: 'streams+alice', expiresAt: NOW - 1 });
    recordTokenSession(dir, { sessionId: SESSION(2), stream: 'streams+alice', expiresAt: NOW + 60_000 });
    expect(readdirSync(dir).sort()).toEqual([SESSION(1), SESSION(2)]);
    expect(statSync(dir).mode & 0o777).toBe(0o770);
    const scan = scanTokenSessions(dir, NOW);
    expect(scan).toEqual({ expired: [{ sessionId: SESSION(1), stream: 'streams+alice', expiresAt: NOW - 1 }], valid: 1, removed: 0 });
  });

  it('re-recording a session replaces its record; forgetting it says whether there was one', () => {
    const dir = tempDir('token-expiry');
    recordTokenSession(dir, { sessionId: SESSION(1), stream: 'streams+a', expiresAt: NOW - 1 });
    recordTokenSession(dir, { sessionId: SESSION(1), stream: 'streams+a', expiresAt: NOW + 1 });
    expect(scanTokenSessions(dir, NOW)).toMatchObject({ expired: [], valid: 1 });
    expect(forgetTokenSession(dir, SESSION(1))).toBe(true);
    expect(forgetTokenSession(dir, SESSION(1))).toBe(false);
    expect(scanTokenSessions(dir, NOW)).toMatchObject({ expired: [], valid: 0 });
  });

  it('never takes a session id that is not letters and digits as a file name', () => {
    const dir = tempDir('token-expiry');
    for (const id of ['../escape', 'a/b', '', 'x'.repeat(129)]) {
      expect(() => recordTokenSession(dir, { sessionId: id, stream: 's', expiresAt: NOW })).toThrow(/letters and digits/);
      expect(() => forgetTokenSession(dir, id)).toThrow(/letters and digits/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a missing folder holds no sessions; unreadable records and stale temporary files are removed, fresh ones kept', () => {
    expect(scanTokenSessions(join(tempDir('token-expiry'), 'none'), NOW)).toEqual({ expired: [], valid: 0, removed: 0 });
    const dir = tempDir('token-expiry');
    writeFileSync(join(dir, SESSION(3)), 'not json');
    writeFileSync(join(dir, SESSION(4)), JSON.stringify({ stream: '', exp: 1 }));
    writeFileSync(join(dir, 'stray name'), '{}');
    writeFileSync(join(dir, `${SESSION(5)}.tmp`), '{"str');
    writeFileSync(join(dir, `${SESSION(6)}.tmp`), '{"str');
    const now = Date.now();
    const old = (now - 2 * 3600_000) / 1000;
    utimesSync(join(dir, `${SESSION(5)}.tmp`), old, old);
    const scan = scanTokenSessions(dir, now);
    expect(scan.expired).toEqual([]);
    expect(scan.removed).toBe(4);
    expect(readdirSync(dir).sort()).toEqual([`${SESSION(6)}.tmp`]);
  });

  it('re-checks each stream holding an expired token once and deletes its records; a failure keeps the rest for the next run', async () => {
    const dir = tempDir('token-expiry');
    recordTokenSession(dir, { sessionId: SESSION(1), stream: 'streams+a', expiresAt: NOW - 5 });
    recordTokenSession(dir, { sessionId: SESSION(2), stream: 'streams+a', expiresAt: NOW - 1 });
    recordTokenSession(dir, { sessionId: SESSION(3), stream: 'streams+b', expiresAt: NOW - 1 });
    recordTokenSession(dir, { sessionId: SESSION(4), stream: 'streams+c', expiresAt: NOW + 60_000 });
    const asked: string[] = [];
    const failing = await expireTokenSessions(dir, NOW, async (stream) => {
      asked.push(stream);
      if (stream === 'streams+b') throw new Error('connection refused');
    });
    expect(asked).toEqual(['streams+a', 'streams+b']);
    expect(failing).toMatchObject({
      expired: 3,
      streams: ['streams+a', 'streams+b'],
      rechecked: ['streams+a'],
      failure: 'connection refused',
    });
    expect(existsSync(join(dir, SESSION(1)))).toBe(false);
    expect(existsSync(join(dir, SESSION(3)))).toBe(true);
    const next = await expireTokenSessions(dir, NOW, async () => undefined);
    expect(next).toMatchObject({ expired: 1, streams: ['streams+b'], rechecked: ['streams+b'] });
    expect(next.failure).toBeUndefined();
    expect(readdirSync(dir)).toEqual([SESSION(4)]);
  });
});
