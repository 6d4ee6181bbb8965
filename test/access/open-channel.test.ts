// Which channels are open (their live stream is tagged and USER_NEW is skipped), how the tag
// request reads, and that apply/doctor want USER_NEW filtered by !#open. Real SQLite, no MistServer
// (the real server's behaviour is proven in test/real-mist/fast-path.test.ts).
import { describe, expect, it } from 'vitest';
import { channelOpenness, isChannelOpen } from '../../src/access/open-channel';
import { decideOpenness } from '../../src/access/openness';
import { desiredEntry, entryDifference, readEntry, type Desired } from '../../src/wiring/plan';
import { tagRequest, USER_NEW_STREAMS } from '../../src/mist/stream-tags';
import { insertBan } from '../../src/store/bans';
import { updateChannel } from '../../src/store/channels';
import { migrate } from '../../src/store/migrate';
import { openForCli } from '../../src/store/open';
import { insertUser, setUserDisabled } from '../../src/store/users';
import { mkdtempSync } from 'node:fs';
import { startFakeMist } from '../support/fake-mist';
import { freshDb } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function db() {
  const d = openForCli(join(mkdtempSync(join(tmpdir(), 'open-channel-')), 't.db'), { create: true });
  migrate(d);
  return d;
}

describe('channelOpenness', async () => {
  it('is open for a public channel with no cap, no ban and an enabled user, and closed by each of them', async () => {
    const d = db();
    const now = Date.now();
    const alice = insertUser(d, { name: 'alice', displayName: null, externalId: null, now }).id;
    expect(channelOpenness(d, alice, now)).toMatchObject({ open: true, why: '' });

    for (const access of ['password', 'paid', 'age', 'private'] as const) {
      updateChannel(d, alice, { access }, now);
      expect(channelOpenness(d, alice, now)).toMatchObject({ open: false, why: `access is ${access}` });
    }
    updateChannel(d, alice, { access: 'public', viewerCap: 0 }, now);
    expect(channelOpenness(d, alice, now)).toMatchObject({ open: false, why: 'viewer cap of 0' });
    updateChannel(d, alice, { viewerCap: null }, now);
    expect(isChannelOpen(d, alice, now)).toBe(true);

    setUserDisabled(d, alice, true);
    expect(channelOpenness(d, alice, now)).toMatchObject({ open: false, why: 'user is disabled' });
    setUserDisabled(d, alice, false);
    expect(channelOpenness(d, 999, now).open).toBe(false);
  });

  it('any ban in force that could apply closes it: channel or global, viewer or address; expired bans do not', async () => {
    const d = db();
    const now = Date.now();
    const alice = insertUser(d, { name: 'alice', displayName: null, externalId: null, now }).id;
    const bob = insertUser(d, { name: 'bob', displayName: null, externalId: null, now }).id;
    insertBan(d, { userId: bob, kind: 'ip', value: '203.0.113.0/24', reason: null, until: null, now });
    insertBan(d, { userId: alice, kind: 'viewer', value: 'old', reason: null, until: now - 1, now: now - 1000 });
    expect(isChannelOpen(d, alice, now)).toBe(true);
    expect(channelOpenness(d, bob, now)).toMatchObject({ open: false, why: '1 ban(s) in force' });
    insertBan(d, { userId: null, kind: 'viewer', value: 'troll', reason: null, until: now + 60_000, now });
    expect(channelOpenness(d, alice, now)).toMatchObject({ open: false, why: '1 ban(s) in force (global included)' });
    expect(isChannelOpen(d, alice, now + 60_001)).toBe(true);
  });
});

