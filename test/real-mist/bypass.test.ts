// A way around PUSH_REWRITE, on the real MistServer: a native stream key added over
// MistServer's own API publishes a stream streamctl knows nothing of, from an address streamctl's guard
// has blocked, and PUSH_REWRITE never runs for it. doctor fails on it; `mist apply` removes it, says
// so, and the same push is then refused. The sessions check finds the real MistController's environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv, RealMist, sleep, waitFor } from './harness';

const mist = new RealMist();
/** Not a streamctl key (no stc_ prefix): only MistServer's own table knows it. */
const NATIVE_KEY = 'mallory-native-key-7f3a9c21';

beforeAll(async () => {
  await mist.start();
});
afterAll(() => mist.stop());

interface Check {
  check: string;
  status: string;
  message: string;
  fix: string | null;
}
/** doctor starts every trigger program as MistServer does: slow on a loaded machine, so its own time limit. */
const doctor = () => {
  const started = Date.now();
  const r = spawnSync(join(mist.prefix, 'bin', 'streamctl'), ['doctor', '--json'], {
    env: cleanEnv(),
    encoding: 'utf8',
    cwd: '/',
    timeout: 120_000,
  });
  console.log(`doctor took ${Date.now() - started} ms`);
  if (r.error) throw new Error(`streamctl doctor: ${r.error.message}`);
  return { status: r.status, checks: (JSON.parse(r.stdout) as { checks: Check[] }).checks, text: r.stdout };
};

describe('a native stream key', () => {
  it('publishes past PUSH_REWRITE and the guard before mist apply; doctor fails on it', async () => {
    // The guard blocks 127.0.0.1 after one refused push.
    mist.ok(['config', 'set', 'push-guard-failures', '1']);
    const wrong = mist.push('rtmp', `stc_${'q'.repeat(32)}`, 10);
    expect((await wrong.exited).code).not.toBe(0);
    expect(mist.scJson<{ sources: { source: string; blocked: boolean }[] }>(['guard', 'list']).sources).toEqual([
      expect.objectContaining({ source: '127.0.0.1', blocked: true }),
    ]);

    const added = await mist.api({ streamkey_add: { [NATIVE_KEY]: 'streams+mallory' } });
    expect(added.streamkey_add).toEqual({ added: [NATIVE_KEY] });
    const before = mist.events('push').length;
    const p = mist.push('rtmp', NATIVE_KEY, 60);
    await waitFor('streams+mallory active', async () => (await mist.active()).includes('streams+mallory'), 20_000);
    await sleep(2000);
    expect(p.running).toBe(true);
    // PUSH_REWRITE never ran: no push event, and mallory is no streamctl user.
    expect(mist.events('push').length).toBe(before);
    expect(mist.sc(['user', 'show', 'mallory']).status).not.toBe(0);

    const d = doctor();
    expect(d.status).toBe(1);
    expect(d.checks.find((c) => c.check === 'stream keys')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('1 native stream key(s) in MistServer (mall… → streams+mallory)'),
      fix: expect.stringContaining('mist apply'),
    });
    expect(d.text).not.toContain(NATIVE_KEY);
    await p.end();
  });

  it('mist apply removes it and says so; the same push is then refused and audited', async () => {
    const r = mist.sc(['mist', 'apply']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- stream keys streams+mallory: native key mall…: it published to streams+mallory without PUSH_REWRITE');
    expect(r.stdout).not.toContain(NATIVE_KEY);
    expect((await mist.api({ streamkeys: true })).streamkeys ?? {}).toEqual({});

    await waitFor('streams+mallory gone since its last push', async () => !(await mist.active()).includes('streams+mallory'), 60_000, 1000);
    const before = mist.events('push').length;
    const p = mist.push('rtmp', NATIVE_KEY, 20);
    const ended = await Promise.race([p.exited, sleep(15_000).then(() => null)]);
    expect(ended?.code ?? 'still running').not.toBe(0);
    expect(await mist.active()).not.toContain('streams+mallory');
    const events = mist.events('push');
    expect(events.length).toBe(before + 1);
    expect(events[0]).toMatchObject({ outcome: 'refused', ip: '127.0.0.1', detail: 'PUSH_REWRITE' });

    const d = doctor();
    expect(d.checks.find((c) => c.check === 'stream keys')?.status).toBe('ok');
    // The real MistController's environment was read (root): sessions are on.
    expect(d.checks.find((c) => c.check === 'sessions')).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/^sessions on: no NOSESS in MistController's environment \(pid \d+/),
    });
  });
});
