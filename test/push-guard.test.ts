// The push brute-force guard under pressure: concurrent wrong keys, a broadcaster's own key mixed
// in, a whole IPv6 /64, an allowlist, a locked database, and `streamctl guard`. "Lookups" are the
// refused attempts the guard let through to the key table, read from the audit log (every attempt
// writes one event, committed with the guard's count).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardSource } from '../src/lib/guard-source';
import { addUser, cli, cliJson, freshDb, ROOT, runTrigger, runTriggerAsync } from './helpers';

const WRONG = `stc_${'W'.repeat(32)}`;
const GUARD_REASON = 'too many refused pushes from this address';

const pushPayload = (key: string, ip: string) => `srt://h/?streamid=${key}\n${ip}\n${key}`;
const push = (db: string, key: string, ip: string) => runTrigger({ program: 'push-rewrite', trigger: 'PUSH_REWRITE', payload: pushPayload(key, ip), db });
const pushAsync = (db: string, key: string, ip: string) =>
  runTriggerAsync({ program: 'push-rewrite', trigger: 'PUSH_REWRITE', payload: pushPayload(key, ip), db });

/** Refused pushes that got past the guard, i.e. were looked up. */
function lookedUp(db: string): number {
  return cliJson<{ kind: string; outcome: string; reason: string }[]>(db, ['events', '--kind', 'push', '--limit', '100000']).filter(
    (e) => e.outcome === 'refused' && e.reason !== GUARD_REASON,
  ).length;
}

/** Runs the calls with at most `width` processes at a time. */
async function inBatches<T>(n: number, width: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => call(i + j)))));
  return out;
}

