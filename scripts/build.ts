// Bundles the programs into dist/ as plain CommonJS for `node`: one small file per trigger (so the
// hot path parses only what it runs), mist-trigger, and the CLI. Migrations are embedded; the
// better-sqlite3 addon is copied next to the bundles, so dist/ + bin/ are the whole runtime.
// dist/index.js is the Node entry point (`require('streamctl')`), its declarations in dist/types/.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import ts from 'typescript';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { betterSqliteAddon } from './addon';
import { readMigrationsFromDisk } from '../src/store/migrations';
import { EDGE_TRIGGERS, TRIGGERS } from '../src/triggers/registry';

const root = resolve(__dirname, '..');
const dist = join(root, 'dist');

/**
 * `virtual:trigger/<program>` → an entry exporting main() for that trigger module;
 * `virtual:edge-trigger/<program>` → the same for an edge program, on the edge runner (no SQLite).
 */
const triggerEntryModules: Plugin = {
  name: 'trigger-entries',
  setup(b) {
    b.onResolve({ filter: /^virtual:(edge-)?trigger\// }, (args) => {
      const edge = args.path.startsWith('virtual:edge-');
      return { path: args.path.slice(args.path.indexOf('/') + 1), namespace: edge ? 'edge-trigger-entry' : 'trigger-entry' };
    });
    const entry = (runner: string, run: string) => (args: { path: string }) => ({
      resolveDir: root,
      loader: 'ts' as const,
      contents: [
        `import { ${run} } from './src/runtime/${runner}';`,
        `import trigger from './src/triggers/${args.path}';`,
        `export function main(): void { ${run}(trigger); }`,
      ].join('\n'),
    });
    b.onLoad({ filter: /.*/, namespace: 'trigger-entry' }, entry('run-trigger', 'runTrigger'));
    b.onLoad({ filter: /.*/, namespace: 'edge-trigger-entry' }, entry('run-edge-trigger', 'runEdgeTrigger'));
  },
};

/**
 * Trigger programs use prepare/exec/pragma/transaction/close only: better-sqlite3's other methods
 * (backup, serialize, user functions, aggregates, virtual tables, inspect) are swapped for a stub
 * that throws, which saves ~0.45 ms of module loading per trigger run (measured in-process).
 */
const triggerOnlySqlite: Plugin = {
  name: 'trigger-only-sqlite',
  setup(b) {
    b.onResolve({ filter: /^\.\/methods\/(backup|serialize|function|aggregate|table|inspect)$/ }, (args) =>
      args.importer.includes('better-sqlite3') ? { path: args.path, namespace: 'unused-sqlite-method' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'unused-sqlite-method' }, (args) => ({
      loader: 'js',
      contents: `module.exports = function () { throw new Error(${JSON.stringify(`better-sqlite3 ${args.path} is left out of trigger programs`)}); };`,
    }));
  },
};

/** Where the Node entry's declarations go; package.json "types" points at types/src/index.d.ts. */
export const TYPES_DIR = join(dist, 'types');

/** The .d.ts files of src/index.ts and what it exports (tsc's own emitter: they match the code), into `outDir`. */
export function emitDeclarations(outDir = TYPES_DIR): void {
  const program = ts.createProgram([join(root, 'src/index.ts')], {
    declaration: true,
    emitDeclarationOnly: true,
    rootDir: root,
    outDir,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    types: ['node'],
    lib: ['lib.es2022.d.ts'],
  });
  const result = program.emit();
  const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length) throw new Error(`declarations: ${ts.flattenDiagnosticMessageText(problems[0]!.messageText, ' ')}`);
}

/**
 * Builds dist/. The declarations take ~5 s of type checking, so the test suite's build leaves them
 * out (`declarations: false`); `npm run build` and install.sh make them.
 */
