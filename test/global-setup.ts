// Tests run the built programs, exactly as MistServer and operators do: build once first.
import { buildAll } from '../scripts/build';

export default async function setup(): Promise<void> {
  // Without the Node entry's .d.ts (seconds of type checking); test/node-entry.test.ts makes them.
  await buildAll({ declarations: false });
}
