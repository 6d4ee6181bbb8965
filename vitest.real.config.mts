import { defineConfig } from 'vitest/config';

// A clean environment: no STREAMCTL_* from the caller's shell (STREAMCTL_DB, _CONF,
// _ROLE ...) reaches a test; workers inherit this process's environment, so it is cleaned here,
// before any starts. Kept: STREAMCTL_FUZZ, the test runner's own switch (npm run fuzz).
for (const name of Object.keys(process.env)) if (name.startsWith('STREAMCTL_') && name !== 'STREAMCTL_FUZZ') delete process.env[name];

// The real-server layer (test/real-mist): a real MistServer per test file, so the files run one
// after another. Run it with `npm run test:real` (scripts/test-real.sh), which gives each file its
// own ../shared/mistserver/isolated.sh namespace.
export default defineConfig({
  test: {
    include: ['test/real-mist/**/*.test.ts'],
    globalSetup: ['test/real-mist/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
