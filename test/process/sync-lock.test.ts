// Issue 20 item 9: a big sync must not hold the write lock while it validates and plans. A push
// (the real push-rewrite program, waiting at most its 2 s busy timeout and refusing after) is
// started from inside the sync's validation, through a getter on the input's last grant: before,
// the sync's IMMEDIATE transaction was open there and the push was refused; now it is answered.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncSite } from '../../src/site/sync';
import { baseEnv, BIN, tempDir } from '../helpers';
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
});
