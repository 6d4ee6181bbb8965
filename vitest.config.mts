import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-server layer has its own config (vitest.real.config.mts) and runs inside isolated.sh.
    exclude: ['test/real-mist/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
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
  },
});
