// Builds the streamctl command tree. A fresh Command each time (never the global one), so tests
// can run it with their own output; process.exit happens only in main.ts.
import { Command } from 'commander';
import { accessCommand } from './commands/access';
import { banCommand } from './commands/ban';
import { broadcastsCommand } from './commands/broadcasts';
import { channelCommand } from './commands/channel';
import { configCommand } from './commands/config';
import { dbCommand } from './commands/db';
import { doctorCommand } from './commands/doctor';
import { eventsCommand } from './commands/events';
import { grantCommand } from './commands/grant';
import { guardCommand } from './commands/guard';
import { hookCommand } from './commands/hook';
import { keyCommand } from './commands/key';
import { statusCommand } from './commands/status';
import { triggersCommand } from './commands/triggers';
import { tokenCommand } from './commands/token';
import { recordingsCommand } from './commands/recordings';
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
  const commands = [
    userCommand,
    keyCommand,
    channelCommand,
    statusCommand,
    broadcastsCommand,
    hookCommand,
    grantCommand,
    banCommand,
    guardCommand,
    tokenCommand,
    accessCommand,
    recordingsCommand,
    configCommand,
    eventsCommand,
    triggersCommand,
    dbCommand,
    mistCommand,
    doctorCommand,
  ];
  for (const sub of commands) program.addCommand(sub(ctx));
  return program;
}
