// Shell completion scripts and the man page, generated from the commander program itself (the
// same tree `--help` prints), so neither can drift from the commands: a new command or option is
// in both the moment it is registered.
import type { Command, Option } from 'commander';
import { ACCESS_POLICIES } from '../store/channels';
import { EVENT_KINDS } from '../store/events';
import { SETTING_DEFAULTS } from '../store/settings';

/** A command with its full name ("streamctl key rotate") and what `--help` shows of it. */
export interface CommandNode {
  path: string;
  cmd: Command;
  description: string;
  subcommands: { name: string; description: string }[];
  options: { flags: string; long?: string; short?: string; takesValue: boolean; description: string }[];
}

/** Every command, depth first, with the options and subcommands its --help lists. */
export function commandTree(program: Command): CommandNode[] {
  const out: CommandNode[] = [];
  const visit = (cmd: Command, path: string) => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd);
    out.push({
      path,
      cmd,
      description: cmd.description(),
      subcommands: subs.map((s) => ({ name: s.name(), description: s.description() })),
      options: help.visibleOptions(cmd).map((o: Option) => ({
        flags: o.flags,
        long: o.long,
        short: o.short,
        takesValue: o.required || o.optional,
        description: o.description,
      })),
    });
    // commander's implicit `help` command has no Command object of its own to descend into.
    for (const sub of cmd.commands) visit(sub, `${path} ${sub.name()}`);
  };
  visit(program, program.name());
  return out;
}

/** What a value completes to: a fixed list, or the users in the database (`user list --names`). */
export type ValueSource = { values: readonly string[] } | 'users';

/**
 * Where completion offers values, keyed "<command path> <option>" for an option's value and
 * "<command path> #<n>" for the n-th argument (1-based): access policies, event kinds, on/off,
 * setting names, shells, an option's own choices, and user names wherever a user is named.
 */
export function valueSources(nodes: CommandNode[]): Map<string, ValueSource> {
  const out = new Map<string, ValueSource>();
  for (const n of nodes) {
    for (const o of n.cmd.options) {
      if (!o.long || !(o.required || o.optional)) continue;
      const source: ValueSource | undefined = o.argChoices
        ? { values: o.argChoices }
        : o.long === '--access'
          ? { values: ACCESS_POLICIES }
          : o.long === '--kind' && n.path === 'streamctl events'
            ? { values: EVENT_KINDS }
            : o.long === '--record' || o.long === '--replay-offline'
              ? { values: ['on', 'off'] }
              : (o.long === '--user' && !/API account/.test(o.description)) || o.long === '--channel'
                ? 'users'
                : undefined;
      if (!source) continue;
      for (const flag of [o.long, o.short].filter((f): f is string => Boolean(f))) out.set(`${n.path} ${flag}`, source);
    }
    for (const [i, arg] of n.cmd.registeredArguments.entries()) {
      const name = arg.name();
      const newName = /^streamctl (user|token key) add$/.test(n.path);
      const source: ValueSource | undefined = arg.argChoices
        ? { values: arg.argChoices }
        : name === 'shell'
          ? { values: ['bash', 'zsh', 'fish'] }
          : name === 'name' && n.path.startsWith('streamctl config ')
            ? { values: Object.keys(SETTING_DEFAULTS) }
            : name === 'user' || name === 'channel' || (name === 'name' && !newName && /^streamctl (user|key) /.test(n.path))
              ? 'users'
              : undefined;
      if (source) out.set(`${n.path} #${i + 1}`, source);
    }
  }
  return out;
}

/** Single-quoted for POSIX shells. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Single-quoted for fish (only \ and ' are special there). */
const fq = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Every "<command path> <word>" that names a subcommand, and every one that is an option taking a value. */
function patterns(nodes: CommandNode[]) {
  const subPaths = nodes.flatMap((n) =>
    n.subcommands.filter((s) => nodes.some((m) => m.path === `${n.path} ${s.name}`)).map((s) => `${n.path} ${s.name}`),
  );
  const valued = nodes.flatMap((n) =>
    n.options
      .filter((o) => o.takesValue)
      .flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)).map((f) => `${n.path} ${f}`)),
  );
  return { subPaths, valued };
}

/**
 * The POSIX shell function every script carries: `_<program>_values <where> <program>` prints the
 * values for a valueSources() key, one a line; user names come from `<program> user list --names`
 * (the database the shell's environment names), errors silenced: no values, no completion noise.
 */
function valuesFunction(name: string, nodes: CommandNode[]): string[] {
  const byList = new Map<string, string[]>();
  for (const [where, source] of valueSources(nodes)) {
    const body = source === 'users' ? '"$2" user list --names 2>/dev/null' : `printf '%s\\n' ${source.values.map(sq).join(' ')}`;
    byList.set(body, [...(byList.get(body) ?? []), where]);
  }
  return [
    `_${name}_values() {`,
    '  case "$1" in',
    ...[...byList].map(([body, wheres]) => `    ${wheres.map(sq).join('|')}) ${body} ;;`),
    '  esac',
    '}',
  ];
}

