// Builds the streamctl command tree. A fresh Command each time (never the global one), so tests
// can run it with their own output; process.exit happens only in main.ts.
import { Command } from 'commander';
import { accessCommand } from './commands/access';
import { banCommand } from './commands/ban';
import { broadcastsCommand } from './commands/broadcasts';
import { channelCommand } from './commands/channel';
import { addChannelPasswordCommands } from './commands/channel-password';
import { completionCommand, manCommand } from './commands/completion';
import { configCommand } from './commands/config';
import { dbCommand } from './commands/db';
import { doctorCommand } from './commands/doctor';
import { edgeCommand } from './commands/edge';
import { eventsCommand } from './commands/events';
import { grantCommand } from './commands/grant';
import { guardCommand } from './commands/guard';
import { hookCommand } from './commands/hook';
import { initCommand } from './commands/init';
import { keyCommand } from './commands/key';
import { sessionsCommand } from './commands/sessions';
import { statusCommand } from './commands/status';
import { syncCommand } from './commands/sync';
import { triggersCommand } from './commands/triggers';
import { tokenCommand } from './commands/token';
import { recordingsCommand } from './commands/recordings';
import { metricsCommand } from './commands/metrics';
import { mistCommand } from './commands/mist';
import { userCommand } from './commands/user';
import type { CliContext } from './context';

declare const __VERSION__: string | undefined;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('streamctl')
    .description('streamctl: users, stream keys and settings for a MistServer streaming site')
    .version(typeof __VERSION__ !== 'undefined' ? __VERSION__ : 'dev');
  const commands = [
    userCommand,
    keyCommand,
    // `channel password ...` lives in its own file; the two are joined here so commands never import each other.
    (c: CliContext) => {
      const channel = channelCommand(c);
      addChannelPasswordCommands(channel, c);
      return channel;
    },
    statusCommand,
    sessionsCommand,
    broadcastsCommand,
    hookCommand,
    grantCommand,
    banCommand,
    syncCommand,
    guardCommand,
    tokenCommand,
    accessCommand,
    recordingsCommand,
    configCommand,
    eventsCommand,
    triggersCommand,
    dbCommand,
    mistCommand,
    edgeCommand,
    doctorCommand,
    metricsCommand,
    initCommand,
    completionCommand,
    manCommand,
  ];
  for (const sub of commands) program.addCommand(sub(ctx));
  configureTree(program, ctx);
  return program;
}

/**
 * Every message in streamctl's voice: commander's own usage errors ("error: unknown option")
 * start with `streamctl:` like ours. addCommand() does not pass output settings down, so each
 * command of the tree gets them.
 */
function configureTree(cmd: Command, ctx: CliContext): void {
  cmd
    .configureOutput({
      writeOut: ctx.out,
      writeErr: ctx.err,
      outputError: (text, write) => write(text.replace(/^error: /, 'streamctl: ')),
    })
    .showHelpAfterError('(add --help for usage)');
  for (const sub of cmd.commands) configureTree(sub, ctx);
}
