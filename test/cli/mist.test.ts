// `mist apply` and the live effects of admin commands, in process against a fake
// MistServer API (in this process too: the CLI's requests are asynchronous).
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REFUSING_DEFAULT } from '../../src/wiring/plan';
import { startFakeMist, type FakeMist } from '../support/fake-mist';
import { BIN, fixture } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { INSTALLED, setupDb } from '../support/mist';
import { runInProcess } from '../support/trigger';

afterEach(() => {
  vi.unstubAllEnvs();
});

const apply = (db: string, mist: FakeMist, ...extra: string[]) => cli(db, ['mist', 'apply', '--api', mist.url, ...extra]);
const writes = (mist: FakeMist) => mist.requests.filter((r) => !('push_auto_list' in r && 'jwks' in r && r.config === true));

describe('mist apply', () => {
  it('sets the streams, one blocking-aware handler per registry trigger and the recording push', async () => {
    const { db, root } = await setupDb();
    const mist = await startFakeMist();
    const r = await apply(db, mist);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    expect(INSTALLED.length).toBeGreaterThan(0);
    for (const [name, spec] of INSTALLED) {
      expect(mist.state.triggers[name], name).toEqual([
        spec.blocking
          ? // USER_NEW skips streams tagged open (the fast path); the other triggers run for every stream.
            {
              handler: join(BIN, spec.program),
              sync: true,
              streams: name === 'USER_NEW' ? ['!#open'] : [],
              default: spec.refusal === '' ? REFUSING_DEFAULT : spec.refusal,
            }
          : { handler: join(BIN, spec.program), sync: false, streams: [] },
      ]);
    }
    expect(mist.state.triggers.RTMP_PUSH_REWRITE).toBeUndefined();
    expect(mist.state.streams.streams).toEqual({ name: 'streams', source: 'push://' });
    expect(mist.state.streams.vod).toEqual({ name: 'vod', source: join(root, 'placeholder.mkv') });
    // Inhibited for streams tagged norecord: no retries every 3 s for channels that do not record.
    expect(Object.values(mist.state.autoPush)).toEqual([
      { stream: 'streams+', target: `${root}/$wildcard/$datetime.mkv`, inhibit: '#norecord' },
    ]);
    expect(mist.calls('save')).toHaveLength(1);
    // Remembered for live effects.
    expect((await cli(db, ['config', 'get', 'mist-api'])).stdout.trim()).toBe(mist.url);
  });

  it('configures exactly the registry triggers, and never an empty default on a blocking one', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    // The loop below proves nothing over an empty set: the set must be the registry's.
    expect(Object.keys(mist.state.triggers).sort()).toEqual(INSTALLED.map(([name]) => name).sort());
    const blocking = INSTALLED.filter(([, spec]) => spec.blocking).map(([name]) => name);
    expect(blocking.length).toBeGreaterThan(0);
    for (const [name, entries] of Object.entries(mist.state.triggers)) {
      expect(entries, name).toHaveLength(1);
      for (const e of entries as { sync: boolean; default?: string }[]) {
        expect(e.sync, name).toBe(blocking.includes(name));
        if (e.sync) expect(e.default, name).toMatch(/./);
      }
    }
  });

  it('is idempotent: a second run changes nothing and sends no write', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    const before = structuredClone(mist.state);
    const sent = mist.requests.length;
    const again = await apply(db, mist);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to change');
    expect(mist.state).toEqual(before);
    expect(mist.requests.length).toBeGreaterThan(sent);
    expect(mist.requests.slice(sent).every((r) => r.config === true && !('addstream' in r) && !('save' in r))).toBe(true);
  });

  it('keeps foreign trigger entries, puts ours last, removes our RTMP_PUSH_REWRITE', async () => {
    const { db } = await setupDb();
    const foreignReady = [{ handler: '/usr/local/bin/site-hook', sync: false, streams: ['other'] }];
    const foreignRewrite = { handler: '/usr/local/bin/audit', sync: true, streams: [], default: 'x' };
    const mist = await startFakeMist({
      triggers: {
        STREAM_READY: foreignReady,
        PUSH_REWRITE: [{ handler: join(BIN, 'push-rewrite'), sync: true, streams: [], default: '' }, foreignRewrite],
        RTMP_PUSH_REWRITE: [{ handler: '/old/prefix/bin/rtmp-push-rewrite', sync: true, streams: [], default: '' }],
      },
    });
    const r = await apply(db, mist);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/- trigger RTMP_PUSH_REWRITE/);
    expect(r.stdout).toMatch(/~ trigger PUSH_REWRITE: .*default empty \(MistServer uses true: fail-open\)/);
    expect(mist.state.triggers.STREAM_READY).toEqual(foreignReady);
    expect(mist.state.triggers.PUSH_REWRITE).toEqual([
      foreignRewrite,
      { handler: join(BIN, 'push-rewrite'), sync: true, streams: [], default: REFUSING_DEFAULT },
    ]);
    expect(mist.state.triggers).not.toHaveProperty('RTMP_PUSH_REWRITE');
  });

  it('--dry-run prints the changes and sends nothing but the read', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist({ streams: { streams: { name: 'streams', source: 'push://127.0.0.1', DVR: 5000 } } });
    const before = structuredClone(mist.state);
    const r = await apply(db, mist, '--dry-run');
    expect(r.status).toBe(1); // changes pending: a negative answer
    expect(r.stdout).toContain('+ trigger PUSH_REWRITE');
    expect(r.stdout).toContain('~ stream streams: source push://127.0.0.1 → push://');
    expect(r.stdout).toContain('dry run');
    expect(mist.state).toEqual(before);
    expect(mist.requests.length).toBeGreaterThan(0);
    expect(writes(mist)).toEqual([]);
    expect((await cli(db, ['config', 'get', 'mist-api'])).stdout.trim()).toBe('');
  });

  it('corrects a stream source and keeps its other options', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist({ streams: { streams: { name: 'streams', source: 'push://127.0.0.1', DVR: 5000, online: 1 } } });
    expect((await apply(db, mist)).status).toBe(0);
    expect(mist.state.streams.streams).toEqual({ name: 'streams', source: 'push://', DVR: 5000 });
  });

  it('replaces an old recording push for <base>+ and keeps restreams', async () => {
    const { db, root } = await setupDb();
    const mist = await startFakeMist({
      autoPush: {
        old: { stream: 'streams+', target: '/old/recordings/$wildcard/$datetime.mkv' },
        restream: { stream: 'streams+', target: 'rtmp://cdn.example/live/$wildcard' },
      },
    });
    expect((await apply(db, mist)).status).toBe(0);
    expect(Object.values(mist.state.autoPush)).toEqual(
      expect.arrayContaining([
        { stream: 'streams+', target: 'rtmp://cdn.example/live/$wildcard' },
        { stream: 'streams+', target: `${root}/$wildcard/$datetime.mkv`, inhibit: '#norecord' },
      ]),
    );
    expect(Object.keys(mist.state.autoPush)).toHaveLength(2);
  });

  it('replaces the recording push of an earlier version (no inhibit) by the inhibited one, once', async () => {
    const { db, root } = await setupDb();
    const target = `${root}/$wildcard/$datetime.mkv`;
    const mist = await startFakeMist({ autoPush: { earlier: { stream: 'streams+', target } } });
    expect((await apply(db, mist)).status).toBe(0);
    expect(Object.values(mist.state.autoPush)).toEqual([{ stream: 'streams+', target, inhibit: '#norecord' }]);
    mist.requests.length = 0;
    expect((await apply(db, mist)).status).toBe(0);
    expect(mist.calls('push_auto_add')).toEqual([]);
    expect(mist.calls('push_auto_remove')).toEqual([]);
  });

  it('removes keys registered in jwks without printing them', async () => {
    const { db } = await setupDb();
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA';
    const mist = await startFakeMist({ jwks: [[{ kty: 'oct', k: secret, kid: 'site' }, {}]] });
    const r = await apply(db, mist);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- jwks');
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(mist.state.jwks).toEqual([]);
  });

  it('removes native stream keys (they publish without PUSH_REWRITE), naming their streams, never the keys', async () => {
    const { db } = await setupDb();
    const key = 'mallorys-native-key-0123456789';
    const mist = await startFakeMist({ streamKeys: { [key]: 'streams+mallory', other_native_key_42: 'streams+bob' } });
    const r = await apply(db, mist);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- stream keys streams+mallory: native key mall…: it published to streams+mallory without PUSH_REWRITE');
    expect(r.stdout).toContain('- stream keys streams+bob: native key othe…');
    expect(r.stdout + r.stderr).not.toContain(key);
    expect(mist.state.streamKeys).toEqual({});
    // Nothing left: a second apply changes nothing.
    expect((await apply(db, mist, '--dry-run')).status).toBe(0);
  });

  it('logs in by challenge with --user and --password, and says so in one line when refused', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    mist.account = { username: 'admin', password: 'hunter2' };
    const noLogin = await apply(db, mist);
    expect(noLogin.status).toBe(3); // MistServer's API could not be used
    expect(noLogin.stderr.trim().split('\n')).toHaveLength(1);
    expect(noLogin.stderr).toContain('wants a login');
    const wrong = await apply(db, mist, '--user', 'admin', '--password', 'nope');
    expect(wrong.status).toBe(3);
    expect(wrong.stderr).toContain('refused the login');
    const ok = await apply(db, mist, '--user', 'admin', '--password', 'hunter2');
    expect(ok.status).toBe(0);
    expect(mist.state.triggers.PUSH_REWRITE).toHaveLength(1);
    expect(JSON.stringify(mist.requests)).not.toContain('hunter2');
  });

  it('fails in one line when MistServer cannot be reached', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    await mist.close();
    const r = await apply(db, mist);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot reach MistServer');
    expect(r.stderr).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+/);
  });
});

