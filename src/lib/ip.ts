// IPv4/IPv6 addresses and CIDR ranges for bans, in pure JS (node:net costs startup on the hot path).
// IPv4 is held as IPv4-mapped IPv6 so `10.0.0.1` and `::ffff:10.0.0.1` are the same viewer.

/** A parsed range: 16 address bytes and how many leading bits must match. */
export interface IpRange {
  bytes: Uint8Array;
  bits: number;
  /** Written as IPv4 (address and prefix in IPv4 terms). */
  v4: boolean;
}

function parseV4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseV6(text: string): Uint8Array | null {
  let s = text;
  const v4Tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return null;
    v4Tail.push(...v4);
    s = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, overwritten below
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (h: string) => (h === '' ? [] : h.split(':'));
  const head = group(halves[0]!);
  const tail = halves.length === 2 ? group(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  }
  if (v4Tail.length) bytes.set(v4Tail, 12);
  return bytes;
}

/** 16 bytes for an IPv4 or IPv6 address (zone id dropped), or null when it is not one. */
export function parseIp(text: string): Uint8Array | null {
  const t = text
    .trim()
    .replace(/%.*$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  const v4 = parseV4(t);
  if (v4) return new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  return t.includes(':') ? parseV6(t) : null;
}

/** True for an IPv4-mapped IPv6 address (::ffff:a.b.c.d), i.e. an IPv4 address. */
export const isMappedV4 = (b: Uint8Array) => b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/** An address or CIDR (`192.0.2.0/24`, `2001:db8::/32`, `198.51.100.7`); null when invalid. */
export function parseRange(text: string): IpRange | null {
  const [addr, prefix, extra] = text.trim().split('/');
  if (extra !== undefined || addr === undefined) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const dotted = parseV4(addr.trim()) !== null;
  const max = dotted ? 32 : 128;
  let bits = max;
  if (prefix !== undefined) {
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return null;
    bits = Number(prefix);
  }
  const full = dotted ? bits + 96 : bits;
  const v4 = dotted || (isMappedV4(bytes) && full >= 96);
  // Clear host bits so the stored form is canonical.
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, full - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return { bytes, bits: full, v4 };
}

/**
 * True when the address lies in the range. An IPv4 address (held IPv4-mapped) lies only in ranges
 * written for IPv4 (`a.b.c.d/n` or `::ffff:a.b.c.d/96+`): an IPv6 range such as `::/0` or `::/8`
 * also covers ::ffff:0:0/96 by its bits, but whoever wrote it meant IPv6 viewers, not every IPv4 one.
 */
export function inRange(address: Uint8Array, range: IpRange): boolean {
  if (!range.v4 && isMappedV4(address)) return false;
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, range.bits - i * 8));
    if (keep === 0) return true;
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((address[i]! & mask) !== range.bytes[i]) return false;
  }
  return true;
}

/** The canonical text of a range: `a.b.c.d/n` or compressed IPv6 `x::/n` (no prefix for one address). */
export function formatRange(r: IpRange): string {
  if (r.v4) {
    const text = Array.from(r.bytes.subarray(12)).join('.');
    return r.bits === 128 ? text : `${text}/${r.bits - 96}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((r.bytes[i]! << 8) | r.bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = bestStart < 0 ? hex.join(':') : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
  return r.bits === 128 ? text : `${text}/${r.bits}`;
}

/** Client addresses arrive as IPv4-mapped IPv6 from some connectors (SRT): store the plain IPv4 form. */
export function normaliseIp(host: string): string {
  const h = host.trim();
  return h.toLowerCase().startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}
