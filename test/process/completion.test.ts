// Shell completion and the man page are generated from the commander program: every command is in
// each of them, and bash, with the script sourced, completes subcommands and options.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandTree } from '../../src/cli/command-tree';
import { createContext } from '../../src/cli/context';
import { buildProgram } from '../../src/cli/program';
import { baseEnv, BIN, freshDb, tempDir } from '../support/helpers';
import { cli } from '../support/cli';

const db = freshDb();
const ctx = createContext({ out: () => undefined, err: () => undefined });
const paths = commandTree(buildProgram(ctx)).map((n) => n.path);
ctx.close();

const script = async (shell: string) => {
  const r = await cli(db, ['completion', shell]);
  expect(r.status).toBe(0);
  return r.stdout;
};

describe('streamctl completion', async () => {
  it('walks the whole tree (a walk that found nothing would pass the checks below)', async () => {
    expect(paths).toContain('streamctl token key add');
    expect(paths).toContain('streamctl db backup');
    expect(paths.length).toBeGreaterThan(60);
  });

  it.each(['bash', 'zsh', 'fish'])('%s: every command appears', async (shell) => {
    const text = await script(shell);
    for (const path of paths) expect(text, path).toContain(shell === 'fish' ? `"${path}"` : `'${path}'`);
  });

  it('rejects an unknown shell as a usage error', async () => {
    const r = await cli(db, ['completion', 'tcsh']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('streamctl: unknown shell "tcsh": expected bash, zsh or fish\n');
  });

  describe('bash, with the script sourced', async () => {
    for (const name of ['alice', 'albert', 'bob']) await cli(db, ['user', 'add', name]);
    const file = join(tempDir(), 'streamctl.bash');
    writeFileSync(file, await script('bash'));
    /** What bash offers for the words typed so far (the last one is being completed). */
    // User names come from `streamctl user list --names`: the built program, on the database the shell names.
    const env = baseEnv({ PATH: `${BIN}:${process.env.PATH}`, STREAMCTL_DB: db });
    const complete = (...words: string[]): string[] => {
      const r = spawnSync(
        'bash',
        [
          '--norc',
          '-c',
          'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _streamctl_complete; printf "%s\\n" "${COMPREPLY[@]}"',
          'bash',
          file,
          'streamctl',
          ...words,
        ],
        { encoding: 'utf8', env },
      );
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean);
    };

    it('registers itself for streamctl', async () => {
      const r = spawnSync('bash', ['--norc', '-c', 'source "$1"; complete -p streamctl', 'bash', file], { encoding: 'utf8' });
      expect(r.stdout).toBe('complete -o default -F _streamctl_complete streamctl\n');
    });

    it('completes a command, a subcommand and an option', async () => {
      expect(complete('rec')).toEqual(['recordings']);
      expect(complete('recordings', 'p')).toEqual(['pin', 'prune']);
      expect(complete('db', '')).toEqual(expect.arrayContaining(['backup', 'check', 'migrate', '--help']));
      expect(complete('recordings', 'prune', '--d')).toEqual(['--dry-run']);
    });

    it('offers values: access policies, on/off, event kinds, setting names, shells, user names', async () => {
      expect(complete('channel', 'set', 'alice', '--access', '')).toEqual(['public', 'password', 'paid', 'age', 'private']);
      expect(complete('channel', 'set', 'alice', '--access', 'pa')).toEqual(['password', 'paid']);
      expect(complete('channel', 'set', 'alice', '--record', '')).toEqual(['on', 'off']);
      expect(complete('events', '--kind', 'ad')).toEqual(['admin']);
      expect(complete('config', 'set', 'token-')).toEqual(['token-max-ttl', 'token-secret-grace']);
      expect(complete('config', 'get', '')).toContain('mist-api');
      expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
      expect(complete('db', 'setup', '--role', '')).toEqual(['single', 'origin', 'edge']);
      // User names, from the database: the first argument of the commands that name a user, and --channel/--user.
      expect(complete('user', 'show', '')).toEqual(['albert', 'alice', 'bob']);
      expect(complete('channel', 'set', 'al')).toEqual(['albert', 'alice']);
      expect(complete('key', 'rotate', 'b')).toEqual(['bob']);
      expect(complete('grant', 'add', '')).toEqual(['albert', 'alice', 'bob']);
      expect(complete('ban', 'add', '--channel', 'a')).toEqual(['albert', 'alice']);
      expect(complete('events', '--user', 'b')).toEqual(['bob']);
      // Not for a new name, not past the argument that names the user, not for MistServer's API account.
      expect(complete('user', 'add', 'a')).toEqual([]);
      expect(complete('grant', 'add', 'alice', 'a')).not.toContain('albert');
      expect(complete('doctor', '--user', 'a')).not.toContain('alice');
      // Options are still offered where a value could go.
      expect(complete('channel', 'set', 'alice', '--acc')).toEqual(['--access']);
    });

    it("skips an option's value and does not take it for a subcommand", async () => {
      // `--api user` must not descend into `user`: the options of `doctor` are offered again.
      expect(complete('doctor', '--api', 'user', '--mist')).toEqual(['--mist-user']);
      expect(complete('events', '--kind', 'prune', '--li')).toEqual(['--limit']);
    });
  });
});

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