describe('push guard source', () => {
  it('counts IPv4 per address (mapped or not) and IPv6 per /64', () => {
    expect(guardSource('198.51.100.7')).toBe('198.51.100.7');
    expect(guardSource('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(guardSource('::ffff:c633:6407')).toBe('198.51.100.7');
    expect(guardSource('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(guardSource('[2001:db8:1:2::9]')).toBe('2001:db8:1:2::/64');
    expect(guardSource('2001:db8:1:3::9')).toBe('2001:db8:1:3::/64');
    expect(guardSource('')).toBe('unknown');
    expect(guardSource('not an address')).toBe('unknown');
  });
});

describe('push guard', () => {
  it('lets at most push-guard-failures of 40 concurrent wrong keys from one address reach a lookup', async () => {
    const db = freshDb();
    addUser(db, 'alice');
    const results = await Promise.all(Array.from({ length: 40 }, () => pushAsync(db, WRONG, '198.51.100.40')));
    expect(results.every((r) => r.stdout === '' && r.status === 0)).toBe(true);
    expect(cliJson(db, ['events', '--kind', 'push', '--limit', '1000'])).toHaveLength(40);
    expect(lookedUp(db)).toBeLessThanOrEqual(10);
  });

  it("refuses a broadcaster's own key once 9 wrong keys per round add up: a success does not wipe failures", () => {
    const db = freshDb();
    const key = addUser(db, 'alice');
    let last = '';
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 9; i++) push(db, WRONG, '203.0.113.50');
      last = push(db, key, '203.0.113.50').stdout;
    }
    expect(last).toBe('');
    expect(lookedUp(db)).toBeLessThanOrEqual(10);
  });

  it('counts 200 addresses of one IPv6 /64 as one source', async () => {
    const db = freshDb();
    addUser(db, 'alice');
    await inBatches(200, 20, (i) => pushAsync(db, WRONG, `2001:db8:77:1:${(i + 1).toString(16)}::1`));
    expect(lookedUp(db)).toBeLessThanOrEqual(10);
    // Another /64 is not affected.
    expect(push(db, WRONG, '2001:db8:77:2::1').stderr).toContain('unknown key');
  });

  it('never blocks an allowlisted address, and still blocks the others', () => {
    const db = freshDb();
    const key = addUser(db, 'alice');
    cli(db, ['config', 'set', 'push-guard-failures', '3']);
    expect(cli(db, ['guard', 'allow', '203.0.113.0/24', '--note', 'studio NAT']).status).toBe(0);
    for (let i = 0; i < 6; i++) {
      push(db, WRONG, '203.0.113.5');
      push(db, WRONG, '192.0.2.5');
    }
    expect(push(db, key, '203.0.113.5').stdout).toBe('streams+alice');
    expect(push(db, key, '192.0.2.5').stdout).toBe('');
    expect(cli(db, ['guard', 'allow', '--remove', '203.0.113.0/24']).status).toBe(0);
    for (let i = 0; i < 3; i++) push(db, WRONG, '203.0.113.5');
    expect(push(db, key, '203.0.113.5').stdout).toBe('');
  });

  it('fails closed while the database is locked: a valid key is refused, nothing is looked up uncounted', () => {
    const db = freshDb();
    const key = addUser(db, 'alice');
    const holder = new Database(db, { nativeBinding: join(ROOT, 'dist', 'better_sqlite3.node') });
    try {
      holder.prepare('BEGIN IMMEDIATE').run();
      const r = push(db, key, '192.0.2.77');
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/locked|busy/i);
      holder.prepare('ROLLBACK').run();
    } finally {
      holder.close();
    }
    expect(push(db, key, '192.0.2.77').stdout).toBe('streams+alice');
  });
});

describe('streamctl guard', () => {
  it('lists sources with their counts, clears one or all, and keeps an allowlist', () => {
    const db = freshDb();
    const key = addUser(db, 'alice');
    cli(db, ['config', 'set', 'push-guard-failures', '3']);
    for (let i = 0; i < 3; i++) push(db, WRONG, '198.51.100.7');
    push(db, WRONG, '2001:db8:5:6::1');
    push(db, WRONG, '2001:db8:5:6::2');

    type Listing = { limit: number; window: string; sources: { source: string; failures: number; blocked: boolean; last_ip: string }[]; allow: { cidr: string; note: string | null }[] };
    let list = cliJson<Listing>(db, ['guard', 'list']);
    expect(list.limit).toBe(3);
    expect(list.sources).toEqual([
      expect.objectContaining({ source: '198.51.100.7', failures: 3, blocked: true, last_ip: '198.51.100.7' }),
      expect.objectContaining({ source: '2001:db8:5:6::/64', failures: 2, blocked: false, last_ip: '2001:db8:5:6::2' }),
    ]);
    const text = cli(db, ['guard', 'list']).stdout;
    expect(text).toContain('198.51.100.7');
    expect(text).toContain('blocked');

    expect(push(db, key, '198.51.100.7').stdout).toBe('');
    expect(cli(db, ['guard', 'clear', '198.51.100.7']).stdout).toContain('cleared 3');
    expect(push(db, key, '198.51.100.7').stdout).toBe('streams+alice');

    // An address inside the /64 clears the /64.
    expect(cli(db, ['guard', 'clear', '2001:db8:5:6::ffff']).status).toBe(0);
    expect(cliJson<Listing>(db, ['guard', 'list']).sources).toEqual([]);

    push(db, WRONG, '192.0.2.1');
    push(db, WRONG, '192.0.2.2');
    expect(cli(db, ['guard', 'clear', '--all']).stdout).toContain('cleared 2');
    expect(cliJson<Listing>(db, ['guard', 'list']).sources).toEqual([]);

    expect(cli(db, ['guard', 'allow', '2001:db8:9::/48']).status).toBe(0);
    expect(cli(db, ['guard', 'allow', '198.51.100.9', '--note', 'restreamer']).status).toBe(0);
    list = cliJson<Listing>(db, ['guard', 'list']);
    expect(list.allow).toEqual([
      expect.objectContaining({ cidr: '198.51.100.9', note: 'restreamer' }),
      expect.objectContaining({ cidr: '2001:db8:9::/48', note: null }),
    ]);
    expect(cli(db, ['guard', 'allow', '--remove', '198.51.100.9']).status).toBe(0);
    expect(cliJson<Listing>(db, ['guard', 'list']).allow.map((a) => a.cidr)).toEqual(['2001:db8:9::/48']);
  });

  it('refuses nonsense with one line and a non-zero exit', () => {
    const db = freshDb();
    for (const args of [['guard', 'clear'], ['guard', 'clear', 'nope'], ['guard', 'allow', '10.0.0.0/33'], ['guard', 'allow', '--remove', '10.9.9.9'], ['guard', 'clear', '1.2.3.4', '--all']]) {
      const r = cli(db, args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