/** fish's own form of valuesFunction: `__<program>_value_list <where> <program>`. */
function fishValueList(name: string, nodes: CommandNode[]): string[] {
  const byList = new Map<string, string[]>();
  for (const [where, source] of valueSources(nodes)) {
    const body = source === 'users' ? '$argv[2] user list --names 2>/dev/null' : `printf '%s\\n' ${source.values.map(fq).join(' ')}`;
    byList.set(body, [...(byList.get(body) ?? []), where]);
  }
  return [
    `function __${name}_value_list`,
    '    switch $argv[1]',
    ...[...byList].flatMap(([body, wheres]) => [`        case ${wheres.map(fq).join(' ')}`, `            ${body}`]),
    '    end',
    'end',
  ];
}

/** bash: `source <(streamctl completion bash)`, or save it in /etc/bash_completion.d/streamctl. */
export function bashCompletion(program: Command): string {
  const nodes = commandTree(program);
  const fn = `_${program.name()}_complete`;
  const { subPaths, valued } = patterns(nodes);
  const words = (n: CommandNode) =>
    [...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => [o.long, o.short].filter(Boolean))].join(' ');
  return [
    `# bash completion for ${program.name()}, generated by \`${program.name()} completion bash\` from the program's commands.`,
    ...valuesFunction(program.name(), nodes),
    `${fn}() {`,
    '  local cur=${COMP_WORDS[COMP_CWORD]} cmdpath=' + program.name() + ' word skip=0 i',
    '  # Walk the words before the cursor: subcommand names descend, an option that takes a value skips it.',
    '  local opt= npos=0 values=',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word=${COMP_WORDS[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$cmdpath $word" in',
    `      ${subPaths.map(sq).join('|')}) cmdpath="$cmdpath $word"; npos=0 ;;`,
    `      ${valued.map(sq).join('|')}) skip=1; opt=$word ;;`,
    '      *) [[ $word == -* ]] || npos=$((npos + 1)) ;;',
    '    esac',
    '  done',
    "  # An option's value, or an argument: its values when it has some, else files.",
    '  if ((skip)); then values=$(_' + program.name() + '_values "$cmdpath $opt" "${COMP_WORDS[0]}")',
    '  elif [[ $cur != -* ]]; then values=$(_' + program.name() + '_values "$cmdpath #$((npos + 1))" "${COMP_WORDS[0]}")',
    '  fi',
    '  if [[ -n $values ]]; then COMPREPLY=($(compgen -W "$values" -- "$cur")); return; fi',
    '  if ((skip)); then COMPREPLY=($(compgen -f -- "$cur")); return; fi',
    '  local candidates=',
    '  case "$cmdpath" in',
    ...nodes.map((n) => `    ${sq(n.path)}) candidates=${sq(words(n))} ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))',
    '}',
    `complete -o default -F ${fn} ${program.name()}`,
    '',
  ].join('\n');
}

/** zsh: `source <(streamctl completion zsh)`, or save it as _streamctl in a folder on $fpath. */
export function zshCompletion(program: Command): string {
  const name = program.name();
  const nodes = commandTree(program);
  const fn = `_${name}`;
  const { subPaths, valued } = patterns(nodes);
  const entry = (word: string, desc: string) => sq(`${word.replace(/:/g, '\\:')}:${desc.replace(/\s+/g, ' ')}`);
  return [
    `#compdef ${name}`,
    `# zsh completion for ${name}, generated by \`${name} completion zsh\` from the program's commands.`,
    ...valuesFunction(name, nodes),
    `${fn}() {`,
    // `path` is tied to $PATH in zsh: never use it as a variable name here.
    `  local cmdpath=${name} word skip=0 i`,
    '  local -a subs opts',
    '  local opt= npos=0 values=',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word=${words[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$cmdpath $word" in',
    `      (${subPaths.map(sq).join('|')}) cmdpath="$cmdpath $word"; npos=0 ;;`,
    `      (${valued.map(sq).join('|')}) skip=1; opt=$word ;;`,
    '      (*) [[ $word == -* ]] || npos=$((npos + 1)) ;;',
    '    esac',
    '  done',
    `  if ((skip)); then values=$(_${name}_values "$cmdpath $opt" "\${words[1]}")`,
    `  elif [[ $PREFIX != -* ]]; then values=$(_${name}_values "$cmdpath #$((npos + 1))" "\${words[1]}")`,
    '  fi',
    "  if [[ -n $values ]]; then local -a vals; vals=(${(f)values}); _describe -t values 'value' vals; return 0; fi",
    '  if ((skip)); then _files; return; fi',
    '  case "$cmdpath" in',
    ...nodes.map(
      (n) =>
        `    (${sq(n.path)}) subs=(${n.subcommands.map((s) => entry(s.name, s.description)).join(' ')}); opts=(${n.options
          .flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)).map((f) => entry(f, o.description)))
          .join(' ')}) ;;`,
    ),
    '  esac',
    "  (( ${#subs} )) && _describe -t commands 'command' subs",
    "  [[ $PREFIX == -* || ${#subs} -eq 0 ]] && _describe -t options 'option' opts",
    '  return 0',
    '}',
    `if [ "$funcstack[1]" = "${fn}" ]; then ${fn} "$@"; else compdef ${fn} ${name}; fi`,
    '',
  ].join('\n');
}

/** fish: `streamctl completion fish > ~/.config/fish/completions/streamctl.fish`. */
export function fishCompletion(program: Command): string {
  const name = program.name();
  const nodes = commandTree(program);
  const fn = `__${name}_command_path`;
  const { subPaths, valued } = patterns(nodes);
  const sources = valueSources(nodes);
  const lines = [
    `# fish completion for ${name}, generated by \`${name} completion fish\` from the program's commands.`,
    `function ${fn}`,
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    `    set -l cmdpath ${name}`,
    '    set -l skip 0',
    '    for word in $words',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch "$cmdpath $word"',
    `            case ${subPaths.map(fq).join(' ')}`,
    '                set cmdpath "$cmdpath $word"',
    `            case ${valued.map(fq).join(' ')}`,
    '                set skip 1',
    '        end',
    '    end',
    '    echo $cmdpath',
    'end',
    "# The values for the word being completed (an option's value, or an argument), by the same walk.",
    `function __${name}_values`,
    '    set -l words (commandline -opc)',
    '    set -l program $words[1]',
    '    set -e words[1]',
    `    set -l cmdpath ${name}`,
    '    set -l skip 0',
    '    set -l opt',
    '    set -l npos 0',
    '    for word in $words',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch "$cmdpath $word"',
    `            case ${subPaths.map(fq).join(' ')}`,
    '                set cmdpath "$cmdpath $word"',
    '                set npos 0',
    `            case ${valued.map(fq).join(' ')}`,
    '                set skip 1',
    '                set opt $word',
    '            case "*"',
    "                string match -q -- '-*' $word; or set npos (math $npos + 1)",
    '        end',
    '    end',
    '    set -l at "$cmdpath #"(math $npos + 1)',
    '    test $skip = 1; and set at "$cmdpath $opt"',
    `    __${name}_value_list $at $program`,
    'end',
    ...fishValueList(name, nodes),
    `complete -c ${name} -f`,
    `complete -c ${name} -n 'test -n "$(__${name}_values)"' -a '(__${name}_values)'`,
  ];
  for (const n of nodes) {
    const cond = fq(`test (${fn}) = ${fq(n.path).replace(/'/g, '"')}`);
    for (const s of n.subcommands) lines.push(`complete -c ${name} -n ${cond} -a ${fq(s.name)} -d ${fq(s.description)}`);
    for (const o of n.options) {
      const flags = [o.long ? `-l ${o.long.replace(/^--/, '')}` : '', o.short ? `-s ${o.short.replace(/^-/, '')}` : '']
        .filter(Boolean)
        .join(' ');
      // An option with values offers them (the same walk finds which); any other value is a file.
      const valued = o.long !== undefined && sources.has(`${n.path} ${o.long}`);
      lines.push(
        `complete -c ${name} -n ${cond} ${flags}${o.takesValue ? (valued ? ` -x -a ${fq(`(__${name}_values)`)}` : ' -r -F') : ''} -d ${fq(o.description)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** roff text: backslashes, and a leading . or ' that would read as a request. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

/** The man page (section 1) of the whole program: every command with its arguments and options. */
export function manPage(program: Command, header: string): string {
  const nodes = commandTree(program);
  const name = program.name();
  const lines = [
    header,
    `.TH ${name.toUpperCase()} 1 "" "${name}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(program.description().replace(/^[^:]*:\s*/, ''))}`,
    '.SH SYNOPSIS',
    `.B ${name}`,
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH DESCRIPTION',
    roff(program.description()),
    '.PP',
    'Every command prints its own help with \\fB\\-\\-help\\fR. Errors are one line on stderr',
    `starting with \\fB${name}:\\fR and a non\\-zero exit status.`,
    '.SH COMMANDS',
  ];
  for (const n of nodes.slice(1)) {
    const usage = n.cmd.usage();
    lines.push(`.SS "${roff(n.path)} ${roff(usage).replace(/"/g, '\\(dq')}"`, roff(n.description || '(no description)'));
    for (const arg of n.cmd.registeredArguments) {
      if (!arg.description) continue;
      lines.push('.TP', `.I ${roff(arg.name())}`, roff(arg.description));
    }
    for (const o of n.options) lines.push('.TP', `.B ${roff(o.flags)}`, roff(o.description || ''));
  }
  lines.push(
    '.SH ENVIRONMENT',
    '.TP',
    '.B STREAMCTL_DB',
    'the database to use instead of the installed config\\(aqs \\fBdb=\\fR',
    '.TP',
    '.B STREAMCTL_CONF',
    'the config file to read instead of streamctl.conf beside the programs',
    '.SH SEE ALSO',
    'docs/operations.md and docs/reference/cli.md in the streamctl source tree.',
    '',
  );
  return lines.join('\n');
}
