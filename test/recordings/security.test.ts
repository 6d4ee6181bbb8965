// MistServer's user can write inside the recordings root, so it can plant
// symbolic links there (a channel folder linking outside, a file linking to a secret) and files in
// another channel's folder. None of it may be answered, catalogued, served or deleted.
import { existsSync, lstatSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, freshDb } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { sqlOnFile } from '../support/db';
import { runInProcess } from '../support/trigger';

/** A database with alice and bob recording into a fresh root, and a folder outside the root. */
async function setup() {
  const db = freshDb();
  const base = tempDir('streamctl-links-');
  const root = join(base, 'recordings');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  await addUser(db, 'alice');
  await addUser(db, 'bob');
  expect((await cli(db, ['config', 'set', 'recordings-root', root])).status).toBe(0);
  for (const u of ['alice', 'bob']) expect((await cli(db, ['channel', 'set', u, '--record', 'on'])).status).toBe(0);
  const id = (name: string) => (sqlOnFile(db, 'SELECT id FROM users WHERE name = ?', name) as { id: number }[])[0]!.id;
  return { db, root, outside, alice: id('alice'), bob: id('bob') };
}

const startSec = Math.floor(Date.now() / 1000) - 100;
/** RECORDING_END shaped like capture 01: 12 lines, each ending in "\n". */
const recordingEnd = (stream: string, path: string) =>
  [stream, path, 'EBML', 1024, 20, startSec, startSec + 20, 19643, 0, 19643, 'CLEAN_EOF', 'end of stream'].map((l) => `${l}\n`).join('');
const end = (db: string, stream: string, path: string) =>
  runInProcess({ trigger: 'RECORDING_END', payload: recordingEnd(stream, path), db });
const catalogued = (db: string) =>
  sqlOnFile(db, 'SELECT id, path, user_id AS userId FROM recordings') as { id: string; path: string; userId: number }[];
const pushOut = (db: string, time: number) =>
  runInProcess({ trigger: 'PUSH_OUT_START', payload: 'streams+alice\n/x/$wildcard/$datetime.mkv', db, env: { MIST_TIME: String(time) } });

describe('PUSH_OUT_START never answers a path through a link', async () => {
  it('refuses when the channel folder is a link leading outside the root', async () => {
    const { db, root, outside, alice } = await setup();
    symlinkSync(outside, join(root, String(alice)));
    const r = await pushOut(db, 1795461837090);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not a folder|outside recordings-root/);
  });

  it('creates the channel folder as a real folder, and treats a dangling link at the name as taken', async () => {
    const { db, root, outside, alice } = await setup();
    const first = (await pushOut(db, 1795461837090)).stdout;
    expect(first).toBe(join(root, String(alice), '20261123-192357-090.mkv'));
    expect(lstatSync(join(root, String(alice))).isDirectory()).toBe(true);
    symlinkSync(join(outside, 'planted.mkv'), first); // dangling: MistServer would create the file outside
    expect((await pushOut(db, 1795461837090)).stdout).toBe(join(root, String(alice), '20261123-192357-091.mkv'));
    expect(existsSync(join(outside, 'planted.mkv'))).toBe(false);
  });
});

describe("RECORDING_END catalogues only a real file in the channel's own folder", () => {
  it('refuses a file reached through a channel folder that links outside the root', async () => {
    const { db, root, outside, alice } = await setup();
    symlinkSync(outside, join(root, String(alice)));
    writeFileSync(join(outside, 'x.mkv'), 'outside');
    const r = await end(db, 'streams+alice', join(root, String(alice), 'x.mkv'));
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not cataloguing/);
    expect(catalogued(db)).toEqual([]);
  });

  it('refuses a file that is a link to a file outside the root', async () => {
    const { db, root, outside, alice } = await setup();
    mkdirSync(join(root, String(alice)));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(root, String(alice), 'secret.mkv'));
    expect((await end(db, 'streams+alice', join(root, String(alice), 'secret.mkv'))).stderr).toMatch(/symbolic link/);
    expect(catalogued(db)).toEqual([]);
  });

  it("refuses bob's recording in alice's folder, and one in the root itself", async () => {
    const { db, root, alice, bob } = await setup();
    mkdirSync(join(root, String(alice)));
    writeFileSync(join(root, String(alice), 'alice.mkv'), 'a');
    writeFileSync(join(root, 'loose.mkv'), 'a');
    expect((await end(db, 'streams+bob', join(root, String(alice), 'alice.mkv'))).stderr).toMatch(/own folder/);
    expect((await end(db, 'streams+bob', join(root, 'loose.mkv'))).stderr).toMatch(/own folder/);
    expect(catalogued(db)).toEqual([]);
    expect((await end(db, 'streams+alice', join(root, String(alice), 'alice.mkv'))).stderr).toBe('');
    expect(catalogued(db)).toMatchObject([{ userId: alice }]);
    expect(bob).not.toBe(alice);
  });
});

/** alice's recording, catalogued while everything was in order; then the folder is swapped for a link. */
async function cataloguedThenSwapped(swap: 'folder' | 'file') {
  const s = await setup();
  const folder = join(s.root, String(s.alice));
  mkdirSync(folder);
  const path = join(folder, 'rec.mkv');
  writeFileSync(path, 'recording');
  expect((await end(s.db, 'streams+alice', path)).stderr).toBe('');
  const [rec] = catalogued(s.db);
  if (swap === 'folder') {
    renameSync(folder, join(s.root, 'moved'));
    writeFileSync(join(s.outside, 'rec.mkv'), 'outside file');
    symlinkSync(s.outside, folder);
  } else {
    writeFileSync(join(s.outside, 'secret.txt'), 'secret');
    renameSync(path, join(folder, 'old.mkv'));
    symlinkSync(join(s.outside, 'secret.txt'), path);
  }
  return { ...s, id: rec!.id, path };
}

describe('STREAM_SOURCE never serves through a link', async () => {
  const source = (db: string, id: string) => runInProcess({ trigger: 'STREAM_SOURCE', payload: `vod+${id}`, db });

  it.each(['folder', 'file'] as const)('a %s link planted after cataloguing is not served', async (swap) => {
    const { db, id } = await cataloguedThenSwapped(swap);
    const r = await source(db, id);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not served/);
  });

  it('serves the same recording while it is a real file', async () => {
    const { db, root, alice } = await setup();
    mkdirSync(join(root, String(alice)));
    const path = join(root, String(alice), 'ok.mkv');
    writeFileSync(path, 'recording');
    await end(db, 'streams+alice', path);
    expect((await source(db, catalogued(db)[0]!.id)).stdout).toBe(resolve(path));
  });
});

describe('recordings delete and prune never unlink through a link', async () => {
  it('delete refuses and leaves the file outside the root in place', async () => {
    const { db, outside, id } = await cataloguedThenSwapped('folder');
    const r = await cli(db, ['recordings', 'delete', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/outside recordings-root/);
    expect(existsSync(join(outside, 'rec.mkv'))).toBe(true);
    expect(catalogued(db)).toHaveLength(1);
  });

  it('prune reports it outside the root and leaves the file in place', async () => {
    const { db, outside } = await cataloguedThenSwapped('folder');
    sqlOnFile(db, 'UPDATE recordings SET started_at = 0, ended_at = 1');
    const r = await cliJson(db, ['recordings', 'prune', '--older-than', '1d']);
    expect(r).toMatchObject({ deleted: 0, outside_root: 1 });
    expect(existsSync(join(outside, 'rec.mkv'))).toBe(true);
  });
});
