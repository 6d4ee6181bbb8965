// `streamctl config ...`: operator settings stored in the database (shared with the triggers).
import { Command } from 'commander';
import { UserError } from '../../lib/errors';
import { SETTING_RULES, setSetting } from '../../settings/rules';
import { getSetting, isSettingName, SETTING_DEFAULTS, unsetSetting, type SettingName } from '../../store/settings';
import type { CliContext } from '../context';
import { table } from '../format';

function requireSettingName(name: string): SettingName {
  if (!isSettingName(name)) {
    throw new UserError(`unknown setting "${name}"; known: ${Object.keys(SETTING_DEFAULTS).join(', ')}`);
  }
  return name;
}

export function configCommand(ctx: CliContext): Command {
  const cmd = new Command('config').description('read and change settings');

  cmd
    .command('set <name> <value>')
    .description(`change a setting (${Object.keys(SETTING_DEFAULTS).join(', ')})`)
    .action((name: string, value: string) => {
      const setting = requireSettingName(name);
      const problem = setSetting(ctx.db(), setting, value.trim());
      if (problem) throw new UserError(`invalid value for ${setting}: ${problem}`);
      ctx.out(`${setting} = ${value.trim()}\n`);
    });

  cmd
    .command('get <name>')
    .description('print one setting')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const setting = requireSettingName(name);
      const value = getSetting(ctx.db(), setting);
      if (opts.json) return ctx.json({ name: setting, value, default: SETTING_DEFAULTS[setting] });
      ctx.out(`${value}\n`);
    });

  cmd
    .command('unset <name>')
    .description('return a setting to its default')
    .action((name: string) => {
      const setting = requireSettingName(name);
      unsetSetting(ctx.db(), setting);
      ctx.out(`${setting} = ${SETTING_DEFAULTS[setting]} (default)\n`);
    });

  cmd
    .command('list')
    .description('print every setting with its value and meaning')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const db = ctx.db();
      const names = Object.keys(SETTING_DEFAULTS) as SettingName[];
      if (opts.json) return ctx.json(Object.fromEntries(names.map((n) => [n, getSetting(db, n)])));
      ctx.out(table(['NAME', 'VALUE', 'MEANING'], names.map((n) => [n, getSetting(db, n), SETTING_RULES[n].description])));
    });

  return cmd;
}
