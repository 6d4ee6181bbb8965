// `streamctl completion bash|zsh|fish` and `streamctl man`: generated from the program's own command
// tree at run time (src/cli/command-tree.ts), so they always match this build.
import { Command } from 'commander';
import { UserError } from '../../lib/errors';
import { bashCompletion, fishCompletion, manPage, zshCompletion } from '../command-tree';
import type { CliContext } from '../context';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

/** The top of the tree this command hangs in (the whole program). */
function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export function completionCommand(ctx: CliContext): Command {
  return new Command('completion')
    .description('print the shell completion script: bash, zsh or fish (see docs/operations.md)')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string, _opts: unknown, command: Command) => {
      if (!Object.hasOwn(SHELLS, shell)) throw new UserError(`unknown shell "${shell}": expected bash, zsh or fish`, 2);
      ctx.out(SHELLS[shell as keyof typeof SHELLS](rootOf(command)));
    });
}

/** First line of the man page (a roff comment). */
export const MAN_HEADER = '.\\" generated from the streamctl program (streamctl man, npm run docs) \\- do not edit';

export function manCommand(ctx: CliContext): Command {
  return new Command('man')
    .description('print the man page (roff); e.g. streamctl man | man -l -')
    .action((_opts: unknown, command: Command) => ctx.out(manPage(rootOf(command), MAN_HEADER)));
}
