// Through the built programs: the hostile payloads of
// test/triggers/property.test.ts (there in process, many runs) fed to each program as MistServer
// runs it: exit 0, a safe answer, no stack trace, bounded log lines. Few runs here; `npm run fuzz`
// runs thousands.
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TRIGGERS } from '../../src/triggers/registry';
import { baseEnv, BIN, tempDir } from '../support/helpers';
import { answerProblem, basePayloads, FUZZ, NAMES, payloads, RUNS, Tally, worldDb } from '../property/harness';

const dir = tempDir('streamctl-property-');
const world = worldDb(dir);
const bases = basePayloads(world.key);
const tally = new Tally();
/** The campaign's thousands of runs per trigger take minutes on a shared machine. */
const TIMEOUT = FUZZ ? 900_000 : undefined;

afterAll(() => {
  if (FUZZ) tally.print();
  world.db.close();
});

describe.each(NAMES)('%s on hostile payloads', (name) => {
  const refusal = TRIGGERS[name].refusal;

  it(
    'through the built program: exit 0, a safe answer, no stack trace',
    () => {
      // Among the sampled payloads, always one of the nastiest: the capture with every line 256 KB
      // longer (1 MB and more in all) and ending in NUL and invalid UTF-8, CRLF line ends.
      const junk = Buffer.concat([Buffer.from('y'.repeat(256 * 1024) + '\0'), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]);
      const nasty = Buffer.concat(bases[name][0]!.split('\n').flatMap((l, i) => [Buffer.from(i === 0 ? l : `\r\n${l}`), junk]));
      const samples: Buffer[] = [
        nasty,
        ...fc.sample(payloads(bases[name]), { numRuns: RUNS.programs - 1, seed: 42 }).map((p) => Buffer.from(p)),
      ];
      for (const input of samples) {
        const r = spawnSync(join(BIN, TRIGGERS[name].program), [name], {
          input,
          env: baseEnv({ STREAMCTL_DB: join(dir, 'world.db'), MIST_TRIGGER: name, MIST_TRIG_DEF: 'false' }),
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        tally.add(name, { malformed: false, answer: r.stdout }, refusal, true);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        // Whatever the payload quotes, MistServer's log gets bounded lines.
        for (const line of r.stderr.split('\n')) expect(line.length).toBeLessThan(1200);
        expect(answerProblem(name, input.toString('utf8'), r.stdout, world.key)).toBeNull();
      }
    },
    TIMEOUT,
  );
});
