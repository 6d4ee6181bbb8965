// Builds the streamctl command tree. A fresh Command each time (never the global one), so tests
// can run it with their own output; process.exit happens only in main.ts.
import { Command } from 'commander';
import { channelCommand } from './commands/channel';
import { configCommand } from './commands/config';
import { dbCommand } from './commands/db';
import { doctorCommand } from './commands/doctor';
import { eventsCommand } from './commands/events';
import { keyCommand } from './commands/key';
import { mistCommand } from './commands/mist';
import { userCommand } from './commands/user';
import type { CliContext } from './context';

declare const __VERSION__: string | undefined;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('streamctl')
    .description('streamctl: users, stream keys and settings for a MistServer streaming site')
    .version(typeof __VERSION__ !== 'undefined' ? __VERSION__ : 'dev')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err });
  for (const sub of [userCommand, keyCommand, channelCommand, configCommand, eventsCommand, dbCommand, mistCommand, doctorCommand]) program.addCommand(sub(ctx));
  return program;
}
