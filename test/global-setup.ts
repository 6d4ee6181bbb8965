// Tests run the built programs, exactly as MistServer and operators do: build once first.
import { buildAll } from '../scripts/build';

export default async function setup(): Promise<void> {
  await buildAll();
}
