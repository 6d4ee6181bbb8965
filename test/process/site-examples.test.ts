// The PHP and Python examples in docs/operations.md, run as written (only the program's path is
// this build's) against a real database: a site copying them gets code that works.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, BIN, cliProcess, freshDb, ROOT, tempDir } from '../support/helpers';

const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');

/** The one fenced block of this language in the doc, with the installed path swapped for this build's. */
function example(lang: string): string {
  const blocks = [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
  expect(blocks).toHaveLength(1);
  expect(blocks[0]).toContain("'/usr/local/bin/streamctl'");
  return blocks[0]!.replace("'/usr/local/bin/streamctl'", JSON.stringify(join(BIN, 'streamctl')).replace(/"/g, "'"));
}

const has = (program: string) => spawnSync(program, ['--version'], { encoding: 'utf8' }).status === 0;

function runExample(program: string, ext: string, lang: string) {
  const file = join(tempDir(), `example.${ext}`);
  writeFileSync(file, example(lang));
  const db = freshDb();
  // As after install.sh, which makes the token secret.
  expect(cliProcess(db, ['token', 'secret']).status).toBe(0);
  const r = spawnSync(program, [file], { env: baseEnv({ STREAMCTL_DB: db }), encoding: 'utf8' });
  return { ...r, db };
}

function expectWorked(r: { stdout: string; stderr: string; status: number | null }) {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^stream key \(shown once\): stc_\S+$/);
  expect(lines[1]).toBe('grants added: 1');
  expect(lines[2]).toMatch(/^token: [\w-]+\.[\w-]+\.[\w-]+$/);
  // The CLI's one error line, passed on as the exception's message.
  expect(lines[3]).toMatch(/^error: streamctl: .*"nobody"/);
}

describe('the site examples in docs/operations.md', () => {
  // php is installed on the development machines; a machine without it skips with this reason.
  it.skipIf(!has('php'))('PHP (proc_open with an argument array) runs as written (skipped when php is not installed)', () => {
    const r = runExample('php', 'php', 'php');
    expectWorked(r);
  });

  it.skipIf(!has('python3'))('Python (subprocess.run with a list) runs as written (skipped when python3 is not installed)', () => {
    const r = runExample('python3', 'py', 'python');
    expectWorked(r);
  });
});
