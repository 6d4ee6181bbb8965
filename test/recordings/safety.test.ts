// `recordings prune --dry-run` says when a channel's own retention overrides
// --older-than (or the setting), and deleting a pinned recording needs --force.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDb, tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { runInProcess } from '../support/trigger';

const DAY = 86_400;
const nowSec = () => Math.floor(Date.now() / 1000);

/** A channel database with recordings-root set, alice and bob recording. */
async function setup() {
  const db = freshDb();
  const root = join(tempDir('streamctl-rec-'), 'recordings');
  mkdirSync(root);
  for (const name of ['alice', 'bob']) {
    await addUser(db, name);
    expect((await cli(db, ['channel', 'set', name, '--record', 'on'])).status).toBe(0);
  }
  expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
  return { db, root };
}

/** Catalogues a real file through RECORDING_END (the payload shape of capture 01). */
async function record(db: string, root: string, user: string, userId: number, startSec: number): Promise<{ id: string; path: string }> {
  const path = join(root, String(userId), `${startSec}.mkv`);
  mkdirSync(join(root, String(userId)), { recursive: true });
  writeFileSync(path, Buffer.alloc(1024, 7));
  const payload = [`streams+${user}`, path, 'EBML', 1024, 20, startSec, startSec + 20, 19643, 0, 19643, 'CLEAN_EOF', 'end of stream']
    .map((l) => `${l}\n`)
    .join('');
  expect((await runInProcess({ trigger: 'RECORDING_END', payload, db })).stdout).toBe('');
  const row = (await cliJson<{ id: string; path: string }[]>(db, ['recordings', 'list'])).find((r) => r.path === path);
  if (!row) throw new Error(`not catalogued: ${path}`);
  return { id: row.id, path };
}

describe('recordings prune --dry-run and channel retention', async () => {
  const { db, root } = await setup();
  await cli(db, ['channel', 'set', 'bob', '--retention', '60d']);
  const bobOld = await record(db, root, 'bob', 2, nowSec() - 40 * DAY);

  it('says which channels keep their own retention instead of --older-than', async () => {
    const r = await cli(db, ['recordings', 'prune', '--older-than', '30d', '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('channel bob keeps its own retention 60d, not --older-than 30d\n');
    expect(r.stdout).not.toContain('channel alice');
    expect(r.stdout).toContain('would delete 0 recording(s)'); // bob's 40-day-old one stays
    const json = await cliJson(db, ['recordings', 'prune', '--older-than', '30d', '--dry-run']);
    expect(json.retention_overrides).toEqual([{ channel: 'bob', retention: '60d', retention_ms: 60 * DAY * 1000 }]);
    expect(existsSync(bobOld.path)).toBe(true);
  });

  it('names the setting when no --older-than is given, and is quiet when the retention is the same', async () => {
    expect((await cli(db, ['recordings', 'prune', '--dry-run'])).stdout).toContain(
      'channel bob keeps its own retention 60d, not the recordings-retention setting (none)\n',
    );
    expect((await cli(db, ['recordings', 'prune', '--older-than', '60d', '--dry-run'])).stdout).not.toContain('keeps its own retention');
  });
});

describe('recordings delete of a pinned recording', async () => {
  const { db, root } = await setup();
  const rec = await record(db, root, 'alice', 1, nowSec() - DAY);
  await cli(db, ['recordings', 'pin', rec.id]);

  it('refuses without --force and keeps file and row', async () => {
    const r = await cli(db, ['recordings', 'delete', rec.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`streamctl: ${rec.id} is pinned; add --force to delete it anyway (or unpin it first)\n`);
    expect(existsSync(rec.path)).toBe(true);
    expect(await cliJson(db, ['recordings', 'show', rec.id])).toMatchObject({ pinned: true });
  });

  it('deletes it with --force', async () => {
    const r = await cli(db, ['recordings', 'delete', rec.id, '--force']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${rec.id} deleted\n`);
    expect(existsSync(rec.path)).toBe(false);
  });

  it('an unpinned recording needs no --force', async () => {
    const other = await record(db, root, 'alice', 1, nowSec() - 2 * DAY);
    expect((await cli(db, ['recordings', 'delete', other.id])).status).toBe(0);
  });
});
