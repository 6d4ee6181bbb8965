// The replication outbox (db/0010): every write an edge's admission depends on leaves its row in
// the same transaction as the change, through the real write paths (the CLI in process, sync,
// RECORDING_END), and only while replication is on.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { syncSite } from '../../src/site/sync';
import { updateChannel } from '../../src/store/channels';
import { insertBan, updateBan } from '../../src/store/bans';
import { markRecordingsDeleting, unmarkRecordingsDeleting } from '../../src/store/recordings';
import type { Db } from '../../src/store/open';
import { tempDir } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { memoryDb, row, rows } from '../support/db';
import { record } from '../recordings/support';
import { watchTransactions } from '../support/transactions';
import { allReplicaGrants, replicaGrants } from '../../src/store/replication';

/** The pending rows as "entity/ref", in id order. */
const pending = (db: Db) =>
  rows<{ entity: string; ref: string }>(db, 'SELECT entity, ref FROM replication_outbox ORDER BY id').map((r) => `${r.entity}/${r.ref}`);
const clear = (db: Db) => db.exec('DELETE FROM replication_outbox');
const userId = (db: Db, name: string) => row<{ id: number }>(db, 'SELECT id FROM users WHERE name = ?', name)!.id;

async function ok(db: Db, ...args: string[]): Promise<void> {
  const r = await cli(db, args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
}

describe('replication outbox', () => {
  let db: Db;
  beforeEach(async () => {
    db = memoryDb();
    await ok(db, 'config', 'set', 'replication', 'redis');
  });

  it('turning replication on asks for everything (changes made while off were never queued)', () => {
    expect(pending(db)).toEqual(['all/']);
  });

  it('users: add, disable, enable, external id, remove', async () => {
    clear(db);
    await addUser(db, 'alice');
    // The users row and its channels row: one pending row for the entity.
    expect(pending(db)).toEqual(['channel/alice']);
    clear(db);
    await ok(db, 'user', 'disable', 'alice');
    expect(pending(db)).toEqual(['channel/alice']);
    clear(db);
    await ok(db, 'user', 'enable', 'alice');
    expect(pending(db)).toEqual(['channel/alice']);
    await ok(db, 'grant', 'add', 'alice', 'v1');
    await ok(db, 'ban', 'add', '--viewer', 'troll', '--channel', 'alice');
    clear(db);
    await ok(db, 'user', 'remove', 'alice', '--yes');
    expect(pending(db)).toEqual(expect.arrayContaining(['channel/alice', 'grants/alice', 'bans/alice']));
  });

  it('channel policy: what admission reads, not recording settings', async () => {
    await addUser(db, 'alice');
    clear(db);
    await ok(db, 'channel', 'set', 'alice', '--record', 'on');
    expect(pending(db)).toEqual([]);
    await ok(db, 'channel', 'set', 'alice', '--access', 'paid');
    expect(pending(db)).toEqual(['channel/alice']);
    clear(db);
    await ok(db, 'channel', 'set', 'alice', '--viewer-cap', '2');
    expect(pending(db)).toEqual(['channel/alice']);
    clear(db);
    updateChannel(db, userId(db, 'alice'), { passwordHash: 'scrypt$x' }, Date.now());
    expect(pending(db)).toEqual(['channel/alice']);
  });

  it('bans and grants, per channel and global', async () => {
    await addUser(db, 'alice');
    clear(db);
    await ok(db, 'ban', 'add', '--ip', '203.0.113.0/24');
    expect(pending(db)).toEqual(['bans/']);
    clear(db);
    await ok(db, 'ban', 'add', '--viewer', 'troll', '--channel', 'alice');
    expect(pending(db)).toEqual(['bans/alice']);
    clear(db);
    await ok(db, 'ban', 'remove', '1');
    expect(pending(db)).toEqual(['bans/']);
    clear(db);
    updateBan(db, 2, { until: Date.now() + 60_000, reason: 'cooling off' });
    expect(pending(db)).toEqual(['bans/alice']);
    clear(db);
    await ok(db, 'grant', 'add', 'alice', 'v1', '--until', '7d');
    expect(pending(db)).toEqual(['grants/alice']);
    clear(db);
    await ok(db, 'grant', 'remove', 'alice', 'v1');
    expect(pending(db)).toEqual(['grants/alice']);
  });

  it('token keys: a new secret, a rotation, a removal', async () => {
    await ok(db, 'token', 'secret');
    clear(db);
    await ok(db, 'token', 'secret');
    expect(pending(db)).toEqual(['keys/']);
    clear(db);
    db.exec('DELETE FROM token_keys WHERE id = 1');
    expect(pending(db)).toEqual(['keys/']);
  });

  it('settings: only those an edge reads', async () => {
    clear(db);
    await ok(db, 'config', 'set', 'push-guard-window', '5m');
    await ok(db, 'config', 'set', 'mist-api', 'http://127.0.0.1:4242');
    expect(pending(db)).toEqual([]);
    await ok(db, 'config', 'set', 'token-max-ttl', '2h');
    expect(pending(db)).toEqual(['settings/']);
    clear(db);
    await ok(db, 'config', 'unset', 'token-max-ttl');
    expect(pending(db)).toEqual(['settings/']);
  });

  it('recordings: catalogued by RECORDING_END, deleted by the CLI', async () => {
    await addUser(db, 'alice');
    const root = join(tempDir('streamctl-repl-'), 'recordings');
    mkdirSync(root);
    await ok(db, 'config', 'set', 'recordings-root', root);
    clear(db);
    const rec = record(db, root, userId(db, 'alice'), Math.floor(Date.now() / 1000) - 60);
    expect(pending(db)).toEqual([`vod/${rec.id}`]);
    // A prune marks rows before unlinking their files (no longer playable), and unmarks on failure.
    clear(db);
    markRecordingsDeleting(db, [rec.id], Date.now());
    expect(pending(db)).toEqual([`vod/${rec.id}`]);
    clear(db);
    unmarkRecordingsDeleting(db, [rec.id]);
    expect(pending(db)).toEqual([`vod/${rec.id}`]);
    clear(db);
    await ok(db, 'recordings', 'pin', rec.id);
    expect(pending(db)).toEqual([]);
    await ok(db, 'recordings', 'delete', rec.id, '--force');
    expect(pending(db)).toEqual([`vod/${rec.id}`]);
  });

  it('sync: every change of the document', () => {
    clear(db);
    syncSite(
      db,
      {
        users: [{ name: 'carol', external_id: 's3' }],
        channels: [{ user: 'carol', access: 'paid', grants: [{ viewer: 'v9' }] }],
        bans: [{ viewer: 'x' }],
      },
      { now: Date.now() },
    );
    expect(pending(db).sort()).toEqual(['bans/', 'channel/carol', 'grants/carol']);
  });

  it("sync staging a big channel's grants: the set being built queues nothing and is not published; the switch queues the grants once", async () => {
    await addUser(db, 'club');
    await ok(db, 'grant', 'add', 'club', 'old');
    clear(db);
    const names = () => allReplicaGrants(db, Date.now()).map((g) => `${g.userName}/${g.viewer}`);
    const seen: { pending: string[]; published: string[] }[] = [];
    // After each transaction of the sync (the planning read, the set begun, each staged batch, the
    // final one, the old set deleted): what the outbox holds and what a publish would send.
    watchTransactions(db, () => seen.push({ pending: pending(db), published: names() }));
    const grants = Array.from({ length: 250 }, (_, i) => ({ viewer: `v${i}` }));
    syncSite(db, { channels: [{ user: 'club', grants }] }, { now: Date.now(), batchRows: 100 });
    // 1 planning, 2 the set begun, 3-5 staged batches: the edges are still told the old set.
    expect(seen.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => ({ pending: [], published: ['club/old'] })));
    expect(seen[5]!.pending).toEqual(['grants/club']);
    expect(seen.at(-1)!.pending).toEqual(['grants/club']);
    expect(replicaGrants(db, 'club', Date.now()).map((g) => g.viewer)).toEqual(grants.map((g) => g.viewer).sort());
    expect(names()).toHaveLength(250);
  });

  it('one row per entity: a later change replaces the pending row with a later id, keeping the oldest time', async () => {
    await addUser(db, 'alice');
    clear(db);
    await ok(db, 'user', 'disable', 'alice');
    const first = row<{ id: number; at: number }>(db, 'SELECT id, at FROM replication_outbox')!;
    db.prepare('UPDATE replication_outbox SET at = at - 5000').run();
    await ok(db, 'user', 'enable', 'alice');
    const later = rows<{ id: number; at: number }>(db, 'SELECT id, at FROM replication_outbox');
    expect(later).toHaveLength(1);
    expect(later[0]!.id).toBeGreaterThan(first.id);
    expect(later[0]!.at).toBe(first.at - 5000);
  });

  it('a rolled-back change leaves no row', async () => {
    await addUser(db, 'alice');
    clear(db);
    expect(() =>
      db.transaction(() => {
        insertBan(db, { userId: null, kind: 'viewer', value: 'troll', reason: null, until: null, now: Date.now() });
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    // A statement that fails its constraint is undone with its trigger's row.
    expect(() => db.prepare("UPDATE channels SET access = 'bogus'").run()).toThrow(/CHECK/);
    expect(pending(db)).toEqual([]);
    expect(row(db, 'SELECT count(*) AS n FROM bans')).toEqual({ n: 0 });
  });

  it('writes nothing while replication is off (the default)', async () => {
    const off = memoryDb();
    await addUser(off, 'alice');
    await ok(off, 'ban', 'add', '--ip', '198.51.100.1');
    await ok(off, 'grant', 'add', 'alice', 'v1');
    await ok(off, 'token', 'secret');
    await ok(off, 'config', 'set', 'token-max-ttl', '2h');
    await ok(off, 'config', 'set', 'replication', 'off');
    expect(pending(off)).toEqual([]);
    await ok(db, 'config', 'set', 'replication', 'off');
    clear(db);
    await ok(db, 'user', 'add', 'bob');
    expect(pending(db)).toEqual([]);
  });
});

describe('replication of the ticket settings', () => {
  it('a revocation, viewer-sessions on a channel and the global setting are queued, and published as sc:revoked, sc:chan and sc:settings', async () => {
    const db = memoryDb();
    await ok(db, 'config', 'set', 'replication', 'redis');
    await addUser(db, 'alice');
    clear(db);
    await ok(db, 'token', 'revoke', 'leaked-1');
    expect(pending(db)).toEqual(['keys/']);
    clear(db);
    await ok(db, 'channel', 'set', 'alice', '--viewer-sessions', '2', '--on-excess', 'evict-oldest');
    expect(pending(db)).toEqual(['channel/alice']);
    clear(db);
    await ok(db, 'config', 'set', 'viewer-sessions', '3');
    expect(pending(db)).toEqual(['settings/']);
    const { entityState } = await import('../../src/replica/publish');
    const now = Date.now();
    const revoked = entityState(db, 'keys', '', now).find((d) => d.key === 'sc:revoked');
    expect(revoked).toMatchObject({ type: 'hash', fields: { 'leaked-1': expect.stringMatching(/^\d+$/) } });
    expect(JSON.parse((entityState(db, 'channel', 'alice', now)[0] as { value: string }).value)).toMatchObject({
      viewerSessions: 2,
      onExcess: 'evict-oldest',
    });
    expect(JSON.parse((entityState(db, 'settings', '', now)[0] as { value: string }).value)['viewer-sessions']).toBe('3');
  });
});