describe('with no MistServer configured (no mist-api, no STREAM_BUFFER ever run here)', () => {
  it('admin writes say nothing and send no datagram to the local UDP API; once STREAM_BUFFER has run, one line and the untag', async () => {
    const { db } = await setupDb();
    await addUser(db, 'erin');
    const udp = createSocket('udp4');
    const datagrams: string[] = [];
    udp.on('message', (m) => void datagrams.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const env = { STREAMCTL_UDP_API_PORT: String(udp.address().port) };
    try {
      for (const args of [
        ['key', 'rotate', 'erin'],
        ['channel', 'set', 'erin', '--viewer-cap', '3'],
        ['channel', 'set', 'erin', '--access', 'private'],
        ['ban', 'add', '--viewer', 'troll', '--channel', 'erin'],
        ['grant', 'add', 'erin', 'v1'],
        ['grant', 'remove', 'erin', 'v1'],
        ['user', 'disable', 'erin'],
      ]) {
        const r = await cli(db, args, { env });
        expect(r.status, args.join(' ')).toBe(0);
        expect(r.stderr, args.join(' ')).toBe('');
      }
      expect((await cli(db, ['user', 'enable', 'erin'], { env })).status).toBe(0);
      // A marker sent now arrives after anything the commands sent (one socket, loopback): only it came.
      const marker = createSocket('udp4');
      await new Promise<void>((r) => marker.send('marker', udp.address().port, '127.0.0.1', () => r()));
      marker.close();
      await vi.waitFor(() => expect(datagrams).toContain('marker'));
      expect(datagrams).toEqual(['marker']);
      // MistServer runs this database's STREAM_BUFFER: a stream may now carry the open tag.
      await runInProcess({
        trigger: 'STREAM_BUFFER',
        db,
        payload: fixture('01-basic-push-alice/STREAM_BUFFER-1').replace('streams+alice', 'streams+erin'),
      });
      datagrams.length = 0;
      const r = await cli(db, ['channel', 'set', 'erin', '--viewer-cap', '5'], { env });
      expect(r.stderr).toBe(
        "streamctl: not applied to live sessions: re-check the viewers of streams+erin (viewer cap changed to 5); mist-api is not set (streamctl config set mist-api <url>); untagged streams+erin (access is private: every viewer is checked) over MistServer's local UDP API instead (unconfirmed)\n",
      );
      await vi.waitFor(() => expect(datagrams).toEqual([JSON.stringify({ untag_stream: { 'streams+erin': 'open' } })]));
    } finally {
      udp.close();
    }
  });
});

describe('admin changes reach live sessions', () => {
  it('stops the publisher on key rotate, key revoke and user disable, with the plain-string nuke_stream', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    await addUser(db, 'alice');
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    expect((await cli(db, ['key', 'rotate', 'alice'])).status).toBe(0);
    expect((await cli(db, ['key', 'add', 'alice', '--label', 'backup'])).status).toBe(0);
    expect((await cli(db, ['key', 'revoke', 'alice', 'backup'])).status).toBe(0);
    const r = await cli(db, ['user', 'disable', 'alice']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('stopped the publisher of streams+alice');
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['streams+alice', 'streams+alice', 'streams+alice']);
    expect(mist.calls('stop_sessions')).toEqual([]);
  });

  it('re-checks viewers with invalidate_sessions on a channel access change, and both on user remove', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    await addUser(db, 'bob');
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    expect((await cli(db, ['config', 'set', 'stream-base', 'live'])).status).toBe(0);
    expect((await cli(db, ['channel', 'set', 'bob', '--access', 'private'])).status).toBe(0);
    expect(mist.calls('invalidate_sessions').map((c) => c.invalidate_sessions)).toEqual(['live+bob']);
    expect((await cli(db, ['channel', 'set', 'bob', '--record', 'on'])).status).toBe(0);
    expect(mist.calls('invalidate_sessions')).toHaveLength(1);
    expect((await cli(db, ['user', 'remove', 'bob', '--yes'])).status).toBe(0);
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['live+bob']);
    expect(mist.calls('invalidate_sessions')).toHaveLength(2);
    expect(mist.requests.every((r) => typeof (r.nuke_stream ?? r.invalidate_sessions ?? '') === 'string')).toBe(true);
  });

  it('still succeeds and says in one line what was not applied when MistServer is unreachable', async () => {
    const { db } = await setupDb();
    await addUser(db, 'carol');
    const mist = await startFakeMist();
    await mist.close();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const json = await cli(db, ['key', 'rotate', 'carol', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).key).toMatch(/^stc_/);
    expect(json.stderr).toMatch(
      /^streamctl: not applied to live sessions: stop the publisher of streams\+carol \(stream key rotated\); cannot reach MistServer[^\n]*\n$/,
    );
    const cap = await cli(db, ['channel', 'set', 'carol', '--viewer-cap', '3']);
    expect(cap.stderr).toMatch(
      /^streamctl: not applied to live sessions: re-check the viewers of streams\+carol \(viewer cap changed to 3\); cannot reach MistServer.*; untagged streams\+carol \(viewer cap of 3: every viewer is checked\) over MistServer's local UDP API instead \(unconfirmed\)\n$/,
    );
  });

  it('one line naming what changed when it reaches MistServer; nothing at all for a change that changes nothing', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    await addUser(db, 'dan');
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const cap = await cli(db, ['channel', 'set', 'dan', '--viewer-cap', '2']);
    expect(cap.stderr).toBe(
      'streamctl: MistServer: untagged streams+dan (viewer cap of 2: every viewer is checked); re-checking the viewers of streams+dan (viewer cap changed to 2)\n',
    );
    const access = await cli(db, ['channel', 'set', 'dan', '--access', 'private']);
    expect(access.stderr).toMatch(/re-checking the viewers of streams\+dan \(access changed to private\)\n$/);
    mist.requests.length = 0;
    for (const args of [
      ['channel', 'set', 'dan', '--access', 'private'],
      ['channel', 'set', 'dan', '--viewer-cap', '2', '--record', 'on'],
      ['channel', 'password', 'dan', '--clear'],
      ['user', 'disable', 'dan'],
    ]) {
      if (args[1] === 'disable') await cli(db, args);
      const r = await cli(db, args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr, args.join(' ')).toBe('');
    }
    expect(mist.calls('invalidate_sessions')).toEqual([]);
    expect(mist.calls('nuke_stream')).toHaveLength(1); // the first disable only
  });
});
