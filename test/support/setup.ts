// Runs before each test file (vitest setupFiles). Test files share one module cache per worker
// (isolate: false in vitest.config.mts), so per-file cleanup is registered here, where it runs
// for every file, not at a helper module's import, which happens once per worker.
import { afterAll } from 'vitest';
import { removeTempDirs } from '../helpers';

afterAll(removeTempDirs);
