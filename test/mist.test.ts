// `mist apply`, the live effects of admin commands, and `doctor`, against a fake MistServer API.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REFUSING_DEFAULT } from '../src/mist/plan';
import { TRIGGERS } from '../src/triggers/registry';
import { cliAsync, startFakeMist, type FakeMist } from './fake-mist';
import { addUser, BIN, cli, freshDb, tempDir } from './helpers';

const INSTALLED = Object.entries(TRIGGERS).filter(([name]) => name !== 'RTMP_PUSH_REWRITE');

/** A migrated database whose recordings root and placeholder are in a temp dir. */
function setupDb(): { db: string; root: string } {
  const db = freshDb();
  const root = join(tempDir(), 'recordings');
  mkdirSync(root);
  expect(cli(db, ['config', 'set', 'recordings-root', root]).status).toBe(0);
  expect(cli(db, ['config', 'set', 'vod-placeholder', join(root, 'placeholder.mkv')]).status).toBe(0);
  return { db, root };
}

const apply = (db: string, mist: FakeMist, ...extra: string[]) => cliAsync(db, ['mist', 'apply', '--api', mist.url, ...extra]);
const writes = (mist: FakeMist) => mist.requests.filter((r) => !('push_auto_list' in r && 'jwks' in r && r.config === true));

describe('mist apply', () => {
  it('sets the streams, one blocking-aware handler per registry trigger and the recording push', async () => {
    const { db, root } = setupDb();
    const mist = await startFakeMist();
    const r = await apply(db, mist);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

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
    expect(cli(db, ['config', 'get', 'mist-api']).stdout.trim()).toBe(mist.url);
  });

  it('never configures an empty default on a blocking trigger', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    await apply(db, mist);
    for (const [name, entries] of Object.entries(mist.state.triggers)) {
      for (const e of entries as { sync: boolean; default?: string }[]) {
        if (e.sync) expect(e.default, name).toMatch(/./);
      }
    }
  });

  it('is idempotent: a second run changes nothing and sends no write', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    const before = structuredClone(mist.state);
    const sent = mist.requests.length;
    const again = await apply(db, mist);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to change');
    expect(mist.state).toEqual(before);
    expect(mist.requests.slice(sent).every((r) => r.config === true && !('addstream' in r) && !('save' in r))).toBe(true);
  });

  it('keeps foreign trigger entries, puts ours last, removes our RTMP_PUSH_REWRITE', async () => {
    const { db } = setupDb();
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
    const { db } = setupDb();
    const mist = await startFakeMist({ streams: { streams: { name: 'streams', source: 'push://127.0.0.1', DVR: 5000 } } });
    const before = structuredClone(mist.state);
    const r = await apply(db, mist, '--dry-run');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('+ trigger PUSH_REWRITE');
    expect(r.stdout).toContain('~ stream streams: source push://127.0.0.1 → push://');
    expect(r.stdout).toContain('dry run');
    expect(mist.state).toEqual(before);
    expect(writes(mist)).toEqual([]);
    expect(cli(db, ['config', 'get', 'mist-api']).stdout.trim()).toBe('');
  });

  it('corrects a stream source and keeps its other options', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist({ streams: { streams: { name: 'streams', source: 'push://127.0.0.1', DVR: 5000, online: 1 } } });
    expect((await apply(db, mist)).status).toBe(0);
    expect(mist.state.streams.streams).toEqual({ name: 'streams', source: 'push://', DVR: 5000 });
  });

  it('replaces an old recording push for <base>+ and keeps restreams', async () => {
    const { db, root } = setupDb();
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
    const { db } = setupDb();
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA';
    const mist = await startFakeMist({ jwks: [[{ kty: 'oct', k: secret, kid: 'site' }, {}]] });
    const r = await apply(db, mist);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- jwks');
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(mist.state.jwks).toEqual([]);
  });

  it('logs in by challenge with --user and --password, and says so in one line when refused', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    mist.account = { username: 'admin', password: 'hunter2' };
    const noLogin = await apply(db, mist);
    expect(noLogin.status).toBe(1);
    expect(noLogin.stderr.trim().split('\n')).toHaveLength(1);
    expect(noLogin.stderr).toContain('wants a login');
    const wrong = await apply(db, mist, '--user', 'admin', '--password', 'nope');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('refused the login');
    const ok = await apply(db, mist, '--user', 'admin', '--password', 'hunter2');
    expect(ok.status).toBe(0);
    expect(mist.state.triggers.PUSH_REWRITE).toHaveLength(1);
    expect(JSON.stringify(mist.requests)).not.toContain('hunter2');
  });

  it('fails in one line when MistServer cannot be reached', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    await mist.close();
    const r = await apply(db, mist);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot reach MistServer');
  });
});

