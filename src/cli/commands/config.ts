// `streamctl config ...`: operator settings stored in the database (shared with the triggers).
import { Command } from 'commander';
import { UsageError, UserError } from '../../lib/errors';
import type { Db } from '../../store/open';
import { SETTING_RULES, setSetting, unsetProblem } from '../../settings/rules';
import { getSetting, isSettingName, SETTING_DEFAULTS, unsetSetting, type SettingName } from '../../store/settings';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { table } from '../format';

function requireSettingName(name: string): SettingName {
  if (!isSettingName(name)) {
    throw new UsageError(`unknown setting "${name}"; known: ${Object.keys(SETTING_DEFAULTS).join(', ')}`);
  }
  return name;
}

/** The JSON form of a setting (config get, set, unset, and each item of config list). */
function settingJson(db: Db, name: SettingName) {
  return { name, value: getSetting(db, name), default: SETTING_DEFAULTS[name], description: SETTING_RULES[name].description };
}

export function configCommand(ctx: CliContext): Command {
  const cmd = new Command('config').description('read and change settings');

  cmd
    .command('set <name> <value>')
    .description(`change a setting (${Object.keys(SETTING_DEFAULTS).join(', ')})`)
    .option('--json', 'print the setting as JSON')
    .action((name: string, value: string, opts: { json?: boolean }) => {
      const setting = requireSettingName(name);
      const problem = setSetting(ctx.db(), setting, value.trim());
      if (problem) throw new UsageError(`invalid value for ${setting}: ${problem}`);
      recordAdmin(ctx, { action: 'config set', reason: `${setting} = ${value.trim()}` });
      if (opts.json) return ctx.json(settingJson(ctx.db(), setting));
      ctx.out(`${setting} = ${value.trim()}\n`);
    });

  cmd
    .command('get <name>')
    .description('print one setting')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const setting = requireSettingName(name);
      if (opts.json) return ctx.json(settingJson(ctx.db(), setting));
      ctx.out(`${getSetting(ctx.db(), setting)}\n`);
    });

  cmd
    .command('unset <name>')
    .description('return a setting to its default')
    .option('--json', 'print the setting as JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const setting = requireSettingName(name);
      const problem = unsetProblem(ctx.db(), setting);
      if (problem) throw new UserError(`cannot unset ${setting}: ${problem}`);
      unsetSetting(ctx.db(), setting);
      recordAdmin(ctx, { action: 'config unset', reason: `${setting} back to its default` });
      if (opts.json) return ctx.json(settingJson(ctx.db(), setting));
      ctx.out(`${setting} = ${SETTING_DEFAULTS[setting]} (default)\n`);
    });

  cmd
    .command('list')
    .description('print every setting with its value and meaning')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const db = ctx.db();
      const names = Object.keys(SETTING_DEFAULTS) as SettingName[];
      if (opts.json) return ctx.json(names.map((n) => settingJson(db, n)));
      ctx.out(
        table(
          ['NAME', 'VALUE', 'MEANING'],
          names.map((n) => [n, getSetting(db, n), SETTING_RULES[n].description]),
        ),
      );
    });

  return cmd;
}
