// A recording belongs to the broadcast it was made during, whatever order MistServer's triggers
// arrive in: the recorder starts at PUSH_OUT_START, seconds before STREAM_BUFFER FULL opens the
// broadcast, may stop after the EMPTY that closes it, and a short push's RECORDING_END can even be
// handled before its FULL. In process, against an in-memory database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/open';
import pushOutStartTrigger from '../../src/triggers/push-out-start';
import recordingEndTrigger from '../../src/triggers/recording-end';
import streamBuffer from '../../src/triggers/stream-buffer';
import { fixture } from '../support/helpers';
import { cliJson } from '../support/cli';
import { answerSync } from '../support/trigger';
import { setup } from './support';

/** PUSH_OUT_START as in capture 01, at `at` (ms); makes the file where MistServer would write. */
function pushOutStart(db: Db, at: number): string {
  const r = answerSync(pushOutStartTrigger, db, fixture('01-basic-push-alice/PUSH_OUT_START-1'), { eventTime: at });
  expect(r.answer).toMatch(/\.mkv$/);
  mkdirSync(dirname(r.answer), { recursive: true });
  writeFileSync(r.answer, Buffer.alloc(2048, 1));
  return r.answer;
}

function buffer(db: Db, state: 'FULL' | 'EMPTY', at: number): void {
  const payload = state === 'FULL' ? fixture('01-basic-push-alice/STREAM_BUFFER-1') : fixture('01-basic-push-alice/STREAM_BUFFER-2');
  expect(answerSync(streamBuffer, db, payload, { eventTime: at, eventId: `buffer-${state}-${at}` })).toEqual({ answer: '', lines: [] });
}

/** RECORDING_END shaped like capture 01: start and stop in whole unix seconds. */
function recordingEnd(db: Db, path: string, startMs: number, stopMs: number): void {
  const [start, stop] = [Math.floor(startMs / 1000), Math.floor(stopMs / 1000)];
  const payload = [
    'streams+alice',
    path,
    'EBML',
    2048,
    stop - start,
    start,
    stop,
    (stop - start) * 1000,
    0,
    (stop - start) * 1000,
    'CLEAN_EOF',
    'end of stream',
    '',
  ].join('\n');
  expect(answerSync(recordingEndTrigger, db, payload, { eventTime: stopMs + 50 })).toEqual({ answer: '', lines: [] });
}

const broadcasts = (db: Db) => cliJson<{ id: number; started_at: string }[]>(db, ['broadcasts', 'alice']);
const recordingOf = async (db: Db, path: string) =>
  (await cliJson<{ path: string; broadcast_id: number | null }[]>(db, ['recordings', 'list', 'alice'])).find((r) => r.path === path);

describe('recordings are linked to their broadcast', () => {
  // Whole seconds plus a fraction, like MIST_TIME; two minutes ago.
  const t0 = (Math.floor(Date.now() / 1000) - 120) * 1000 + 90;

  it('when the push started 4 s before FULL and the recorder stopped after EMPTY', async () => {
    const { db } = await setup();
    const path = pushOutStart(db, t0);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 6500);
    recordingEnd(db, path, t0, t0 + 7000);
    const [b] = await broadcasts(db);
    expect(b).toBeDefined();
    expect((await recordingOf(db, path))?.broadcast_id).toBe(b!.id);
  });

  it('when the push ended before its broadcast reached FULL', async () => {
    const { db } = await setup();
    const path = pushOutStart(db, t0);
    recordingEnd(db, path, t0, t0 + 3000);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 4500);
    const [b] = await broadcasts(db);
    expect(b).toBeDefined();
    expect((await recordingOf(db, path))?.broadcast_id).toBe(b!.id);
  });

  it('when RECORDING_END is handled before the FULL that opens the broadcast', async () => {
    const { db } = await setup();
    const path = pushOutStart(db, t0);
    recordingEnd(db, path, t0, t0 + 30_000);
    expect((await recordingOf(db, path))?.broadcast_id).toBeNull();
    buffer(db, 'FULL', t0 + 4000);
    const [b] = await broadcasts(db);
    expect(b).toBeDefined();
    expect((await recordingOf(db, path))?.broadcast_id).toBe(b!.id);
  });

  it('to the broadcast it shares time with, not the one that ended just before it started', async () => {
    const { db } = await setup();
    buffer(db, 'FULL', t0 - 30_000);
    buffer(db, 'EMPTY', t0 - 2000);
    const path = pushOutStart(db, t0);
    buffer(db, 'FULL', t0 + 4000);
    buffer(db, 'EMPTY', t0 + 20_000);
    recordingEnd(db, path, t0, t0 + 20_000);
    const list = await broadcasts(db);
    expect(list).toHaveLength(2);
    const newest = list.reduce((a, b) => (a.started_at > b.started_at ? a : b));
    expect((await recordingOf(db, path))?.broadcast_id).toBe(newest.id);
  });
});
