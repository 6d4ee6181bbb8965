// Every test layer runs with a clean environment: an operator's shell with
// STREAMCTL_DB (or any STREAMCTL_*) set changes nothing a test sees.
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, ROOT, tempDir } from '../support/helpers';

/** What an operator's shell may hold. */
const OPERATOR = {
  STREAMCTL_DB: '/nonexistent/operator.db',
  STREAMCTL_CONF: '/nonexistent/streamctl.conf',
  STREAMCTL_ROLE: 'edge',
  STREAMCTL_DEBUG: '1',
};

describe('a clean environment in every test layer', () => {
  it("the unit and process layers (vitest.config.mts) drop the caller's STREAMCTL_*", () => {
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'unit', 'test/clean-env.test.ts'],
      {
        cwd: ROOT,
        env: baseEnv(OPERATOR),
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 passed/);
  });

  it('the real-server layer (scripts/test-real.sh) drops them before isolated.sh, install.sh and vitest', () => {
    // A stand-in MistServer folder whose isolated.sh shows the environment it was given.
    const mist = tempDir();
    writeFileSync(join(mist, 'isolated.sh'), '#!/bin/sh\nenv\n');
    chmodSync(join(mist, 'isolated.sh'), 0o755);
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'test-real.sh'), 'test/real-mist/ingest.test.ts'], {
      cwd: ROOT,
      env: baseEnv({ ...OPERATOR, REAL_MIST_DIR: mist }),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`REAL_MIST_DIR=${mist}`);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('STREAMCTL_'))).toEqual([]);
  });
});
