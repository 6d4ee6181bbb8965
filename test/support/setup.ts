// Runs before each test file (vitest setupFiles). Test files share one module cache per worker
// (isolate: false in vitest.config.mts), so per-file cleanup is registered here, where it runs
// for every file, not at a helper module's import, which happens once per worker.
import { afterAll } from 'vitest';
import { untagSettle } from '../../src/mist/stream-tags';
import { removeTempDirs } from './helpers';

afterAll(removeTempDirs);

// Against the fake MistServer API only the order of the requests can be seen, not MistServer's
// re-checks catching up with an untag: 50 ms instead of the real 1 s keeps that order and its gap
// (tests assert both) without seconds of waiting. The real wait is the real-server layer's.
untagSettle.ms = 50;
