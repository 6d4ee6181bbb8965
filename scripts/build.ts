// Bundles the programs into dist/ as plain CommonJS for `node`: one small file per trigger (so the
// hot path parses only what it runs), mist-trigger, and the CLI. Migrations are embedded; the
// better-sqlite3 addon is copied next to the bundles, so dist/ + bin/ are the whole runtime.
import { build, type Plugin } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readMigrationsFromDisk } from '../src/store/migrations';
import { TRIGGERS } from '../src/triggers/registry';

const root = resolve(__dirname, '..');
const dist = join(root, 'dist');

/** `virtual:trigger/<program>` → an entry exporting main() for that trigger module. */
const triggerEntries: Plugin = {
  name: 'trigger-entries',
  setup(b) {
    b.onResolve({ filter: /^virtual:trigger\// }, (args) => ({ path: args.path.slice('virtual:trigger/'.length), namespace: 'trigger-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'trigger-entry' }, (args) => ({
      resolveDir: root,
      loader: 'ts',
      contents: [
        `import { runTrigger } from './src/runtime/run-trigger';`,
        `import trigger from './src/triggers/${args.path}';`,
        `export function main(): void { runTrigger(trigger); }`,
      ].join('\n'),
    }));
  },
};

export async function buildAll(): Promise<void> {
  const migrations = readMigrationsFromDisk(join(root, 'db'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });

  const entryPoints: Record<string, string> = {
    cli: join(root, 'src/cli/main.ts'),
    'mist-trigger': join(root, 'src/runtime/mist-trigger.ts'),
  };
  for (const spec of Object.values(TRIGGERS)) entryPoints[spec.program] = `virtual:trigger/${spec.program}`;
  // The JWT library on its own, required lazily by path only when a viewer presents a token.
  entryPoints.jose = join(root, 'src/access/jose-entry.ts');

  await build({
    entryPoints,
    outdir: dist,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // better-sqlite3 only falls back to `bindings` when no nativeBinding is given; we always give one.
    external: ['bindings'],
    plugins: [triggerEntries],
    define: {
      __MIGRATIONS__: JSON.stringify(migrations),
      __SCHEMA_VERSION__: String(migrations.length ? migrations[migrations.length - 1]!.version : 0),
      __VERSION__: JSON.stringify(version),
    },
  });

  const addon = join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  copyFileSync(addon, join(dist, 'better_sqlite3.node'));
  chmodSync(join(dist, 'better_sqlite3.node'), 0o755);
}

if (require.main === module) {
  buildAll().catch((err: unknown) => {
    console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
