// decideAccess in process: which rule decides, in the documented order (channel state, address
// bans, token validity, viewer bans, policy, viewer cap), with stores set up directly.
import { describe, expect, it } from 'vitest';
import { decideAccess, type AccessRequest } from '../../src/access/decide';
import type { TokenCheck } from '../../src/access/token';
import { insertBan } from '../../src/store/bans';
import { updateChannel } from '../../src/store/channels';
import { upsertGrant } from '../../src/store/grants';
import { findUserByName } from '../../src/store/users';
import { addUser } from '../support/cli';
import { memoryDb } from '../support/db';

const NOW = Date.now();
const valid = (viewer: string, extra: Partial<Extract<TokenCheck, { state: 'valid' }>['claims']> = {}): TokenCheck => ({
  state: 'valid',
  keyLabel: 'test',
  claims: { viewer, ageVerified: false, age: null, entitlements: [], expiresAt: NOW + 60_000, jti: null, ...extra },
});

describe('decideAccess', async () => {
  const db = memoryDb();
  await addUser(db, 'alice', '--external-id', 'alice'); // viewer ids are site ids: the owner is matched on the external id
  const alice = findUserByName(db, 'alice')!;
  const request = (over: Partial<AccessRequest> = {}): AccessRequest => ({
    channel: { userId: alice.id, userName: 'alice', disabled: false },
    ip: '192.0.2.1',
    token: { state: 'none' },
    now: NOW,
    ...over,
  });
  const rule = (over: Partial<AccessRequest> = {}) => {
    const d = decideAccess(db, request(over));
    return `${d.allow ? 'admit' : 'refuse'} ${d.rule}`;
  };

  it('admits on a public channel, ignoring an invalid token', () => {
    expect(rule()).toBe('admit public');
    expect(decideAccess(db, request({ token: { state: 'invalid', reason: 'token expired' } }))).toMatchObject({
      allow: true,
      rule: 'public',
      reason: expect.stringContaining('token expired'),
    });
  });

  it('checks the channel state first, then address bans, then token validity', () => {
    updateChannel(db, alice.id, { access: 'private' }, NOW);
    const invalid: TokenCheck = { state: 'invalid', reason: 'token expired' };
    expect(rule({ channel: { userId: alice.id, userName: 'alice', disabled: true }, token: valid('alice') })).toBe(
      'refuse channel-disabled',
    );
    expect(rule({ token: invalid })).toBe('refuse token-invalid');
    insertBan(db, { userId: alice.id, kind: 'ip', value: '192.0.2.0/24', reason: null, until: null, now: NOW });
    expect(rule({ token: invalid })).toBe('refuse ban-ip');
    expect(rule({ token: valid('alice'), ip: '::ffff:192.0.2.1' })).toBe('refuse ban-ip');
    expect(rule({ token: valid('alice'), ip: '198.51.100.1' })).toBe('admit owner');
  });

  it('checks viewer bans before the policy, then the policy', () => {
    expect(rule({ token: valid('fan'), ip: '198.51.100.1' })).toBe('refuse not-on-allow-list');
    upsertGrant(db, { userId: alice.id, viewer: 'fan', until: null, now: NOW });
    expect(rule({ token: valid('fan'), ip: '198.51.100.1' })).toBe('admit grant');
    insertBan(db, { userId: null, kind: 'viewer', value: 'fan', reason: null, until: null, now: NOW });
    expect(rule({ token: valid('fan'), ip: '198.51.100.1' })).toBe('refuse ban-viewer');
  });

  it('applies the viewer cap last, only to admissions', () => {
    updateChannel(db, alice.id, { access: 'public', viewerCap: 1 }, NOW);
    expect(rule({ ip: '198.51.100.1' })).toBe('admit public');
    db.prepare(
      "INSERT INTO viewer_sessions (session_id, user_id, stream, ip, connector, opened_at, last_seen_at) VALUES (?, ?, 'streams+alice', '198.51.100.2', 'HLS', ?, ?)",
    ).run('a'.repeat(64), alice.id, NOW, NOW);
    expect(rule({ ip: '198.51.100.1' })).toBe('refuse viewer-cap');
    expect(rule({ ip: '198.51.100.1', sessionId: 'a'.repeat(64) })).toBe('admit public');
    expect(rule({ ip: '192.0.2.9' })).toBe('refuse ban-ip');
  });

  it('keeps IPv4 viewers out of IPv6 bans, and refuses while a stored ban range does not parse', async () => {
    const other = memoryDb();
    await addUser(other, 'bob');
    const bob = findUserByName(other, 'bob')!;
    const ban = (value: string) => insertBan(other, { userId: null, kind: 'ip', value, reason: null, until: null, now: NOW });
    const decide = (ip: string) =>
      decideAccess(other, { channel: { userId: bob.id, userName: 'bob', disabled: false }, ip, token: { state: 'none' }, now: NOW });
    const onOther = (ip: string) => `${decide(ip).allow ? 'admit' : 'refuse'} ${decide(ip).rule}`;
    ban('::/0');
    expect(onOther('2001:db8::1')).toBe('refuse ban-ip');
    expect(onOther('192.0.2.1')).toBe('admit public');
    expect(onOther('::ffff:192.0.2.1')).toBe('admit public');
    const damaged = ban('not-a-range');
    expect(decide('192.0.2.1')).toMatchObject({
      allow: false,
      rule: 'ban-ip',
      reason: `global ban #${damaged.id} holds an invalid address range; see 'streamctl ban list'`,
    });
  });
});
