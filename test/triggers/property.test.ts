// Every payload parser and trigger, fed hostile payloads (random bytes,
// CRLF, NUL, invalid UTF-8, missing and extra lines, 1 MB lines), never throws anything but a
// PayloadError, and answers safely: the trigger's refusal for a malformed payload, never a "\r" or
// a trailing newline, never an admission or a stream it should not give. In process (fast, many
// runs); the built programs on the same payloads: test/process/property-programs.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIGGERS } from '../../src/triggers/registry';
import type { Trigger } from '../../src/triggers/types';
import { tempDir } from '../support/helpers';
import { answerProblem, basePayloads, FUZZ, loadTrigger, NAMES, payloads, RUNS, runInProcess, Tally, worldDb } from '../property/harness';

const dir = tempDir('streamctl-property-');
const world = worldDb(dir);
const bases = basePayloads(world.key);
const tally = new Tally();
/** The campaign's thousands of runs per trigger take minutes on a shared machine. */
const TIMEOUT = FUZZ ? 900_000 : undefined;
const modules = new Map<string, Trigger<unknown>>();

beforeAll(async () => {
  for (const name of NAMES) modules.set(name, await loadTrigger(name));
});
afterAll(() => {
  if (FUZZ) tally.print();
  world.db.close();
});

describe.each(NAMES)('%s on hostile payloads', (name) => {
  const refusal = TRIGGERS[name].refusal;

  it(
    'in process: only PayloadErrors, the refusal when malformed, a safe answer always',
    async () => {
      const trigger = modules.get(name)!;
      await fc.assert(
        fc.asyncProperty(payloads(bases[name]), async (payload) => {
          const outcome = await runInProcess(trigger, name, payload, world.db);
          tally.add(name, outcome, refusal);
          if (outcome.unexpected) throw outcome.unexpected;
          if (outcome.malformed) expect(outcome.answer).toBe(refusal);
          expect(answerProblem(name, payload, outcome.answer, world.key)).toBeNull();
        }),
        { numRuns: RUNS.inProcess },
      );
    },
    TIMEOUT,
  );
});
