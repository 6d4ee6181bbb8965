// A recording belongs to the broadcast it was made during, whatever order MistServer's triggers
// arrive in: the recorder starts at PUSH_OUT_START, seconds before STREAM_BUFFER FULL opens the
// broadcast, may stop after the EMPTY that closes it, and a short push's RECORDING_END can even be
// handled before its FULL.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addUser, cli, cliJson, fixture, freshDb, runTrigger, tempDir } from './helpers';

function setup() {
  const db = freshDb();
  const root = join(tempDir('streamctl-link-'), 'recordings');
  mkdirSync(root);
  addUser(db, 'alice');
  expect(cli(db, ['config', 'set', 'recordings-root', root]).status).toBe(0);
  expect(cli(db, ['channel', 'set', 'alice', '--record', 'on']).status).toBe(0);
  return db;
}

/** PUSH_OUT_START as in capture 01, at `at` (ms); makes the file where MistServer would write. */
function pushOutStart(db: string, at: number): string {
  const r = runTrigger({ trigger: 'PUSH_OUT_START', payload: fixture('01-basic-push-alice/PUSH_OUT_START-1'), db, env: { MIST_TIME: String(at) } });
  expect(r.stdout).toMatch(/\.mkv$/);
  mkdirSync(dirname(r.stdout), { recursive: true });
  writeFileSync(r.stdout, Buffer.alloc(2048, 1));
  return r.stdout;
}

function buffer(db: string, state: 'FULL' | 'EMPTY', at: number): void {
  const payload = state === 'FULL' ? fixture('01-basic-push-alice/STREAM_BUFFER-1') : fixture('01-basic-push-alice/STREAM_BUFFER-2');
  const r = runTrigger({ trigger: 'STREAM_BUFFER', payload, db, env: { MIST_TIME: String(at), MIST_TUUID: `buffer-${state}-${at}` } });
  expect(r.stderr).toBe('');
}

/** RECORDING_END shaped like capture 01: start and stop in whole unix seconds. */
function recordingEnd(db: string, path: string, startMs: number, stopMs: number): void {
  const [start, stop] = [Math.floor(startMs / 1000), Math.floor(stopMs / 1000)];
  const payload = ['streams+alice', path, 'EBML', 2048, stop - start, start, stop, (stop - start) * 1000, 0, (stop - start) * 1000, 'CLEAN_EOF', 'end of stream', '']
    .join('\n');
  const r = runTrigger({ trigger: 'RECORDING_END', payload, db, env: { MIST_TIME: String(stopMs + 50) } });
  expect(r.stderr).toBe('');
}

const broadcasts = (db: string) => cliJson<{ id: number; started_at: string }[]>(db, ['broadcasts', 'alice']);
const recordingOf = (db: string, path: string) => cliJson<{ path: string; broadcast_id: number | null }[]>(db, ['recordings', 'list', 'alice']).find((r) => r.path === path);

describe('recordings are linked to their broadcast', () => {
  // Whole seconds plus a fraction, like MIST_TIME; two minutes ago.
  const t0 = (Math.floor(Date.now() / 1000) - 120) * 1000 + 90;

  it('when the push started 4 s before FULL and the recorder stopped after EMPTY', () => {
    const db = setup();
    const path = pushOutStart(db, t0);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 6500);
    recordingEnd(db, path, t0, t0 + 7000);
    const [b] = broadcasts(db);
    expect(recordingOf(db, path)?.broadcast_id).toBe(b!.id);
  });

  it('when the push ended before its broadcast reached FULL', () => {
    const db = setup();
    const path = pushOutStart(db, t0);
    recordingEnd(db, path, t0, t0 + 3000);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 4500);
    const [b] = broadcasts(db);
    expect(recordingOf(db, path)?.broadcast_id).toBe(b!.id);
  });

  it('when RECORDING_END is handled before the FULL that opens the broadcast', () => {
    const db = setup();
    const path = pushOutStart(db, t0);
    recordingEnd(db, path, t0, t0 + 30_000);
    expect(recordingOf(db, path)?.broadcast_id).toBeNull();
    buffer(db, 'FULL', t0 + 4000);
    const [b] = broadcasts(db);
    expect(recordingOf(db, path)?.broadcast_id).toBe(b!.id);
  });

  it('to the broadcast it shares time with, not the one that ended just before it started', () => {
    const db = setup();
    buffer(db, 'FULL', t0 - 30_000);
    buffer(db, 'EMPTY', t0 - 2000);
    const path = pushOutStart(db, t0);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 20_000);
    recordingEnd(db, path, t0, t0 + 20_000);
    const list = broadcasts(db);
    expect(list).toHaveLength(2);
    const newest = list.reduce((a, b) => (a.started_at > b.started_at ? a : b));
    expect(recordingOf(db, path)?.broadcast_id).toBe(newest.id);
  });
});
