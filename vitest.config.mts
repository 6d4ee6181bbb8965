import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// A clean environment: no STREAMCTL_* from the caller's shell (STREAMCTL_DB, _CONF,
// _ROLE ...) reaches a test; workers inherit this process's environment, so it is cleaned here,
// before any starts. Kept: STREAMCTL_FUZZ, the test runner's own switch (npm run fuzz).
for (const name of Object.keys(process.env)) if (name.startsWith('STREAMCTL_') && name !== 'STREAMCTL_FUZZ') delete process.env[name];

// Two of the three test layers (docs/development.md, "Tests"); the third, the real server, has its
// own config (vitest.real.config.mts) and runs inside isolated.sh.
//   unit     everything in process, from src/: parse → decide per trigger on an in-memory
//            database, the CLI through run(argv, ctx) with captured output, the store, the
//            replica against a real redis-server. No build, no node program started.
//            `npm run test:unit` (or `vitest --project unit` while editing).
//   process  test/process/: the built programs, install.sh and the packaged executable run as
//            MistServer and operators run them (argv, stdin, env, exit, signals, file modes).
//            Its global setup builds dist/ first.
// `npm test` runs both (vitest shares its workers between them), then the real-server layer.
export default defineConfig({
  test: {
    setupFiles: ['test/support/setup.ts'],
    // Files run one after another in a worker and share its module cache: src/ and the test
    // support load once per worker, not once per file (import time, measured on the in-process
    // files: 24 s → 6 s). Safe because no test mocks modules, and what a test changes in this
    // process (process.env in support/cli, hookBound, vi.stubEnv) it restores.
    isolate: false,
    // Much of a process-layer test is waiting for the programs it starts (install.sh, the built
    // programs, doctor's checks), so two files at a time even on a 2-core machine, where vitest's
    // default (cores - 1) runs one: measured on ten files, 99 s with one worker, 52 s with two.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/process/**', 'test/real-mist/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'process',
          include: ['test/process/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
