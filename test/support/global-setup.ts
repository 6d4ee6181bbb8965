// The process layer runs the built programs, exactly as MistServer and operators do: build once
// first. Without the Node entry's declarations (~4 s of type checking): test/process/node-entry.test.ts
// emits its own copy into a temp folder, in its worker, while other files run.
import { buildAll } from '../../scripts/build';

export default async function setup(): Promise<void> {
  await buildAll({ declarations: false });
}
