import { defineConfig } from 'vitest/config';

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
