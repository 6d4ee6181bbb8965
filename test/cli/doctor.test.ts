// `streamctl doctor` in process against a fake MistServer API (in this process too: the CLI's
// requests are asynchronous). Its "programs run" check, which starts every built trigger program,
// is the process layer's (test/process/doctor-as-user.test.ts, package.test.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REFUSING_DEFAULT } from '../../src/wiring/plan';
import { startFakeMist, type FakeMist } from '../support/fake-mist';
import { tempDir } from '../support/helpers';
import { cli } from '../support/cli';
import { INSTALLED, setupDb } from '../support/mist';

afterEach(() => {
  vi.unstubAllEnvs();
});

const apply = (db: string, mist: FakeMist) => cli(db, ['mist', 'apply', '--api', mist.url]);

describe('doctor', () => {
  const doctor = (db: string, mist: FakeMist, ...extra: string[]) => cli(db, ['doctor', '--api', mist.url, '--json', ...extra]);
  const byCheck = (out: string) => {
    const report = JSON.parse(out) as { ok: boolean; checks: { check: string; status: string; message: string; fix: string | null }[] };
    return { report, failed: report.checks.filter((c) => c.status === 'fail') };
  };
  /** A streamctl.conf naming `db`, as install.sh writes it beside the programs. */
  const confFor = (db: string) => {
    const conf = join(tempDir(), 'streamctl.conf');
    writeFileSync(conf, `db=${db}\n`);
    return conf;
  };

  it('passes after apply and notes the stand-in default', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    vi.stubEnv('STREAMCTL_CONF', confFor(db));
    const r = await cli(db, ['doctor', '--api', mist.url, '--json']);
    const { report, failed } = byCheck(r.stdout);
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    expect(r.status).toBe(0);
    expect(report.checks.find((c) => c.check === 'trigger PUSH_REWRITE')?.message).toContain(REFUSING_DEFAULT);
  });

  it('fails when the triggers run by MistServer would open another database', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    const { failed } = byCheck((await doctor(db, mist)).stdout);
    expect(failed.map((f) => f.check)).toEqual(['trigger database']);
    vi.stubEnv('STREAMCTL_CONF', confFor('/srv/other/streamctl.db'));
    const other = byCheck((await doctor(db, mist)).stdout);
    expect(other.failed.find((f) => f.check === 'trigger database')?.message).toContain('/srv/other/streamctl.db');
  });

  it('flags fail-open defaults, both rewrite triggers, missing handlers, jwks keys and a missing recording push, with fixes', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    mist.state.triggers.PUSH_REWRITE[0].default = '';
    mist.state.triggers.RTMP_PUSH_REWRITE = [{ handler: '/usr/local/bin/other-rewrite', sync: true, streams: [], default: 'x' }];
    const someTrigger = INSTALLED.map(([name]) => name).find((name) => name !== 'PUSH_REWRITE');
    expect(someTrigger).toBeDefined();
    delete mist.state.triggers[someTrigger!];
    mist.state.jwks = [[{ kty: 'oct', k: 'secretmaterial', kid: 'x' }, {}]];
    mist.state.autoPush = {};
    const r = await doctor(db, mist);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('secretmaterial');
    const { report, failed } = byCheck(r.stdout);
    expect(report.ok).toBe(false);
    const msg = (check: string) => failed.find((c) => c.check === check);
    expect(
      failed.find((c) => c.check === 'mistserver'),
      JSON.stringify(failed),
    ).toBeUndefined();
    expect(msg('trigger PUSH_REWRITE')?.message).toContain('fail-open');
    expect(msg('trigger RTMP_PUSH_REWRITE')?.message).toContain('both rewrite triggers');
    expect(msg(`trigger ${someTrigger}`)?.message).toContain('missing handler');
    expect(msg('jwks')?.fix).toContain('mist apply');
    expect(msg('recording push')?.message).toContain('missing');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.fix, f.check).toBeTruthy();
  });

  it('fails on native stream keys (a push with one skips PUSH_REWRITE) until apply removes them', async () => {
    const { db } = await setupDb();
    const mist = await startFakeMist();
    expect((await apply(db, mist)).status).toBe(0);
    mist.state.streamKeys = { 'mallorys-native-key-0123456789': 'streams+mallory' };
    const r = await doctor(db, mist);
    expect(r.stdout).not.toContain('mallorys-native-key');
    const keys = byCheck(r.stdout).failed.find((f) => f.check === 'stream keys');
    expect(keys?.message).toContain(
      '1 native stream key(s) in MistServer (mall… → streams+mallory): a push with one publishes without PUSH_REWRITE',
    );
    expect(keys?.fix).toContain('mist apply');
    expect((await apply(db, mist)).status).toBe(0);
    expect(byCheck((await doctor(db, mist)).stdout).report.checks.find((c) => c.check === 'stream keys')?.status).toBe('ok');
  });

  it('reports a missing database without creating it, and an unreachable MistServer', async () => {
    const db = join(tempDir(), 'none.db');
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
    const { db } = await setupDb();
    const mist = await startFakeMist();
    const r = await doctor(db, mist, '--mist-user', 'no-such-user-here');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
