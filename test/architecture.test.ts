// The layering of src/ (see README "Where things live"): layers only point down,
// cli → domain (access, edge, ingest, live, mist, recordings, replica, settings, site, webhooks) → store → lib, and the trigger
// runner depends on nothing above it. Checked on the import statements themselves.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(__dirname, '..', 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of every source file, as paths relative to src/ without extension. */
const imports = filesUnder(src).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s+|import\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return { file: relative(src, file).replace(/\.ts$/, ''), targets: specs.map((s) => relative(src, resolve(dirname(file), s))) };
});

const folder = (path: string) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);

/** Import edges that break `allowed(from, to)`, as "from -> to". */
function violations(applies: (file: string) => boolean, allowed: (target: string, file: string) => boolean): string[] {
  return imports.flatMap(({ file, targets }) => (applies(file) ? targets.filter((t) => !allowed(t, file)).map((t) => `${file} -> ${t}`) : []));
}

const DOMAIN = ['access', 'edge', 'ingest', 'live', 'mist', 'recordings', 'replica', 'settings', 'site', 'webhooks'];

describe('src/ layering', () => {
  it('lib/ imports only lib/', () => {
    expect(violations((f) => folder(f) === 'lib', (t) => folder(t) === 'lib')).toEqual([]);
  });

  it('store/ imports only store/, lib/ and config', () => {
    expect(violations((f) => folder(f) === 'store', (t) => ['store', 'lib', 'config'].includes(folder(t)))).toEqual([]);
  });

  it('the trigger registry imports nothing, so every program can load it cheaply', () => {
    expect(violations((f) => f === 'triggers/registry', () => false)).toEqual([]);
  });

  it('domain folders never import the CLI, the runner, packaging or trigger modules (the registry aside)', () => {
    const above = ['cli', 'runtime', 'packaging', 'triggers'];
    expect(violations((f) => DOMAIN.includes(folder(f)), (t) => t === 'triggers/registry' || !above.includes(folder(t)))).toEqual([]);
  });

  it('trigger modules never import the CLI, the runner or packaging', () => {
    expect(violations((f) => folder(f) === 'triggers', (t) => !['cli', 'runtime', 'packaging'].includes(folder(t)))).toEqual([]);
  });

  it('the runner imports neither the CLI nor packaging', () => {
    expect(violations((f) => folder(f) === 'runtime', (t) => !['cli', 'packaging'].includes(folder(t)))).toEqual([]);
  });

  it('CLI commands never import each other (shared helpers live in domain modules or cli/)', () => {
    expect(violations((f) => f.startsWith('cli/commands/'), (t) => !t.startsWith('cli/commands/'))).toEqual([]);
  });

  it('finds the imports it checks (a parser that saw none would pass every rule)', () => {
    expect(imports.find((i) => i.file === 'runtime/run-trigger')?.targets).toContain('triggers/answer');
  });
});
