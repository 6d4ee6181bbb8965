// The unit and process layers run with a clean environment: nothing of the caller's
// STREAMCTL_* is left (test/process/clean-env.test.ts runs this file with some set).
import { describe, expect, it } from 'vitest';

describe('the test environment', () => {
  it("holds no STREAMCTL_* from the caller's shell", () => {
    expect(Object.keys(process.env).filter((k) => k.startsWith('STREAMCTL_') && k !== 'STREAMCTL_FUZZ')).toEqual([]);
  });
});