describe('the open tag', async () => {
  it('tags and untags with the API requests MistServer takes', async () => {
    expect(tagRequest('streams+alice', true)).toEqual({ tag_stream: { 'streams+alice': 'open' } });
    expect(tagRequest('streams+alice', false)).toEqual({ untag_stream: { 'streams+alice': 'open' } });
  });

  it('apply wants USER_NEW filtered by !#open, and a USER_NEW without the filter is a difference doctor reports', async () => {
    const desired: Desired = {
      base: 'streams',
      vodBase: 'vod',
      vodSource: '/p.mkv',
      recordingsRoot: '/r',
      handlerFor: (spec) => `/bin/${spec.program}`,
      isOurHandler: () => true,
    };
    const wanted = desiredEntry('USER_NEW', desired);
    expect(wanted.streams).toEqual(USER_NEW_STREAMS);
    expect(USER_NEW_STREAMS).toEqual(['!#open']);
    const unfiltered = readEntry({ handler: '/bin/user-new', sync: true, streams: [], default: 'false' })!;
    expect(entryDifference(unfiltered, wanted)).toBe('every stream → only for !#open');
    expect(entryDifference(readEntry({ ...wanted })!, wanted)).toBe('');
    expect(desiredEntry('STREAM_BUFFER', desired).streams).toEqual([]);
  });
});

describe('admin changes keep the tag in step (fake MistServer API: the order of requests)', async () => {
  it('untags before re-checking viewers, waits for the untag to settle, and tags again when the channel is open again', async () => {
    const db = freshDb();
    await addUser(db, 'bob');
    const mist = await startFakeMist();
    await cli(db, ['config', 'set', 'mist-api', mist.url]);
    const toPrivate = await cli(db, ['channel', 'set', 'bob', '--access', 'private']);
    expect(toPrivate.status).toBe(0);
    expect(toPrivate.stderr).toContain('untagged streams+bob (access is private: every viewer is checked)');
    const writes = mist.requests.filter((r) => 'untag_stream' in r || 'tag_stream' in r || 'invalidate_sessions' in r);
    expect(writes).toEqual([{ untag_stream: { 'streams+bob': 'open' } }, { invalidate_sessions: 'streams+bob' }]);

    mist.requests.length = 0;
    expect((await cli(db, ['channel', 'set', 'bob', '--access', 'public'])).status).toBe(0);
    expect(mist.calls('tag_stream')).toEqual([{ tag_stream: { 'streams+bob': 'open' } }]);

    // A global ban reaches every live channel; here none is live, and bob has no sessions: nothing to send.
    mist.requests.length = 0;
    expect((await cli(db, ['ban', 'add', '--viewer', 'troll'])).status).toBe(0);
    expect(mist.calls('tag_stream').concat(mist.calls('untag_stream'))).toEqual([]);
  });
});

describe('decideOpenness (the rule both paths call)', () => {
  const now = 1_000_000;
  const open = { user: { disabled: false }, policy: { access: 'public', viewerCap: null }, bans: [] };
  it.each([
    ['a public, uncapped, unbanned channel', open, { open: true, why: '', closedBy: null }],
    ['no such user', { ...open, user: null }, { open: false, why: 'no such user', closedBy: 'user' }],
    ['a disabled user', { ...open, user: { disabled: true } }, { open: false, why: 'user is disabled', closedBy: 'user' }],
    ['no policy row', { ...open, policy: undefined }, { open: false, why: 'no channel policy row', closedBy: 'policy' }],
    [
      'a token channel',
      { ...open, policy: { access: 'token', viewerCap: null } },
      { open: false, why: 'access is token', closedBy: 'policy' },
    ],
    [
      'a capped channel',
      { ...open, policy: { access: 'public', viewerCap: 5 } },
      { open: false, why: 'viewer cap of 5', closedBy: 'policy' },
    ],
    ['a ban in force', { ...open, bans: [{ global: false, until: null }] }, { open: false, why: '1 ban(s) in force', closedBy: 'bans' }],
    [
      'a global ban ending later',
      { ...open, bans: [{ global: true, until: now + 1 }] },
      { open: false, why: '1 ban(s) in force (global included)', closedBy: 'bans' },
    ],
    [
      'only bans that are over',
      {
        ...open,
        bans: [
          { global: true, until: now },
          { global: false, until: now - 5 },
        ],
      },
      { open: true, why: '', closedBy: null },
    ],
  ] as const)('%s', (_what, facts, expected) => {
    expect(decideOpenness(facts, now)).toEqual(expected);
  });
});
