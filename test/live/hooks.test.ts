// Site hooks in process: `streamctl hook` and the live/offline programs run by STREAM_BUFFER
// transitions (the hooks themselves are real programs: small shell scripts in a temp dir).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS, hookBound } from '../../src/live/run-hook';
import { tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { at, deliver, empty, full, HEALTH, recordingHook } from './deliveries';

describe('hooks', async () => {
  const db = memoryDb();
  await addUser(db, 'alice');
  const dir = tempDir();
  const live = recordingHook(dir, 'on-live');
  const offline = recordingHook(dir, 'on-offline');

  it('sets, lists and unsets hooks; refuses a program that is not executable', async () => {
    expect((await cli(db, ['hook', 'set', 'live', live.program])).status).toBe(0);
    expect((await cli(db, ['hook', 'set', 'offline', offline.program])).status).toBe(0);
    expect((await cliJson(db, ['hook', 'list'])).map((h: any) => [h.event, h.program])).toEqual([
      ['live', live.program],
      ['offline', offline.program],
    ]);
    const bad = await cli(db, ['hook', 'set', 'live', join(dir, 'missing')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli(db, ['hook', 'set', 'online', live.program])).stderr).toMatch(/invalid hook event/);
  });

  it('runs the live hook once when the channel goes live and the offline hook once when it ends', () => {
    deliver(db, full('streams+alice', 8_000_000));
    deliver(db, full('streams+alice', 8_000_000));
    deliver(db, at('STREAM_BUFFER', `streams+alice\nDRY\n${HEALTH}`, 8_001_000));
    expect(live.events()).toEqual([
      expect.objectContaining({
        event: 'live',
        channel: 'alice',
        stream: 'streams+alice',
        state: 'live',
        at: new Date(8_000_000).toISOString(),
      }),
    ]);
    expect(live.events()[0].broadcast).toMatchObject({ ended_at: null, started_at: new Date(8_000_000).toISOString() });
    deliver(db, empty('streams+alice', 8_002_000));
    deliver(db, empty('streams+alice', 8_002_000));
    expect(offline.events()).toEqual([expect.objectContaining({ event: 'offline', channel: 'alice', state: 'offline' })]);
    expect(offline.events()[0].broadcast).toMatchObject({ ended_at: new Date(8_002_000).toISOString(), ended_cleanly: true });
    expect(live.events()).toHaveLength(1);
  });

  afterEach(() => void (hookBound.ms = HOOK_TIMEOUT_MS));

  it('kills a hanging hook at the bound, so the trigger ends long before the hook would', async () => {
    // The real bound is 5 s; the kill is the same at 0.3 s, and the test does not wait 5 s for it.
    expect(hookBound.ms).toBe(5000);
    hookBound.ms = 300;
    const hang = join(dir, 'hang');
    writeFileSync(hang, '#!/bin/sh\nsleep 60\n');
    chmodSync(hang, 0o755);
    expect((await cli(db, ['hook', 'set', 'live', hang])).status).toBe(0);
    const started = Date.now();
    const r = deliver(db, { trigger: 'STREAM_BUFFER', payload: `streams+alice\nFULL\n${HEALTH}`, env: { MIST_TIME: '9000000' } });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took, 'killed at the bound, not when `sleep 60` ends').toBeLessThan(30_000);
    expect(r.lines).toEqual([expect.stringMatching(/ran longer than 0.3 s and was killed/)]);
    expect((await cliJson(db, ['status', 'alice'])).state).toBe('live');
    expect((await cli(db, ['hook', 'unset', 'live'])).status).toBe(0);
    expect((await cli(db, ['hook', 'unset', 'live'])).status).not.toBe(0);
  });
});
