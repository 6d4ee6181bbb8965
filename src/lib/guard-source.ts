// What the push brute-force guard counts failures against: one IPv4 address, or one IPv6 /64.
// A single IPv6 subscriber usually holds a whole /64 (2^64 addresses), so per-address counting
// would let one host try as many keys as it has addresses.
import { formatRange, isMappedV4, parseIp } from './ip';

/** The shared source for client addresses that do not parse (counted together, never exempt). */
export const UNKNOWN_SOURCE = 'unknown';

/** `198.51.100.7` for IPv4 (also when IPv4-mapped), `2001:db8:1:2::/64` for IPv6, else UNKNOWN_SOURCE. */
export function guardSource(address: string): string {
  const bytes = parseIp(address);
  if (!bytes) return UNKNOWN_SOURCE;
  if (isMappedV4(bytes)) return formatRange({ bytes, bits: 128, v4: true });
  bytes.fill(0, 8);
  return formatRange({ bytes, bits: 64, v4: false });
}
