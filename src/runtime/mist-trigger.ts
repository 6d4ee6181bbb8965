// `mist-trigger TRIGGER_NAME`: one handler for every trigger, as MistServer runs it (argv[1] is the
// trigger name). Loads only the program for that trigger: on an edge (role=edge) the edge's
// program where there is one (registry EDGE_TRIGGERS), else the one-box program.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { mistEventEnv, role } from '../config';
import { oneLine } from '../lib/errors';
import { EDGE_TRIGGERS, isTriggerName, TRIGGERS } from '../triggers/registry';

/** Dispatches to dist/<program>.js; an unknown trigger gets an empty answer (refusal for every kind). */
export function main(argv = process.argv): void {
  const name = argv[2] ?? mistEventEnv().trigger;
  if (!isTriggerName(name)) {
    writeSync(2, `streamctl mist-trigger: unknown trigger "${name.slice(0, 64)}"; answering empty\n`);
    return;
  }
  let program: string = TRIGGERS[name].program;
  if (Object.hasOwn(EDGE_TRIGGERS, name)) {
    try {
      if (role() === 'edge') program = EDGE_TRIGGERS[name as keyof typeof EDGE_TRIGGERS].program;
    } catch (err) {
      // Which program would decide is unknown: refuse rather than guess.
      const refusal = TRIGGERS[name].refusal;
      writeSync(2, `streamctl mist-trigger: ${oneLine(err)}; answering ${refusal === '' ? 'empty' : `"${refusal}"`}\n`);
      if (refusal !== '') writeSync(1, refusal);
      return;
    }
  }
  // A computed path keeps the bundler from inlining every trigger into this file.
  const loaded = require(join(__dirname, `${program}.js`)) as { main(): void };
  loaded.main();
}
