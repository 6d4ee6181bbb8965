// Recordings in process: a channel database with recordings-root set and alice recording, and
// real files catalogued through RECORDING_END exactly as MistServer's payload would describe them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';
import type { Db } from '../../src/store/open';
import recordingEndTrigger from '../../src/triggers/recording-end';
import { tempDir } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { memoryDb, row } from '../support/db';
import { answerSync } from '../support/trigger';

export const nowSec = () => Math.floor(Date.now() / 1000);
export const DAY = 86_400;

export function userId(db: Db, name: string): number {
  return row<{ id: number }>(db, 'SELECT id FROM users WHERE name = ?', name)!.id;
}

/** A channel database with recordings-root set and alice recording. */
export async function setup(): Promise<{ db: Db; root: string; alice: number }> {
  const db = memoryDb();
  const root = join(tempDir('streamctl-rec-'), 'recordings');
  mkdirSync(root);
  await addUser(db, 'alice');
  expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
  expect((await cli(db, ['channel', 'set', 'alice', '--record', 'on'])).status).toBe(0);
  return { db, root, alice: userId(db, 'alice') };
}

export interface EndPayload {
  stream?: string;
  path: string;
  bytes?: number;
  startSec: number;
  seconds?: number;
  code?: string;
  text?: string;
}

/** A RECORDING_END payload shaped exactly like capture 01 (12 lines, each ending in "\n"). */
export function recordingEnd(p: EndPayload): string {
  const seconds = p.seconds ?? 20;
  return [
    p.stream ?? 'streams+alice',
    p.path,
    'EBML',
    p.bytes ?? 1426133,
    seconds,
    p.startSec,
    p.startSec + seconds,
    seconds * 1000 - 357,
    0,
    seconds * 1000 - 357,
    p.code ?? 'CLEAN_EOF',
    p.text ?? 'end of stream',
  ]
    .map((l) => `${l}\n`)
    .join('');
}

/** Writes a small real file where MistServer would have, and catalogues it through RECORDING_END. */
export function record(
  db: Db,
  root: string,
  owner: number,
  startSec: number,
  extra: Partial<EndPayload> = {},
): { id: string; path: string } {
  const path = extra.path ?? join(root, String(owner), `${startSec}.mkv`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.alloc(1024, 7));
  const stream = `streams+${row<{ name: string }>(db, 'SELECT name FROM users WHERE id = ?', owner)!.name}`;
  const r = answerSync(recordingEndTrigger, db, recordingEnd({ stream, path, startSec, ...extra }));
  expect(r.answer).toBe('');
  const catalogued = row<{ id: string }>(db, 'SELECT id FROM recordings WHERE path = ?', resolve(path));
  if (!catalogued) throw new Error(`not catalogued: ${r.lines.join('; ')}`);
  return { id: catalogued.id, path };
}
