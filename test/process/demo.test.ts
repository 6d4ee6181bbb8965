// `npm run demo` (scripts/demo.sh) on the built programs, in a folder of its own: pushes accepted
// and refused, a viewer admitted and one refused by the channel's policy, a recording catalogued,
// and every file it writes under its data folder, whatever STREAMCTL_* the caller's shell has.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, ROOT, tempDir } from '../support/helpers';

describe('the demo', () => {
  it('shows a viewer admitted and refused by policy and a recording catalogued, writing only under ./data', () => {
    // The checkout's programs and captures, in a folder whose ./data is the demo's.
    const dir = tempDir();
    for (const entry of ['bin', 'scripts', 'test', 'assets']) symlinkSync(join(ROOT, entry), join(dir, entry));
    const elsewhere = join(tempDir(), 'operator.db');
    const r = spawnSync('bash', [join(dir, 'scripts', 'demo.sh')], {
      env: { ...baseEnv(), STREAMCTL_DB: elsewhere, STREAMCTL_CONF: join(tempDir(), 'streamctl.conf') },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`== database: ${join(dir, 'data', 'streamctl.db')}`);
    expect(r.stdout).toMatch(/PUSH_REWRITE +-> streams\+demo/);
    expect(r.stdout).toMatch(/the channel is public, so it is admitted\n {2}USER_NEW +-> true\n/);
    expect(r.stdout).toMatch(
      /is refused\n {2}USER_NEW +-> false\n {4}stderr: streamctl USER_NEW: refused 127\.0\.0\.1 on demo \[no-token\]/,
    );
    expect(r.stdout).toMatch(/== streamctl recordings list demo\nID .*\n\S+ +demo +.* ok\n/);
    expect(existsSync(elsewhere)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['assets', 'bin', 'data', 'scripts', 'test']);
    expect(readdirSync(join(dir, 'data')).sort()).toEqual(expect.arrayContaining(['recordings', 'streamctl.db']));
  });
});