describe.runIf(has('zsh'))('zsh, with the script sourced (completion functions stubbed to print)', async () => {
  const file = join(tempDir(), '_streamctl');
  writeFileSync(file, await script('zsh'));
  const complete = (...words: string[]): string[] => {
    const r = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        // _describe prints the entries it is given (name:description); compdef and _files say they ran.
        'compdef() { print -r -- "compdef $*" }; _describe() { local arr=${@[-1]}; print -rl -- "${(@P)arr}" }; _files() { print -r -- FILES }; ' +
          'source "$1"; shift; words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; _streamctl',
        'zsh',
        file,
        'streamctl',
        ...words,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean);
  };

  it('offers values: access policies, setting names', async () => {
    const values = (...words: string[]) => complete(...words).filter((l) => !l.startsWith('compdef '));
    expect(values('channel', 'set', 'alice', '--access', '')).toEqual(['public', 'password', 'paid', 'age', 'private']);
    expect(values('config', 'set', '')).toContain('mist-api');
  });

  it('registers itself with compdef when sourced', async () => {
    expect(complete('')[0]).toBe('compdef _streamctl streamctl');
  });

  it('offers the subcommands of the command typed so far, with descriptions', async () => {
    expect(complete('recordings', '')).toContain(
      'prune:remove recordings past their retention and above the size cap (pinned ones are kept); for cron',
    );
    expect(complete('recordings', '').some((l) => l.startsWith('user:'))).toBe(false);
    expect(complete('').some((l) => l.startsWith('user:'))).toBe(true);
  });

  it("skips an option's value, and completes files for it", async () => {
    const afterValue = complete('doctor', '--api', 'user', '--');
    expect(afterValue.some((l) => l.startsWith('--mist-user:'))).toBe(true);
    expect(afterValue.some((l) => l.startsWith('add:'))).toBe(false); // not `user`'s subcommands
    expect(complete('metrics', '-o', '')).toContain('FILES');
  });
});

describe.runIf(has('fish'))('fish, with the script sourced', async () => {
  const file = join(tempDir(), 'streamctl.fish');
  writeFileSync(file, await script('fish'));
  const complete = (line: string): string[] => {
    const r = spawnSync('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', file, line], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]!);
  };

  it('completes a command, a subcommand and an option', async () => {
    expect(complete('streamctl rec')).toEqual(['recordings']);
    expect(complete('streamctl recordings p')).toEqual(['pin', 'prune']);
    expect(complete('streamctl doctor --api user --mist')).toEqual(['--mist-user']);
  });

  it('offers values: access policies, setting names', async () => {
    // fish sorts what it offers.
    expect(complete('streamctl channel set alice --access ')).toEqual(['age', 'paid', 'password', 'private', 'public']);
    expect(complete('streamctl config set ')).toContain('mist-api');
    expect(complete('streamctl channel set alice --acc')).toEqual(['--access']);
  });
});

describe('streamctl man', async () => {
  it('has a section for every command, and matches docs/reference/streamctl.1', async () => {
    const r = await cli(db, ['man']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('.\\" generated')).toBe(true);
    for (const path of paths.slice(1)) expect(r.stdout, path).toMatch(new RegExp(`^\\.SS "${path.replace(/-/g, '\\\\-')} `, 'm'));
  });

  it('renders with man (no roff warnings)', async () => {
    const which = spawnSync('sh', ['-c', 'command -v man']);
    if (which.status !== 0) return; // man is not installed here; the section check above stands
    const page = join(tempDir(), 'streamctl.1');
    writeFileSync(page, (await cli(db, ['man'])).stdout);
    const r = spawnSync('man', ['--warnings', '-l', page], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '100' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('streamctl recordings prune');
  });
});