export async function buildAll(opts: { declarations?: boolean } = {}): Promise<void> {
  const migrations = readMigrationsFromDisk(join(root, 'db'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });

  const triggerEntries: Record<string, string> = { 'mist-trigger': join(root, 'src/runtime/mist-trigger.ts') };
  for (const spec of Object.values(TRIGGERS)) triggerEntries[spec.program] = `virtual:trigger/${spec.program}`;
  for (const spec of Object.values(EDGE_TRIGGERS)) triggerEntries[spec.program] = `virtual:edge-trigger/${spec.program}`;
  const cliEntries = {
    cli: join(root, 'src/cli/main.ts'),
    // The JWT library on its own, required lazily by path only when a viewer presents a token.
    jose: join(root, 'src/access/jose-entry.ts'),
  };

  const common: BuildOptions = {
    outdir: dist,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: process.env.STREAMCTL_NO_MINIFY !== '1', // unminified for profiling
    legalComments: 'none',
    logLevel: 'warning',
    // better-sqlite3 only falls back to `bindings` when no nativeBinding is given; we always give one.
    external: ['bindings'],
    // Each program file is itself runnable (install.sh links bin/<program> to it and pins the
    // shebang to an absolute node): one file for node to resolve and load per trigger run.
    banner: { js: '#!/usr/bin/env node' },
    footer: { js: "if (require.main === module && typeof module.exports.main === 'function') module.exports.main();" },
    define: {
      __MIGRATIONS__: JSON.stringify(migrations),
      __SCHEMA_VERSION__: String(migrations.length ? migrations[migrations.length - 1]!.version : 0),
      __VERSION__: JSON.stringify(version),
      // jose stays in its own dist/jose.js, required only for a token (src/access/token.ts loadJose)
      __JOSE_INSIDE__: 'false',
    },
  };
  await Promise.all([
    build({ ...common, entryPoints: triggerEntries, plugins: [triggerEntryModules, triggerOnlySqlite] }),
    build({ ...common, entryPoints: cliEntries }),
    // A library, not a program: no shebang, no main() footer.
    build({ ...common, entryPoints: { index: join(root, 'src/index.ts') }, banner: {}, footer: {} }),
  ]);
  if (opts.declarations !== false) emitDeclarations();

  for (const program of [...Object.keys(triggerEntries), 'cli']) chmodSync(join(dist, `${program}.js`), 0o755);

  for (const spec of [...Object.values(TRIGGERS), ...Object.values(EDGE_TRIGGERS)]) {
    if (spec.blocking) continue;
    writeFileSync(join(dist, `${spec.program}.sh`), detachWrapper(spec.program), { mode: 0o755 });
  }

  copyFileSync(betterSqliteAddon(), join(dist, 'better_sqlite3.node'));
  chmodSync(join(dist, 'better_sqlite3.node'), 0o755);
  writeManAndCompletions();
}

/** What install.sh installs as the man page and the shell completions, by the file name it reads in dist/. */
export const GENERATED_DOCS: Record<string, string[]> = {
  'streamctl.1': ['man'],
  'completion.bash': ['completion', 'bash'],
  'completion.zsh': ['completion', 'zsh'],
  'completion.fish': ['completion', 'fish'],
};

/**
 * dist/streamctl.1 and dist/completion.<shell>: printed by the CLI just built, so they match its
 * commands. Made once here instead of by every install.sh run (four node starts each, ~0.5 s).
 */
function writeManAndCompletions(): void {
  for (const [file, args] of Object.entries(GENERATED_DOCS)) {
    const r = spawnSync(process.execPath, [join(dist, 'cli.js'), ...args], { encoding: 'utf8' });
    if (r.status !== 0 || !r.stdout) throw new Error(`streamctl ${args.join(' ')} failed: ${(r.stderr || String(r.error)).trim()}`);
    writeFileSync(join(dist, file), r.stdout);
  }
}

/**
 * dist/<program>.sh, what install.sh links bin/<program> to for an asynchronous trigger: it starts
 * the program in the background, in its own session, and exits at once.
 *
 * Why: the MistServer process that fires an asynchronous trigger (the recorder for RECORDING_END,
 * the input for STREAM_BUFFER/STREAM_END, the session for USER_END) spawns the handler as its child
 * and, when it exits, SIGINTs every child still running 0.5 s later, once a second, then SIGKILLs
 * after 10 s (lib/procs.cpp exit_handler, by pid). Node cannot catch a signal during its start-up
 * and resets an inherited "ignore", so the handler was usually killed before its first write. This
 * shell ignores those signals itself and has exited before they come; node runs as its child, a
 * pid MistServer never signals, and setsid also keeps it out of the process group (a Ctrl-C or a
 * stop script that signals MistServer's group). `&` gives the child /dev/null as stdin unless
 * redirected, hence fd 3. `${0%/*}` is bin/ (or dist/): both sit beside dist/.
 */
export function detachWrapper(program: string): string {
  const js = `"\${0%/*}/../dist/${program}.js"`;
  return [
    '#!/bin/sh',
    `# streamctl: runs ${program}.js detached, so the MistServer process that fired this asynchronous`,
    '# trigger cannot interrupt it as it exits (see scripts/build.ts, detachWrapper).',
    "trap '' INT TERM HUP",
    'exec 3<&0',
    'if command -v setsid >/dev/null 2>&1; then',
    `  setsid ${js} "$@" <&3 3<&- &`,
    'else',
    `  ${js} "$@" <&3 3<&- &`,
    'fi',
    '',
  ].join('\n');
}

if (require.main === module) {
  buildAll().catch((err: unknown) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
