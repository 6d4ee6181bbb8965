// A big sync must not hold the write lock while it validates and plans. A push
// (the real push-rewrite program, waiting at most its 2 s busy timeout and refusing after) is
// started from inside the sync's validation, through a getter on the input's last grant: before,
// the sync's IMMEDIATE transaction was open there and the push was refused; now it is answered.
// And the built CLI killed (SIGKILL, no clean-up) while it stages a big channel's next grant set:
// what it left is seen by no reader, and the next sync deletes it.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncSite } from '../../src/site/sync';
import { baseEnv, BIN, cliProcess, freshDb, tempDir } from '../support/helpers';
import { worldDb } from '../property/harness';

const GRANTS = 50_000;

describe('sync and the write lock', () => {
  it('a push is answered while a big sync validates and plans; the sync then commits all of it', () => {
    const dir = tempDir('streamctl-sync-lock-');
    const { db, key } = worldDb(dir);
    db.pragma('busy_timeout = 5000');
    const grants: { viewer: string; until?: string | null }[] = Array.from({ length: GRANTS }, (_, i) => ({ viewer: `viewer-${i}` }));
    let push: { stdout: string; stderr: string } | undefined;
    const last = grants[GRANTS - 1]!;
    Object.defineProperty(last, 'viewer', {
      enumerable: true,
      get() {
        if (!push) {
          const r = spawnSync(join(BIN, 'push-rewrite'), ['PUSH_REWRITE'], {
            input: `rtmp://127.0.0.1/live/${key}\n127.0.0.1\n${key}`,
            env: baseEnv({ STREAMCTL_DB: join(dir, 'world.db'), MIST_TRIGGER: 'PUSH_REWRITE', MIST_TRIG_DEF: 'x' }),
            encoding: 'utf8',
          });
          push = { stdout: r.stdout, stderr: r.stderr };
        }
        return `viewer-${GRANTS - 1}`;
      },
    });
    const report = syncSite(db, { channels: [{ user: 'carol', grants }] }, { now: Date.now() });
    expect(push).toEqual({ stdout: 'streams+alice', stderr: '' });
    expect(report.summary.grants_added).toBe(GRANTS);
    expect((db.prepare('SELECT count(*) AS n FROM access_grants').get() as { n: number }).n).toBe(GRANTS);
    // The push's own commit is there too (its audit row), not undone by the sync.
    expect((db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'push' AND outcome = 'accepted'").get() as { n: number }).n).toBe(1);
    db.close();
  });

  it('a sync killed while it writes the next grant set changes nothing anyone sees; the next sync deletes what it left', async () => {
    const path = freshDb();
    const ok = (...args: string[]) => {
      const r = cliProcess(path, args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    ok('user', 'add', 'club');
    ok('grant', 'add', 'club', 'old');
    ok('config', 'set', 'replication', 'redis');
    const file = join(tempDir(), 'sync.json');
    const viewers = Array.from({ length: 100_000 }, (_, i) => ({ viewer: `viewer-${i}` }));
    writeFileSync(file, JSON.stringify({ channels: [{ user: 'club', grants: viewers }] }));
    const watcher = new Database(path, { readonly: true });
    // Rows of a set still being built (db/0015_grant_sets.sql).
    const staged = () =>
      (
        watcher
          .prepare(
            "SELECT count(*) AS n FROM access_grants g JOIN grant_sets s ON s.user_id = g.user_id AND s.set_id = g.set_id AND s.state = 'staging'",
          )
          .get() as { n: number }
      ).n;
    try {
      const child = spawn(join(BIN, 'streamctl'), ['sync', file], { env: baseEnv({ STREAMCTL_DB: path }), stdio: 'ignore' });
      let running = true;
      const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => ((running = false), done(signal))));
      // Killed once some batches of the next set are written (a crash: no clean-up runs).
      while (running && staged() < 10_000) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(staged()).toBeGreaterThanOrEqual(10_000);
      expect(JSON.parse(ok('grant', 'list', 'club', '--json')).map((g: { viewer: string }) => g.viewer)).toEqual(['old']);
      // Nothing of the half-built set was queued for the edges.
      expect(watcher.prepare("SELECT ref FROM replication_outbox WHERE entity = 'grants'").all()).toEqual([]);
      // The next sync of the channel replaces the leftovers with its own set and deletes them.
      const again = spawnSync(join(BIN, 'streamctl'), ['sync', file], {
        env: baseEnv({ STREAMCTL_DB: path }),
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      expect(again.status, again.stderr).toBe(0);
      const current = 'SELECT count(*) AS n FROM access_grants g JOIN channels c ON c.user_id = g.user_id AND c.grant_set = g.set_id';
      expect((watcher.prepare(current).get() as { n: number }).n).toBe(100_000);
      expect((watcher.prepare('SELECT count(*) AS n FROM access_grants').get() as { n: number }).n).toBe(100_000);
      expect(watcher.prepare('SELECT * FROM grant_sets').all()).toEqual([]);
    } finally {
      watcher.close();
    }
  });
});
