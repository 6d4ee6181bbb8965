// `mist apply` and the live effects of admin commands, in process against a fake
// MistServer API (in this process too: the CLI's requests are asynchronous).
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REFUSING_DEFAULT } from '../../src/mist/plan';
import { startFakeMist, type FakeMist } from '../fake-mist';
import { BIN } from '../helpers';
import { addUser, cli } from '../support/cli';
import { INSTALLED, setupDb } from '../support/mist';

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
            { handler: join(BIN, spec.program), sync: true, streams: name === 'USER_NEW' ? ['!#open'] : [], default: spec.refusal === '' ? REFUSING_DEFAULT : spec.refusal }
          : { handler: join(BIN, spec.program), sync: false, streams: [] },
      ]);
    }
    expect(mist.state.triggers.RTMP_PUSH_REWRITE).toBeUndefined();
    expect(mist.state.streams.streams).toEqual({ name: 'streams', source: 'push://' });
    expect(mist.state.streams.vod).toEqual({ name: 'vod', source: join(root, 'placeholder.mkv') });
    expect(Object.values(mist.state.autoPush)).toEqual([{ stream: 'streams+', target: `${root}/$wildcard/$datetime.mkv` }]);
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
        { stream: 'streams+', target: `${root}/$wildcard/$datetime.mkv` },
      ]),
    );
    expect(Object.keys(mist.state.autoPush)).toHaveLength(2);
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
    expect((await cli(db, ['user', 'remove', 'bob'])).status).toBe(0);
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['live+bob']);
    expect(mist.calls('invalidate_sessions')).toHaveLength(2);
    expect(mist.requests.every((r) => typeof (r.nuke_stream ?? r.invalidate_sessions ?? '') === 'string')).toBe(true);
  });

  it('still succeeds and says what was not applied when MistServer is unreachable or not configured', async () => {
    const { db } = await setupDb();
    await addUser(db, 'carol');
    const notConfigured = await cli(db, ['user', 'disable', 'carol']);
    expect(notConfigured.status).toBe(0);
    expect(notConfigured.stderr).toContain('not applied to live sessions: stop the publisher of streams+carol');
    const mist = await startFakeMist();
    await mist.close();
    expect((await cli(db, ['config', 'set', 'mist-api', mist.url])).status).toBe(0);
    const json = await cli(db, ['key', 'rotate', 'carol', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).key).toMatch(/^stc_/);
    expect(json.stderr).toMatch(/not applied to live sessions: stop the publisher of streams\+carol.*cannot reach MistServer/);
  });
});
