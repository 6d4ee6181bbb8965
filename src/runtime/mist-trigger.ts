// `mist-trigger TRIGGER_NAME`: one handler for every trigger, as MistServer runs it (argv[1] is the
// trigger name). Loads only the program for that trigger.
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { mistEventEnv } from '../config';
import { isTriggerName, TRIGGERS } from '../triggers/registry';

/** Dispatches to dist/<program>.js; an unknown trigger gets an empty answer (refusal for every kind). */
export function main(argv = process.argv): void {
  const name = argv[2] ?? mistEventEnv().trigger;
  if (!isTriggerName(name)) {
    writeSync(2, `streamctl mist-trigger: unknown trigger "${name.slice(0, 64)}"; answering empty\n`);
    return;
  }
  // A computed path keeps the bundler from inlining every trigger into this file.
  const program = require(join(__dirname, `${TRIGGERS[name].program}.js`)) as { main(): void };
  program.main();
}
