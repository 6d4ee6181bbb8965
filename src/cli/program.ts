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
import { webhookCommand } from './commands/webhook';
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
    webhookCommand,
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
 * start with `streamctl:` like ours and are one line, the hint included (docs/json.md: commander's
 * showHelpAfterError would print it on a second line). addCommand() does not pass output settings
 * down, so each command of the tree gets them.
 */
function configureTree(cmd: Command, ctx: CliContext): void {
  cmd.configureOutput({
    writeOut: ctx.out,
    writeErr: ctx.err,
    outputError: (text, write) =>
      write(
        `${text
          .replace(/^error: /, 'streamctl: ')
          .trim()
          .replace(/\s*\n\s*/g, ' ')} (add --help for usage)\n`,
      ),
  });
  for (const sub of cmd.commands) configureTree(sub, ctx);
}

/**
 * When `args` name a command that does not exist (a word under a group with no action of its own),
 * the command words up to that one, with --help/-h and `help` left out; else null. commander prints
 * the help and exits 0 for `--help` before it looks at the command words, so `streamctl bogus
 * --help` looked like success; parsing what this returns reports the unknown command instead.
 */
export function unknownCommandPath(program: Command, args: readonly string[]): string[] | null {
  let cmd = program;
  const path: string[] = [];
  for (const arg of args) {
    if (arg === '--') return null;
    if (arg.startsWith('-')) continue; // a group takes only flags (--help, --version), never a value
    if (cmd.commands.length === 0 || hasAction(cmd)) return null;
    if (arg === 'help') continue; // `help <command>`: the same walk
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    path.push(arg);
    if (!sub) return path;
    cmd = sub;
  }
  return null;
}

/** A command with an action of its own (`events`, besides `events prune`) takes words as operands. */
const hasAction = (cmd: Command): boolean => (cmd as unknown as { _actionHandler: unknown })._actionHandler != null;