describe('admin changes reach live sessions', () => {
  it('stops the publisher on key rotate, key revoke and user disable, with the plain-string nuke_stream', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    addUser(db, 'alice');
    cli(db, ['config', 'set', 'mist-api', mist.url]);
    expect((await cliAsync(db, ['key', 'rotate', 'alice'])).status).toBe(0);
    await cliAsync(db, ['key', 'add', 'alice', '--label', 'backup']);
    expect((await cliAsync(db, ['key', 'revoke', 'alice', 'backup'])).status).toBe(0);
    const r = await cliAsync(db, ['user', 'disable', 'alice']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('stopped the publisher of streams+alice');
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['streams+alice', 'streams+alice', 'streams+alice']);
    expect(mist.calls('stop_sessions')).toEqual([]);
  });

  it('re-checks viewers with invalidate_sessions on a channel access change, and both on user remove', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    addUser(db, 'bob');
    cli(db, ['config', 'set', 'mist-api', mist.url]);
    cli(db, ['config', 'set', 'stream-base', 'live']);
    expect((await cliAsync(db, ['channel', 'set', 'bob', '--access', 'private'])).status).toBe(0);
    expect(mist.calls('invalidate_sessions').map((c) => c.invalidate_sessions)).toEqual(['live+bob']);
    expect((await cliAsync(db, ['channel', 'set', 'bob', '--record', 'on'])).status).toBe(0);
    expect(mist.calls('invalidate_sessions')).toHaveLength(1);
    expect((await cliAsync(db, ['user', 'remove', 'bob'])).status).toBe(0);
    expect(mist.calls('nuke_stream').map((c) => c.nuke_stream)).toEqual(['live+bob']);
    expect(mist.calls('invalidate_sessions')).toHaveLength(2);
    expect(mist.requests.every((r) => typeof (r.nuke_stream ?? r.invalidate_sessions ?? '') === 'string')).toBe(true);
  });

  it('still succeeds and says what was not applied when MistServer is unreachable or not configured', async () => {
    const { db } = setupDb();
    addUser(db, 'carol');
    const notConfigured = cli(db, ['user', 'disable', 'carol']);
    expect(notConfigured.status).toBe(0);
    expect(notConfigured.stderr).toContain('not applied to live sessions: stop the publisher of streams+carol');
    const mist = await startFakeMist();
    await mist.close();
    cli(db, ['config', 'set', 'mist-api', mist.url]);
    const json = await cliAsync(db, ['key', 'rotate', 'carol', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).key).toMatch(/^stc_/);
    expect(json.stderr).toMatch(/not applied to live sessions: stop the publisher of streams\+carol.*cannot reach MistServer/);
  });
});

describe('doctor', () => {
  const doctor = (db: string, mist: FakeMist, ...extra: string[]) => cliAsync(db, ['doctor', '--api', mist.url, '--json', ...extra]);
  const byCheck = (out: string) => {
    const report = JSON.parse(out) as { ok: boolean; checks: { check: string; status: string; message: string; fix: string | null }[] };
    return { report, failed: report.checks.filter((c) => c.status === 'fail') };
  };

  it('passes after apply and notes the stand-in default', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    await apply(db, mist);
    const conf = join(tempDir(), 'streamctl.conf');
    writeFileSync(conf, `db=${db}\n`);
    const r = await cliAsync(db, ['doctor', '--api', mist.url, '--json'], { STREAMCTL_CONF: conf });
    const { report, failed } = byCheck(r.stdout);
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    expect(r.status).toBe(0);
    expect(report.checks.find((c) => c.check === 'trigger PUSH_REWRITE')?.message).toContain(REFUSING_DEFAULT);
    expect(report.checks.find((c) => c.check === 'programs run')?.status).toBe('ok');
  });

  it('fails when the triggers run by MistServer would open another database', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    await apply(db, mist);
    const { failed } = byCheck((await doctor(db, mist)).stdout);
    expect(failed.map((f) => f.check)).toEqual(['trigger database']);
    const conf = join(tempDir(), 'streamctl.conf');
    writeFileSync(conf, 'db=/srv/other/streamctl.db\n');
    const other = byCheck((await cliAsync(db, ['doctor', '--api', mist.url, '--json'], { STREAMCTL_CONF: conf })).stdout);
    expect(other.failed.find((f) => f.check === 'trigger database')?.message).toContain('/srv/other/streamctl.db');
  });

  it('flags fail-open defaults, both rewrite triggers, missing handlers, jwks keys and a missing recording push, with fixes', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    await apply(db, mist);
    mist.state.triggers.PUSH_REWRITE[0].default = '';
    mist.state.triggers.RTMP_PUSH_REWRITE = [{ handler: '/usr/local/bin/other-rewrite', sync: true, streams: [], default: 'x' }];
    const [someTrigger] = INSTALLED.filter(([name]) => name !== 'PUSH_REWRITE').map(([name]) => name);
    if (someTrigger) delete mist.state.triggers[someTrigger];
    mist.state.jwks = [[{ kty: 'oct', k: 'secretmaterial', kid: 'x' }, {}]];
    mist.state.autoPush = {};
    const r = await doctor(db, mist);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('secretmaterial');
    const { report, failed } = byCheck(r.stdout);
    expect(report.ok).toBe(false);
    const msg = (check: string) => failed.find((c) => c.check === check);
    expect(msg('trigger PUSH_REWRITE')?.message).toContain('fail-open');
    expect(msg('trigger RTMP_PUSH_REWRITE')?.message).toContain('both rewrite triggers');
    if (someTrigger) expect(msg(`trigger ${someTrigger}`)?.message).toContain('missing handler');
    expect(msg('jwks')?.fix).toContain('mist apply');
    expect(msg('recording push')?.message).toContain('missing');
    for (const f of failed) expect(f.fix).toBeTruthy();
  });

  it('reports a missing database without creating it, and an unreachable MistServer', async () => {
    const dir = tempDir();
    const db = join(dir, 'none.db');
    const mist = await startFakeMist();
    await mist.close();
    const r = await doctor(db, mist);
    expect(r.status).toBe(1);
    expect(existsSync(db)).toBe(false);
    const { failed } = byCheck(r.stdout);
    expect(failed.find((c) => c.check === 'database')?.fix).toContain('db migrate');
    expect(failed.find((c) => c.check === 'mistserver')?.message).toContain('cannot reach');
  });

  it('refuses an unknown MistServer system user in one line', async () => {
    const { db } = setupDb();
    const mist = await startFakeMist();
    const r = await doctor(db, mist, '--mist-user', 'no-such-user-here');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
