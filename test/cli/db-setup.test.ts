// `streamctl db setup`: install.sh's database step in one CLI start (the installs themselves run
// in test/process/install*.test.ts). What it writes, what it keeps, and the key=value lines the
// shell reads, in process.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/helpers';
import { cli, cliJson } from '../support/cli';

/** The key=value lines as [key, value] pairs, in order. */
const pairs = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);

describe('streamctl db setup', () => {
  it('creates and migrates the database (0600), makes the token secret without printing it, and puts the folders in the state folder', async () => {
    const state = join(tempDir(), 'state with spaces');
    const db = join(state, 'streamctl.db');
    const first = await cli(db, ['db', 'setup', '--state-dir', state]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const lines = pairs(first.stdout);
    expect(lines[0]).toEqual(['path', db]);
    expect(lines.filter(([k]) => k === 'applied')[0]).toEqual(['applied', expect.stringMatching(/^0001_/)]);
    expect(Object.fromEntries(lines.filter(([k]) => k !== 'applied'))).toEqual({
      path: db,
      schema_version: expect.stringMatching(/^\d+$/),
      build_schema_version: expect.stringMatching(/^\d+$/),
      token_secret: 'created',
      recordings_root: join(state, 'recordings'),
      vod_placeholder: join(state, 'placeholder.mkv'),
    });
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const secret = (await cli(db, ['token', 'secret', '--show'])).stdout.trim();
    expect(secret.length).toBeGreaterThan(20);
    expect(first.stdout).not.toContain(secret);
    expect((await cli(db, ['config', 'get', 'recordings-root'])).stdout).toBe(`${join(state, 'recordings')}\n`);
    expect((await cli(db, ['config', 'get', 'vod-placeholder'])).stdout).toBe(`${join(state, 'placeholder.mkv')}\n`);

    // Again (a re-install): nothing to apply, the secret kept.
    const again = await cliJson(db, ['db', 'setup', '--state-dir', state]);
    expect(again).toMatchObject({ applied: [], token_secret: 'kept', recordings_root: join(state, 'recordings') });
    expect((await cli(db, ['token', 'secret', '--show'])).stdout.trim()).toBe(secret);
  });

  it("keeps the operator's folders, and the default placeholder where the state folder is /var/lib/streamctl", async () => {
    const db = join(tempDir(), 'streamctl.db');
    expect((await cli(db, ['db', 'migrate'])).status).toBe(0);
    expect((await cli(db, ['config', 'set', 'recordings-root', '/srv/recordings'])).status).toBe(0);
    const mine = await cliJson(db, ['db', 'setup', '--state-dir', '/srv/streamctl']);
    expect(mine).toMatchObject({ recordings_root: '/srv/recordings', vod_placeholder: '/srv/streamctl/placeholder.mkv' });
    expect((await cli(db, ['config', 'set', 'vod-placeholder', '/srv/clip.mkv'])).status).toBe(0);
    expect(await cliJson(db, ['db', 'setup', '--state-dir', '/srv/other'])).toMatchObject({
      recordings_root: '/srv/recordings',
      vod_placeholder: '/srv/clip.mkv',
    });

    const system = join(tempDir(), 'streamctl.db');
    expect(await cliJson(system, ['db', 'setup', '--state-dir', '/var/lib/streamctl'])).toMatchObject({
      recordings_root: '/var/lib/streamctl/recordings',
      vod_placeholder: '/var/lib/streamctl/placeholder.mkv',
    });
    // Without --state-dir: the database's folder.
    const here = join(tempDir(), 'streamctl.db');
    expect(await cliJson(here, ['db', 'setup'])).toMatchObject({ recordings_root: join(here, '..', 'recordings') });
  });

  it('makes no token secret on an edge (given, or the installed role=)', async () => {
    const given = join(tempDir(), 'streamctl.db');
    expect(await cliJson(given, ['db', 'setup', '--role', 'edge'])).toMatchObject({ token_secret: 'none' });
    expect(await cliJson(given, ['token', 'list'])).toEqual([]);
    const installed = join(tempDir(), 'streamctl.db');
    expect(await cliJson(installed, ['db', 'setup'], { env: { STREAMCTL_ROLE: 'edge' } })).toMatchObject({ token_secret: 'none' });
    expect(await cliJson(installed, ['db', 'setup', '--role', 'origin'], { env: { STREAMCTL_ROLE: 'edge' } })).toMatchObject({
      token_secret: 'created',
    });
  });

  it('writes nothing when a state-folder value is refused (one transaction): no secret, no setting', async () => {
    const db = join(tempDir(), 'streamctl.db');
    const r = await cli(db, ['db', 'setup', '--state-dir', '/srv/$HOME']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot set recordings-root to "/srv/$HOME/recordings"');
    expect(await cliJson(db, ['token', 'list'])).toEqual([]);
    expect((await cli(db, ['config', 'get', 'recordings-root'])).stdout).toBe('\n');
  });

  it('creates the database 0660 in a setgid (group-shared) folder, as db migrate does', async () => {
    const state = join(tempDir(), 'shared');
    mkdirSync(state);
    chmodSync(state, 0o2770);
    const db = join(state, 'streamctl.db');
    expect((await cli(db, ['db', 'setup'])).status).toBe(0);
    expect(statSync(db).mode & 0o777).toBe(0o660);
  });
});
