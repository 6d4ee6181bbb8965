// The docs stay true to the code: generated reference pages match what `npm run docs` would write
// now, and every relative link in README.md and docs/ reaches an existing file and heading.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDocs, GENERATED_MARK, slug } from '../scripts/gen-docs';

const root = resolve(__dirname, '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? markdownFiles(p) : name.endsWith('.md') ? [p] : [];
  });
}

/** Anchors of a Markdown file as GitHub makes them (repeated headings get -1, -2, …). */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!.replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links `[text](target)` outside code, with their line numbers. */
function linksOf(file: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  let fenced = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced) return;
      const text = line.replace(/`[^`]*`/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) out.push({ line: i + 1, target });
      }
    });
  return out;
}

describe('generated reference pages', () => {
  const pages = generateDocs();

  it.each(Object.keys(pages))('%s is committed and up to date (run `npm run docs` when this fails)', (rel) => {
    const file = join(root, rel);
    expect(existsSync(file), `${rel} is missing: run \`npm run docs\``).toBe(true);
    const committed = readFileSync(file, 'utf8');
    expect(committed === pages[rel], `${rel} is stale: run \`npm run docs\` and commit the result`).toBe(true);
  });

  it('start with the do-not-edit line, and so does no hand-written page', () => {
    for (const file of markdownFiles(join(root, 'docs'))) {
      const rel = relative(root, file);
      expect(readFileSync(file, 'utf8').startsWith(GENERATED_MARK), rel).toBe(rel in pages);
    }
  });

  it('hand-written settings tables give the same defaults as the code', () => {
    // A default stated by hand (e.g. recordings-root's) must not drift from SETTINGS again.
    const rowRe = /^\| `([a-z-]+)` \| ([^|]*?) \|/;
    const codeDefaults = new Map<string, string>();
    for (const line of pages['docs/reference/settings.md']!.split('\n')) {
      const m = rowRe.exec(line);
      if (m) codeDefaults.set(m[1]!, m[2]!);
    }
    expect(codeDefaults.get('recordings-root')).toBe('(empty)');
    const wrong: string[] = [];
    let checked = 0;
    for (const file of [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))]) {
      if (relative(root, file) in pages) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const m = rowRe.exec(line);
          if (!m || !codeDefaults.has(m[1]!)) return;
          checked++;
          if (m[2] !== codeDefaults.get(m[1]!))
            wrong.push(`${relative(root, file)}:${i + 1}: ${m[1]} default ${m[2]}, code says ${codeDefaults.get(m[1]!)}`);
        });
    }
    expect(checked).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });

  it('cover every setting, trigger and command', () => {
    expect(pages['docs/reference/settings.md']).toContain('| `recordings-root` | (empty) |');
    expect(pages['docs/reference/triggers.md']).toContain('| `USER_NEW` | `bin/user-new` | yes | `false` |');
    expect(pages['docs/reference/cli.md']).toContain('## streamctl token key add\n');
    expect(pages['docs/reference/cli.md']).toContain('Usage: streamctl recordings prune [options]');
  });
});

/** Every relative link in files whose file or #anchor does not exist, as `file:line: target (why)`. */
function brokenLinks(files: string[], base: string): string[] {
  const broken: string[] = [];
  for (const file of files) {
    for (const { line, target } of linksOf(file)) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const dest = path === '' ? file : resolve(dirname(file), decodeURI(path));
      const where = `${relative(base, file)}:${line}: ${target}`;
      if (!existsSync(dest)) broken.push(`${where} (no such file)`);
      else if (anchor !== undefined && (!dest.endsWith('.md') || !anchorsOf(dest).has(anchor))) broken.push(`${where} (no such heading)`);
    }
  }
  return broken;
}

describe('links in README.md and docs/', () => {
  const files = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];

  it('every relative link points at an existing file, and every #anchor at a heading there', () => {
    expect(files.flatMap(linksOf).length).toBeGreaterThan(30);
    expect(brokenLinks(files, root)).toEqual([]);
  });

  it('the check reports a missing file and a missing heading, and ignores code and URLs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamctl-docs-'));
    try {
      writeFileSync(join(dir, 'other.md'), '# Other page\n\n## `mist apply` runs\n\n## Caveats\n\n## Caveats\n');
      const page = join(dir, 'page.md');
      writeFileSync(
        page,
        [
          '# Page',
          '[ok](other.md) [ok](other.md#mist-apply-runs) [ok](other.md#caveats-1) [ok](#page) [ok](https://example.com/x)',
          '[gone](missing.md) [no heading](other.md#nothing-here) [no heading](#nowhere)',
          '`[in code](missing.md)`',
          '```',
          '[in a fence](missing.md)',
          '```',
        ].join('\n'),
      );
      expect(brokenLinks([page], dir)).toEqual([
        'page.md:3: missing.md (no such file)',
        'page.md:3: other.md#nothing-here (no such heading)',
        'page.md:3: #nowhere (no such heading)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Development layout in docs/development.md', () => {
  const text = readFileSync(join(root, 'docs/development.md'), 'utf8');
  const block = /## Layout\n[\s\S]*?```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  const listed = block
    .split('\n')
    .filter((line) => /^\S/.test(line))
    .map((line) => line.split(/\s+/)[0]!);

  it('lists only paths that exist', () => {
    expect(listed.length).toBeGreaterThan(10);
    // A placeholder such as db/NNNN_name.sql stands for files in an existing folder.
    const missing = listed.filter((p) => !existsSync(join(root, /NNNN|</.test(p) ? dirname(p) : p)));
    expect(missing).toEqual([]);
  });

  it('lists every folder and file directly under src/ and every script', () => {
    const expected = [
      ...readdirSync(join(root, 'src'), { withFileTypes: true }).map((e) => `src/${e.name}${e.isDirectory() ? '/' : ''}`),
      ...readdirSync(join(root, 'scripts')).map((name) => `scripts/${name}`),
    ];
    expect(expected.filter((p) => !listed.includes(p))).toEqual([]);
  });
});
