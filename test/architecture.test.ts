// The layering of src/ (docs/development.md, "Layout"): every folder has a layer (LAYERS below) and
// imports only folders of lower layers, so no import runs upward and no two folders import each
// other. Checked on the import statements themselves.
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
  return imports.flatMap(({ file, targets }) =>
    applies(file) ? targets.filter((t) => !allowed(t, file)).map((t) => `${file} -> ${t}`) : [],
  );
}

/**
 * src/'s folders from the bottom up. A folder imports only folders of lower layers (and itself); two
 * folders of one layer never import each other. A low-level MistServer client (mist/) sits low, the
 * wiring that plans MistServer's configuration (wiring/) and doctor sit high and may use everything.
 */
const LAYERS: string[][] = [
  ['lib'],
  ['config'],
  ['store'],
  ['mist', 'recordings', 'access', 'ingest', 'webhooks'],
  ['replica', 'settings', 'site'],
  ['live'],
  ['edge'],
  ['triggers'],
  ['wiring', 'runtime'],
  ['doctor'],
  ['cli'],
  ['packaging'],
  ['index'],
];
const layerOf = (f: string): number => LAYERS.findIndex((l) => l.includes(folder(f)));

const DOMAIN = ['access', 'doctor', 'edge', 'ingest', 'live', 'mist', 'recordings', 'replica', 'settings', 'site', 'webhooks', 'wiring'];

describe('src/ layering', () => {
  it('every folder of src/ has a layer', () => {
    expect([...new Set(imports.map((i) => folder(i.file)))].filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('no import runs upward or sideways: each folder imports only lower layers (so no folder cycle)', () => {
    expect(
      violations(
        () => true,
        (t, f) => folder(t) === folder(f) || t.startsWith('..') || layerOf(t) < layerOf(f),
      ),
    ).toEqual([]);
  });

  it('lib/ imports only lib/', () => {
    expect(
      violations(
        (f) => folder(f) === 'lib',
        (t) => folder(t) === 'lib',
      ),
    ).toEqual([]);
  });

  it('store/ imports only store/, lib/ and config', () => {
    expect(
      violations(
        (f) => folder(f) === 'store',
        (t) => ['store', 'lib', 'config'].includes(folder(t)),
      ),
    ).toEqual([]);
  });

  it('the trigger registry imports nothing, so every program can load it cheaply', () => {
    expect(
      violations(
        (f) => f === 'triggers/registry',
        () => false,
      ),
    ).toEqual([]);
  });

  it('domain folders never import the CLI, the runner, packaging or trigger modules (the registry aside)', () => {
    const above = ['cli', 'runtime', 'packaging', 'triggers'];
    expect(
      violations(
        (f) => DOMAIN.includes(folder(f)),
        (t) => t === 'triggers/registry' || !above.includes(folder(t)),
      ),
    ).toEqual([]);
  });

  it('trigger modules never import the CLI, the runner or packaging', () => {
    expect(
      violations(
        (f) => folder(f) === 'triggers',
        (t) => !['cli', 'runtime', 'packaging'].includes(folder(t)),
      ),
    ).toEqual([]);
  });

  it('the runner imports neither the CLI nor packaging', () => {
    expect(
      violations(
        (f) => folder(f) === 'runtime',
        (t) => !['cli', 'packaging'].includes(folder(t)),
      ),
    ).toEqual([]);
  });

  it('CLI commands never import each other (shared helpers live in domain modules or cli/)', () => {
    expect(
      violations(
        (f) => f.startsWith('cli/commands/'),
        (t) => !t.startsWith('cli/commands/'),
      ),
    ).toEqual([]);
  });

  it('the CLI takes from triggers/ only the registry and the summaries: trigger logic it needs lives in domain folders', () => {
    expect(
      violations(
        (f) => folder(f) === 'cli',
        (t) => folder(t) !== 'triggers' || ['triggers/registry', 'triggers/summaries'].includes(t),
      ),
    ).toEqual([]);
  });

  it('the Node entry (index.ts) imports no CLI module: what it offers lives in domain folders', () => {
    expect(
      violations(
        (f) => f === 'index',
        (t) => folder(t) !== 'cli',
      ),
    ).toEqual([]);
  });

  it('ajv is never imported at module load (every streamctl command would pay for it): only required when validating', () => {
    const eager = filesUnder(src).filter((f) => /^import\s+(?!type\b)[^;]*from\s+'ajv'/m.test(readFileSync(f, 'utf8')));
    expect(eager.map((f) => relative(src, f))).toEqual([]);
  });

  it('finds the imports it checks (a parser that saw none would pass every rule)', () => {
    expect(imports.find((i) => i.file === 'runtime/run-trigger')?.targets).toContain('triggers/answer');
  });
});
