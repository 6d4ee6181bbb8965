// The hooks table lives in the database, which MistServer's user can write, so a hook
// is something that user could have chosen. A planted hook must never run as a more privileged
// account: here the trigger runs as root (as a cron'd `status --reconcile` would) and the hooks
// are planted with plain SQL, as MistServer's user could.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startFakeMist } from '../support/fake-mist';
import { fixture, freshDb, tempDir } from '../support/helpers';
import { addUser, cli } from '../support/cli';
import { runInProcess } from '../support/trigger';

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;
const HEALTH = fixture('01-basic-push-alice/STREAM_BUFFER-1').split('\n')[2]!;

function plant(db: string, program: string): void {
  const d = new Database(db);
  d.prepare("INSERT INTO hooks VALUES ('live', ?, 0) ON CONFLICT(event) DO UPDATE SET program = excluded.program").run(program);
  d.close();
}

let time = 9_000_000;
/** alice goes live (a hook event); returns what the trigger logged. */
async function goLive(db: string): Promise<string> {
  time += 10_000;
  const env = { MIST_TIME: String(time), MIST_TUUID: `live-${time}` };
  const r = await runInProcess({ trigger: 'STREAM_BUFFER', payload: `streams+alice\nFULL\n${HEALTH}`, db, env });
  await runInProcess({
    trigger: 'STREAM_BUFFER',
    payload: 'streams+alice\nEMPTY',
    db,
    env: { MIST_TIME: String(time + 1), MIST_TUUID: `end-${time}` },
  });
  return r.stderr;
}

/** A hook that records the uid it ran as into `marker` (a folder anyone may write). */
function markerHook(dir: string, name: string, marker: string): string {
  const program = join(dir, name);
  writeFileSync(program, `#!/bin/sh\nid -u > "${marker}"\n`);
  chmodSync(program, 0o755);
  return program;
}

describe.skipIf(!asRoot)('hooks planted in the database (run as root)', async () => {
  const base = tempDir('streamctl-hooks-');
  chmodSync(base, 0o755);
  const out = join(base, 'out');
  mkdirSync(out);
  chmodSync(out, 0o1777);
  const marker = join(out, 'ran');

  it('a hook owned by another user (nobody) does not run, and the trigger says why', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    const dir = join(base, 'nobody-owned');
    mkdirSync(dir);
    const evil = markerHook(dir, 'evil.sh', marker);
    chownSync(evil, NOBODY, NOBODY);
    plant(db, evil);
    expect(await goLive(db)).toMatch(/hook .*evil\.sh not run: .* owned by uid 65534/);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['a group- or world-writable program', (dir: string) => chmodSync(markerHook(dir, 'h.sh', marker), 0o777)],
    ['a program in a folder others may write (not sticky)', (dir: string) => (markerHook(dir, 'h.sh', marker), chmodSync(dir, 0o777))],
  ])('%s does not run', async (_, make) => {
    const db = freshDb();
    await addUser(db, 'alice');
    const dir = join(base, `d-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    make(dir);
    plant(db, join(dir, 'h.sh'));
    expect(await goLive(db)).toMatch(/not run: .*writable by its group or by others/);
    expect(existsSync(marker)).toBe(false);
  });

  it('a relative path does not run', async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    plant(db, 'evil.sh');
    expect(await goLive(db)).toMatch(/not run: not an absolute path/);
  });

  it("on a database MistServer's user owns, even its own hook runs as that user, never as root", async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    chownSync(db, NOBODY, NOBODY);
    const dir = join(base, 'mist-owned');
    mkdirSync(dir);
    const hook = markerHook(dir, 'own.sh', marker);
    chownSync(hook, NOBODY, NOBODY);
    plant(db, hook);
    expect(await goLive(db)).toBe('');
    expect(readFileSync(marker, 'utf8').trim()).toBe(String(NOBODY));
    rmSync(marker);
  });

  it('hook set refuses a program that would not run, with the reason', async () => {
    const db = freshDb();
    const dir = join(base, 'set');
    mkdirSync(dir);
    const program = markerHook(dir, 'h.sh', marker);
    chmodSync(program, 0o777);
    const r = await cli(db, ['hook', 'set', 'live', program]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/would not run: .*writable by its group or by others/);
    chmodSync(program, 0o755);
    expect((await cli(db, ['hook', 'set', 'live', program])).status).toBe(0);
  });

  it("the issue's case: root runs status --reconcile on an installed (root-owned, group-writable) database", async () => {
    const db = freshDb();
    await addUser(db, 'alice');
    chmodSync(db, 0o660);
    const dir = join(base, 'reconcile');
    mkdirSync(dir);
    const evil = markerHook(dir, 'evil.sh', marker);
    chownSync(evil, NOBODY, NOBODY);
    const d = new Database(db);
    d.prepare("INSERT INTO hooks VALUES ('offline', ?, 0)").run(evil);
    d.close();
    await runInProcess({
      trigger: 'STREAM_BUFFER',
      payload: `streams+alice\nFULL\n${HEALTH}`,
      db,
      env: { MIST_TIME: String(Date.now() - 3_600_000), MIST_TUUID: 'long-ago' },
    });
    const api = (await startFakeMist()).url;
    const reconcile = async (conf: string) =>
      (await cli(db, ['status', '--reconcile', '--api', api], { env: { STREAMCTL_CONF: conf } })).stderr;
    try {
      // No mist_user= known: nobody to run it as but root, so it does not run.
      const noConf = join(dir, 'none.conf');
      expect(await reconcile(noConf)).toMatch(/not run: streamctl runs as root and others can write the database/);
      expect(existsSync(marker)).toBe(false);
      // With the installed config naming MistServer's user, it runs as that user, never as root.
      const conf = join(dir, 'streamctl.conf');
      writeFileSync(conf, 'mist_user=nobody\n');
      const d2 = new Database(db);
      d2.exec('DELETE FROM broadcasts; DELETE FROM buffer_events');
      d2.close();
      await runInProcess({
        trigger: 'STREAM_BUFFER',
        payload: `streams+alice\nFULL\n${HEALTH}`,
        db,
        env: { MIST_TIME: String(Date.now() - 3_600_000), MIST_TUUID: 'long-ago-2' },
      });
      expect(await reconcile(conf)).toBe('');
      expect(readFileSync(marker, 'utf8').trim()).toBe(String(NOBODY));
    } finally {
      rmSync(marker, { force: true });
    }
  });
});
