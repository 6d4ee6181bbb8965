// Tests run the built programs, exactly as MistServer and operators do: build once first.
import { buildAll } from '../scripts/build';

export default async function setup(): Promise<void> {
  // With the Node entry's .d.ts (test/process/node-entry.test.ts type-checks a site against them): made here,
  // once, because a test writing them into dist/ while another copies dist/ (install.sh) broke that
  // install now that test files run side by side.
  await buildAll();
}
