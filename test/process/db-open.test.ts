// Only set-up commands create a database. A mistyped path is named and
// refused (it used to print "no users yet" from a new empty file), and a path the kernel will
// never let us create (/proc) fails at once instead of spinning in Node's recursive mkdir.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliProcess, tempDir } from '../support/helpers';
import { cli } from '../support/cli';

describe('opening the database from the CLI', async () => {
  it('refuses a database that does not exist, naming the path, and creates nothing', async () => {
    const dir = tempDir();
    const typo = join(dir, 'typo.db');
    for (const args of [['user', 'list'], ['db', 'status'], ['config', 'get', 'stream-base'], ['status']]) {
      const r = await cli(typo, args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringContaining(`database ${typo} does not exist`)]);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('lets `db migrate` create the database and its missing folders', async () => {
    const path = join(tempDir(), 'a', 'b', 'streamctl.db');
    const r = await cli(path, ['db', 'migrate']);
    expect(r.status, r.stderr).toBe(0);
    expect((await cli(path, ['user', 'list'])).status).toBe(0);
  });

  it('fails at once, with one line, for a folder that cannot be created (/proc) or is a file', async () => {
    for (const args of [
      ['user', 'list'],
      ['db', 'migrate'],
    ]) {
      // A process: in process the old spin would hang the test worker instead of failing the test;
      // spawnSync would wait for ever on it, and a status (not a signal) means it ended by itself.
      const r = cliProcess('/proc/nope/x.db', args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain('/proc/nope');
    }
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    const r = await cli(join(file, 'x.db'), ['db', 'migrate']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not a folder');
  });
});
