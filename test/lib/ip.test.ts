// src/lib/ip.ts by tables: what parses as an address or a range, the canonical text of each range,
// and which addresses a range holds; IPv4 viewers (IPv4-mapped inside) lie only in ranges written
// for IPv4, never in an IPv6 range that covers ::ffff:0:0/96 by its bits.
import { describe, expect, it } from 'vitest';
import { formatRange, inRange, isMappedV4, parseIp, parseRange } from '../../src/lib/ip';

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'));

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', '00000000000000000000ffffc0000201'],
    ['0.0.0.0', '00000000000000000000ffff00000000'],
    ['255.255.255.255', '00000000000000000000ffffffffffff'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::ffff:c000:201', '00000000000000000000ffffc0000201'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['[2001:db8::1]', '20010db8000000000000000000000001'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['  198.51.100.7 ', '00000000000000000000ffffc6336407'],
  ])('%s → %s', (text, bytes) => {
    expect(hex(parseIp(text))).toBe(bytes);
  });

  it.each([
    '',
    'not an address',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.-4',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::1',
    '::ffff:1.2.3.256',
    '1.2.3.4/24',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('tells IPv4 (mapped) from IPv6', () => {
    expect(isMappedV4(parseIp('10.0.0.1')!)).toBe(true);
    expect(isMappedV4(parseIp('::ffff:10.0.0.1')!)).toBe(true);
    expect(isMappedV4(parseIp('::10.0.0.1')!)).toBe(false);
    expect(isMappedV4(parseIp('2001:db8::1')!)).toBe(false);
  });
});

describe('parseRange and formatRange', () => {
  it.each([
    ['192.0.2.0/24', '192.0.2.0/24', true],
    ['192.0.2.77/24', '192.0.2.0/24', true],
    ['198.51.100.7', '198.51.100.7', true],
    ['198.51.100.7/32', '198.51.100.7', true],
    ['0.0.0.0/0', '0.0.0.0/0', true],
    ['::ffff:192.0.2.0/120', '192.0.2.0/24', true],
    ['::ffff:0:0/96', '0.0.0.0/0', true],
    ['::ffff:0:0/95', '::fffe:0:0/95', false],
    ['2001:db8::/32', '2001:db8::/32', false],
    ['2001:db8:1:2:3::/48', '2001:db8:1::/48', false],
    ['2001:db8::1', '2001:db8::1', false],
    ['::/0', '::/0', false],
    ['::/8', '::/8', false],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3', false],
  ])('%s → %s (IPv4: %s)', (text, canonical, v4) => {
    const range = parseRange(text)!;
    expect(formatRange(range)).toBe(canonical);
    expect(range.v4).toBe(v4);
    // The canonical text parses to the same range.
    expect(formatRange(parseRange(canonical)!)).toBe(canonical);
  });

  it.each([
    '',
    '/24',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/2a',
    '10.0.0.0/24/8',
    'nope/8',
    '300.0.0.0/8',
  ])('refuses %j', (text) => {
    expect(parseRange(text)).toBeNull();
  });
});

describe('inRange', () => {
  it.each([
    // range, address, inside
    ['192.0.2.0/24', '192.0.2.200', true],
    ['192.0.2.0/24', '::ffff:192.0.2.200', true],
    ['192.0.2.0/24', '192.0.3.1', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::ffff:0:0/96', '203.0.113.9', true],
    ['198.51.100.7', '198.51.100.7', true],
    ['198.51.100.7', '198.51.100.8', false],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '192.0.2.1', false],
    ['::/0', '2001:db8::1', true],
    ['::/8', '::1', true],
    // IPv6 ranges not written for IPv4: no IPv4 viewer or pusher inside, though the bits cover them.
    ['::/0', '192.0.2.1', false],
    ['::/0', '::ffff:192.0.2.1', false],
    ['::/8', '203.0.113.5', false],
    ['::ffff:0:0/95', '203.0.113.5', false],
    ['::/80', '10.0.0.1', false],
    // An IPv4-compatible (not mapped) address is IPv6.
    ['::/8', '::10.0.0.1', true],
  ])('%s holds %s: %s', (range, address, inside) => {
    expect(inRange(parseIp(address)!, parseRange(range)!)).toBe(inside);
  });
});
