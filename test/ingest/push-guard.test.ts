// The push brute-force guard in process: a broadcaster's own key mixed in, a whole IPv6 /64, an
// allowlist, and `streamctl guard`. "Lookups" are the refused attempts the guard let through to
// the key table, read from the audit log (every attempt writes one event, committed with the
// guard's count). Concurrent processes are in test/process/programs.test.ts, a locked database in
// test/process/db-faults.test.ts.
import { describe, expect, it } from 'vitest';
import { GUARD_REFUSAL } from '../../src/ingest/admit-push';
import { guardSource } from '../../src/ingest/guard-source';
import type { Db } from '../../src/store/open';
import pushRewrite from '../../src/triggers/push-rewrite';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerSync } from '../support/trigger';

const WRONG = `stc_${'W'.repeat(32)}`;

const push = (db: Db, key: string, ip: string) => answerSync(pushRewrite, db, `srt://h/?streamid=${key}\n${ip}\n${key}`);

/** Refused pushes that got past the guard, i.e. were looked up. */
async function lookedUp(db: Db): Promise<number> {
  const events = await cliJson<{ kind: string; outcome: string; reason: string }[]>(db, ['events', '--kind', 'push', '--limit', '100000']);
  return events.filter((e) => e.outcome === 'refused' && e.reason !== GUARD_REFUSAL).length;
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
  it("refuses a broadcaster's own key once 9 wrong keys per round add up: a success does not wipe failures", async () => {
    const db = memoryDb();
    const key = await addUser(db, 'alice');
    expect(push(db, key, '203.0.113.50').answer).toBe('streams+alice');
    let last = '';
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 9; i++) push(db, WRONG, '203.0.113.50');
      last = push(db, key, '203.0.113.50').answer;
    }
    expect(last).toBe('');
    expect(await lookedUp(db)).toBeLessThanOrEqual(10);
    expect(await lookedUp(db)).toBeGreaterThan(0);
  });

  it('counts 200 addresses of one IPv6 /64 as one source', async () => {
    const db = memoryDb();
    await addUser(db, 'alice');
    for (let i = 0; i < 200; i++) push(db, WRONG, `2001:db8:77:1:${(i + 1).toString(16)}::1`);
    expect(await lookedUp(db)).toBeLessThanOrEqual(10);
    expect(await cliJson<unknown[]>(db, ['events', '--kind', 'push', '--limit', '1000'])).toHaveLength(200);
    // Another /64 is not affected.
    expect(push(db, WRONG, '2001:db8:77:2::1').lines.join('\n')).toContain('unknown key');
  });

  it('never blocks an allowlisted address, and still blocks the others', async () => {
    const db = memoryDb();
    const key = await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'push-guard-failures', '3'])).status).toBe(0);
    expect((await cli(db, ['guard', 'allow', '203.0.113.0/24', '--note', 'studio NAT'])).status).toBe(0);
    for (let i = 0; i < 6; i++) {
      push(db, WRONG, '203.0.113.5');
      push(db, WRONG, '192.0.2.5');
    }
    expect(push(db, key, '203.0.113.5').answer).toBe('streams+alice');
    expect(push(db, key, '192.0.2.5').answer).toBe('');
    expect((await cli(db, ['guard', 'allow', '--remove', '203.0.113.0/24'])).status).toBe(0);
    for (let i = 0; i < 3; i++) push(db, WRONG, '203.0.113.5');
    expect(push(db, key, '203.0.113.5').answer).toBe('');
  });

  it('exempts no IPv4 pusher through an IPv6 range (::/8 covers ::ffff:0:0/96 by its bits only)', async () => {
    const db = memoryDb();
    const key = await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'push-guard-failures', '3'])).status).toBe(0);
    expect((await cli(db, ['guard', 'allow', '::/8'])).status).toBe(0);
    for (let i = 0; i < 3; i++) {
      push(db, WRONG, '203.0.113.5');
      push(db, WRONG, '::1');
    }
    expect(push(db, key, '203.0.113.5').answer).toBe('');
    expect(push(db, key, '::ffff:203.0.113.5').answer).toBe('');
    expect(push(db, key, '::1').answer).toBe('streams+alice');
  });
});

describe('streamctl guard', () => {
  it('lists sources with their counts, clears one or all, and keeps an allowlist', async () => {
    const db = memoryDb();
    const key = await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'push-guard-failures', '3'])).status).toBe(0);
    for (let i = 0; i < 3; i++) push(db, WRONG, '198.51.100.7');
    push(db, WRONG, '2001:db8:5:6::1');
    push(db, WRONG, '2001:db8:5:6::2');

    type Listing = {
      limit: number;
      window: string;
      sources: { source: string; failures: number; blocked: boolean; last_ip: string }[];
      allow: { cidr: string; note: string | null }[];
    };
    let list = await cliJson<Listing>(db, ['guard', 'list']);
    expect(list.limit).toBe(3);
    expect(list.sources).toEqual([
      expect.objectContaining({ source: '198.51.100.7', failures: 3, blocked: true, last_ip: '198.51.100.7' }),
      expect.objectContaining({ source: '2001:db8:5:6::/64', failures: 2, blocked: false, last_ip: '2001:db8:5:6::2' }),
    ]);
    const text = (await cli(db, ['guard', 'list'])).stdout;
    expect(text).toContain('198.51.100.7');
    expect(text).toContain('blocked');

    expect(push(db, key, '198.51.100.7').answer).toBe('');
    expect((await cli(db, ['guard', 'clear', '198.51.100.7'])).stdout).toContain('cleared 3');
    expect(push(db, key, '198.51.100.7').answer).toBe('streams+alice');

    // An address inside the /64 clears the /64.
    expect((await cli(db, ['guard', 'clear', '2001:db8:5:6::ffff'])).status).toBe(0);
    expect((await cliJson<Listing>(db, ['guard', 'list'])).sources).toEqual([]);

    push(db, WRONG, '192.0.2.1');
    push(db, WRONG, '192.0.2.2');
    expect((await cli(db, ['guard', 'clear', '--all'])).stdout).toContain('cleared 2');
    expect((await cliJson<Listing>(db, ['guard', 'list'])).sources).toEqual([]);

    expect((await cli(db, ['guard', 'allow', '2001:db8:9::/48'])).status).toBe(0);
    expect((await cli(db, ['guard', 'allow', '198.51.100.9', '--note', 'restreamer'])).status).toBe(0);
    list = await cliJson<Listing>(db, ['guard', 'list']);
    expect(list.allow).toEqual([
      expect.objectContaining({ cidr: '198.51.100.9', note: 'restreamer' }),
      expect.objectContaining({ cidr: '2001:db8:9::/48', note: null }),
    ]);
    expect((await cli(db, ['guard', 'allow', '--remove', '198.51.100.9'])).status).toBe(0);
    expect((await cliJson<Listing>(db, ['guard', 'list'])).allow.map((a) => a.cidr)).toEqual(['2001:db8:9::/48']);
  });

  it('refuses nonsense with one line and a non-zero exit', async () => {
    const db = memoryDb();
    for (const args of [
      ['guard', 'clear'],
      ['guard', 'clear', 'nope'],
      ['guard', 'allow', '10.0.0.0/33'],
      ['guard', 'allow', '--remove', '10.9.9.9'],
      ['guard', 'clear', '1.2.3.4', '--all'],
    ]) {
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
