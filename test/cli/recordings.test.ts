// The `recordings` CLI in process (list, show, pin, delete, prune, scan) and the recordings-root
// setting, against recordings catalogued through RECORDING_END with real files in temp folders.
import { existsSync, mkdirSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import streamSource from '../../src/triggers/stream-source';
import { tempDir } from '../support/helpers';
import { addUser, cli, cliJson } from '../support/cli';
import { memoryDb } from '../support/db';
import { answerSync } from '../support/trigger';
import { DAY, nowSec, record, setup, userId } from '../recordings/support';

describe('streamctl config set recordings-root', () => {
  const db = memoryDb();
  it.each(['relative/dir', '/srv/$wildcard', '/srv/rec?x=1', '/'])('refuses %s', async (value) => {
    const r = await cli(db, ['config', 'set', 'recordings-root', value]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli(db, ['config', 'get', 'recordings-root'])).stdout).toBe('\n');
  });
});

describe('streamctl recordings list, show, pin, delete', async () => {
  const { db, root, alice } = await setup();
  await addUser(db, 'bob');
  const bob = userId(db, 'bob');
  const a1 = record(db, root, alice, nowSec() - 300);
  const a2 = record(db, root, alice, nowSec() - 200);
  const b1 = record(db, root, bob, nowSec() - 100);

  it('lists newest first with the documented JSON fields', async () => {
    const list = await cliJson<any[]>(db, ['recordings', 'list']);
    expect(list.map((r) => r.id)).toEqual([b1.id, a2.id, a1.id]);
    for (const key of ['id', 'user', 'path', 'bytes', 'duration_ms', 'started_at', 'status']) expect(list[0]).toHaveProperty(key);
    expect(list[0].started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await cliJson<any[]>(db, ['recordings', 'list', 'ALICE'])).map((r) => r.id)).toEqual([a2.id, a1.id]);
  });

  it('pages with --limit and --before', async () => {
    const first = await cliJson<any[]>(db, ['recordings', 'list', '--limit', '2']);
    expect(first.map((r) => r.id)).toEqual([b1.id, a2.id]);
    const next = await cliJson<any[]>(db, ['recordings', 'list', '--limit', '2', '--before', a2.id]);
    expect(next.map((r) => r.id)).toEqual([a1.id]);
    const text = await cli(db, ['recordings', 'list', '--limit', '2']);
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
    expect(text.stderr).toContain(`--before ${a2.id}`);
  });

  it('shows one recording with its VoD stream name', async () => {
    expect(await cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ id: a1.id, stream: `vod+${a1.id}`, file_exists: true });
    const missing = await cli(db, ['recordings', 'show', 'nosuchrecording1']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('streamctl: no recording "nosuchrecording1" (see \'streamctl recordings list\')\n');
  });

  it('pins and unpins', async () => {
    expect((await cli(db, ['recordings', 'pin', a1.id])).status).toBe(0);
    expect(await cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ pinned: true });
    expect((await cli(db, ['recordings', 'unpin', a1.id])).status).toBe(0);
    expect(await cliJson(db, ['recordings', 'show', a1.id])).toMatchObject({ pinned: false });
  });

  it('deletes the file and the row together', async () => {
    expect(existsSync(a2.path)).toBe(true);
    expect((await cli(db, ['recordings', 'delete', a2.id])).status).toBe(0);
    expect(existsSync(a2.path)).toBe(false);
    expect((await cli(db, ['recordings', 'show', a2.id])).status).toBe(1);
  });

  it('removes the row of a file that is already gone, and says so', async () => {
    unlinkSync(b1.path);
    const r = await cli(db, ['recordings', 'delete', b1.id]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('already gone');
    expect((await cli(db, ['recordings', 'show', b1.id])).status).toBe(1);
  });

  it('keeps the row when the file cannot be deleted', async () => {
    const stuck = record(db, root, alice, nowSec() - 50);
    unlinkSync(stuck.path);
    mkdirSync(stuck.path); // unlink(2) fails on a directory, even for root
    const r = await cli(db, ['recordings', 'delete', stuck.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('could not delete');
    expect(await cliJson(db, ['recordings', 'show', stuck.id])).toMatchObject({ status: 'ok' });
    rmSync(stuck.path, { recursive: true });
  });
});

describe('streamctl recordings prune', () => {
  it('applies per-channel retention over the global default and keeps pinned recordings', async () => {
    const { db, root, alice } = await setup();
    await addUser(db, 'bob');
    const bob = userId(db, 'bob');
    expect((await cli(db, ['channel', 'set', 'bob', '--retention', '7d'])).status).toBe(0);
    const aliceOld = record(db, root, alice, nowSec() - 40 * DAY);
    const aliceMid = record(db, root, alice, nowSec() - 10 * DAY);
    const alicePinned = record(db, root, alice, nowSec() - 50 * DAY);
    const bobMid = record(db, root, bob, nowSec() - 10 * DAY);
    const bobNew = record(db, root, bob, nowSec() - DAY);
    expect((await cli(db, ['recordings', 'pin', alicePinned.id])).status).toBe(0);

    const dry = await cliJson(db, ['recordings', 'prune', '--older-than', '30d', '--dry-run']);
    expect(dry.items.map((i: any) => i.id).sort()).toEqual([aliceOld.id, bobMid.id].sort());
    expect(existsSync(aliceOld.path)).toBe(true); // dry run touches nothing

    const r = await cliJson(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r).toMatchObject({ deleted: 2, failed: 0, already_gone: 0 });
    expect(existsSync(aliceOld.path)).toBe(false);
    expect(existsSync(bobMid.path)).toBe(false);
    const left = (await cliJson<any[]>(db, ['recordings', 'list'])).map((x) => x.id).sort();
    expect(left).toEqual([aliceMid.id, alicePinned.id, bobNew.id].sort());
  });

  it('keeps everything without a retention anywhere, and uses the recordings-retention setting', async () => {
    const { db, root, alice } = await setup();
    const old = record(db, root, alice, nowSec() - 400 * DAY);
    expect(await cliJson(db, ['recordings', 'prune'])).toMatchObject({ deleted: 0 });
    expect((await cli(db, ['config', 'set', 'recordings-retention', '365d'])).status).toBe(0);
    expect(await cliJson(db, ['recordings', 'prune'])).toMatchObject({ deleted: 1 });
    expect(existsSync(old.path)).toBe(false);
  });

  it('enforces --max-total-size oldest first, pinned kept', async () => {
    const { db, root, alice } = await setup();
    const recs = [5, 4, 3, 2, 1].map((d) => record(db, root, alice, nowSec() - d * DAY, { bytes: 1000 }));
    expect((await cli(db, ['recordings', 'pin', recs[0]!.id])).status).toBe(0);
    const r = await cliJson(db, ['recordings', 'prune', '--max-total-size', '2500']);
    expect(r).toMatchObject({ deleted: 3, freed_bytes: 3000 });
    const left = (await cliJson<any[]>(db, ['recordings', 'list'])).map((x) => x.id).sort();
    expect(left).toEqual([recs[0]!.id, recs[4]!.id].sort());
  });

  it('reports files already gone and files it cannot delete, keeping the latter, and exits non-zero only for those', async () => {
    const { db, root, alice } = await setup();
    const gone = record(db, root, alice, nowSec() - 40 * DAY);
    const stuck = record(db, root, alice, nowSec() - 39 * DAY);
    unlinkSync(gone.path);
    unlinkSync(stuck.path);
    mkdirSync(stuck.path);
    const r = await cli(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${gone.id}: file was already gone`);
    expect(r.stdout).toContain(`${stuck.id}: could not delete`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cliJson<any[]>(db, ['recordings', 'list'])).map((x) => x.id)).toEqual([stuck.id]);
    expect((await cliJson<any>(db, ['recordings', 'show', stuck.id])).status).toBe('ok');
    rmSync(stuck.path, { recursive: true });
    const again = await cli(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('already gone'); // the stuck one vanished meanwhile
  });

  it('finishes a prune killed half-way (rows marked, some files already unlinked)', async () => {
    const { db, root, alice } = await setup();
    const unlinked = record(db, root, alice, nowSec() - 40 * DAY);
    const notYet = record(db, root, alice, nowSec() - 40 * DAY + 60);
    const fresh = record(db, root, alice, nowSec() - DAY);
    expect(answerSync(streamSource, db, `vod+${notYet.id}`).answer).toBe(notYet.path);
    db.prepare('UPDATE recordings SET deleting_at = ? WHERE id IN (?, ?)').run(Date.now(), unlinked.id, notYet.id);
    unlinkSync(unlinked.path);
    // Being deleted: never served meanwhile.
    expect(answerSync(streamSource, db, `vod+${notYet.id}`).answer).toBe('');
    const r = await cliJson(db, ['recordings', 'prune']);
    expect(r).toMatchObject({ resumed: 2, failed: 0, already_gone: 0 });
    expect(existsSync(notYet.path)).toBe(false);
    expect((await cliJson<any[]>(db, ['recordings', 'list'])).map((x) => x.id)).toEqual([fresh.id]);
  });

  it('never touches files outside the root (the root was moved)', async () => {
    const { db, root, alice } = await setup();
    const old = record(db, root, alice, nowSec() - 40 * DAY);
    expect((await cli(db, ['config', 'set', 'recordings-root', tempDir()])).status).toBe(0);
    const r = await cliJson(db, ['recordings', 'prune', '--older-than', '30d']);
    expect(r).toMatchObject({ deleted: 0, outside_root: 1 });
    expect(existsSync(old.path)).toBe(true);
    expect((await cli(db, ['recordings', 'delete', old.id])).status).toBe(1);
    expect(existsSync(old.path)).toBe(true);
  });

  it('fails with one line when recordings-root is not set', async () => {
    const r = await cli(memoryDb(), ['recordings', 'prune']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('streamctl: recordings-root is not set (streamctl config set recordings-root <dir>)\n');
  });

  it('refuses bad flags with one line', async () => {
    const { db } = await setup();
    for (const args of [
      ['--older-than', 'soon'],
      ['--max-total-size', 'big'],
    ]) {
      const r = await cli(db, ['recordings', 'prune', ...args]);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr).toContain('expected');
    }
  });
});

describe('streamctl recordings scan', () => {
  it('finds files without rows and rows without files', async () => {
    const { db, root, alice } = await setup();
    const kept = record(db, root, alice, nowSec() - 100);
    const lost = record(db, root, alice, nowSec() - 90);
    unlinkSync(lost.path);
    const stray = join(root, String(alice), 'stray.mkv');
    writeFileSync(stray, 'x');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stray, old, old);
    const inProgress = join(root, String(alice), 'now.mkv');
    writeFileSync(inProgress, 'x');
    const report = await cliJson(db, ['recordings', 'scan']);
    expect(report.files_without_row.map((f: any) => f.path)).toEqual([stray]);
    expect(report.files_in_progress.map((f: any) => f.path)).toEqual([inProgress]);
    expect(report.rows_without_file).toEqual([{ id: lost.id, path: lost.path }]);
    expect(report.rows_seen).toBe(2);
    expect(readdirSync(join(root, String(alice)))).toContain(kept.path.split(sep).pop());
  });
});
