// `npm run package`: ONE self-contained executable, dist-package/streamctl — the local Node runtime,
// all of streamctl (CLI and every trigger) and the better-sqlite3 addon — for MistServer hosts
// without Node. Built with Node's single executable applications: esbuild bundles one script, Node
// turns it into a blob (addon embedded as an asset), postject injects the blob into a copy of this
// very `node` binary. Nothing is downloaded, so it builds where only the npm registry is reachable.
// Symlinks named after each trigger program (and mist-trigger) sit beside it.
import { build, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { betterSqliteAddon } from './addon';
import { readMigrationsFromDisk } from '../src/store/migrations';
import { TRIGGERS } from '../src/triggers/registry';

const root = resolve(__dirname, '..');
/** Where the executable and its symlinks go (apart from dist/, which the normal build recreates). */
export const PACKAGE_DIR = join(root, 'dist-package');
/** The executable itself. */
export const PACKAGE_BIN = join(PACKAGE_DIR, 'streamctl');

// The fuse Node's single executable support looks for (documented in Node's SEA guide).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** `virtual:packaged-entry`: calls main() with one lazy loader per registry trigger. */
const packagedEntry: Plugin = {
  name: 'packaged-entry',
  setup(b) {
    b.onResolve({ filter: /^virtual:packaged-entry$/ }, () => ({ path: 'entry', namespace: 'packaged-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'packaged-entry' }, () => ({
      resolveDir: root,
      loader: 'ts',
      contents: [
        `import { main } from './src/packaging/packaged-main';`,
        `main({`,
        ...Object.entries(TRIGGERS).map(([name, spec]) => `  ${name}: () => require('./src/triggers/${spec.program}').default,`),
        `});`,
      ].join('\n'),
    }));
  },
};

/**
 * postject's LIEF (compiled to WebAssembly) warns through console.warn once per note section of
 * Node's own ELF binary whose name it cannot find in the string table ("Can't find string offset
 * for section name '.note.100'", nine lines on every build). Harmless: the blob goes into a note
 * of its own and the executable runs (test/process/package.test.ts). Those lines and only those
 * are dropped; any other warning passes through, and a failed injection still throws.
 */
export const LIEF_NOTE_NOISE = /^warning: Can't find string offset for section name '\.note(\.\d+)?'$/;

async function withoutLiefNoteNoise<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!(args.length === 1 && typeof args[0] === 'string' && LIEF_NOTE_NOISE.test(args[0].trim()))) warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: PACKAGE_DIR, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
}

/** Builds dist-package/streamctl and its symlinks; returns the executable's path. */
export async function buildPackage(): Promise<string> {
  const migrations = readMigrationsFromDisk(join(root, 'db'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const addonPath = betterSqliteAddon();
  const addon = readFileSync(addonPath);
  rmSync(PACKAGE_DIR, { recursive: true, force: true });
  mkdirSync(PACKAGE_DIR, { recursive: true });

  const script = join(PACKAGE_DIR, 'streamctl.js');
  await build({
    entryPoints: ['virtual:packaged-entry'],
    outfile: script,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // better-sqlite3 only falls back to `bindings` when no nativeBinding is given; we always give one.
    external: ['bindings'],
    plugins: [packagedEntry],
    define: {
      __MIGRATIONS__: JSON.stringify(migrations),
      __SCHEMA_VERSION__: String(migrations.length ? migrations[migrations.length - 1]!.version : 0),
      __VERSION__: JSON.stringify(version),
      // jose inside the one script (src/access/token.ts loadJose)
      __JOSE_INSIDE__: 'true',
      // Names the extracted addon's cache folder: a new addon never reuses an old file.
      __ADDON_ID__: JSON.stringify(createHash('sha256').update(addon).digest('hex').slice(0, 16)),
    },
  });

  const blob = join(PACKAGE_DIR, 'streamctl.blob');
  const config = join(PACKAGE_DIR, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's code cache for the bundle, made at build time: every start of the executable skips
      // compiling it (trigger runs 1.27x -> 1.14x node -e 0 in CPU time, docs/performance.md).
      useCodeCache: true,
      assets: { 'better_sqlite3.node': addonPath },
    }),
  );
  run(process.execPath, ['--experimental-sea-config', config]);

  copyFileSync(process.execPath, PACKAGE_BIN);
  chmodSync(PACKAGE_BIN, 0o755);
  const { inject } = require('postject') as {
    inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string }): Promise<void>;
  };
  await withoutLiefNoteNoise(() => inject(PACKAGE_BIN, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE }));
  for (const f of [script, blob, config]) rmSync(f);

  for (const program of ['mist-trigger', ...Object.values(TRIGGERS).map((s) => s.program)]) {
    symlinkSync('streamctl', join(PACKAGE_DIR, program));
  }
  return PACKAGE_BIN;
}

if (require.main === module) {
  buildPackage()
    .then((bin) => console.log(`built ${bin} (symlinks for each trigger program beside it)`))
    .catch((err: unknown) => {
      console.error(`package failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
