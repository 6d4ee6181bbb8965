// The Node entry point as a Node site uses it: `require('streamctl')` and `import` of the built
// package (dist/index.js through package.json's exports), against a temp database; and its .d.ts
// as a TypeScript site compiles against them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { emitDeclarations, TYPES_DIR } from '../../scripts/build';
import { baseEnv, ROOT, tempDir } from '../support/helpers';
import { cliJson } from '../support/cli';

/** A site's folder with streamctl installed as a dependency (a link to this build). */
function siteDir(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'streamctl'));
  return dir;
}

function runNode(dir: string, file: string, code: string) {
  writeFileSync(join(dir, file), code);
  return spawnSync(process.execPath, [file], { cwd: dir, env: baseEnv(), encoding: 'utf8' });
}

describe("require('streamctl')", async () => {
  it('opens a database and runs the same functions as the CLI: user, policy, grant, sync', async () => {
    const dir = siteDir();
    const db = join(dir, 'data', 'streamctl.db');
    const r = runNode(
      dir,
      'site.js',
      `
      const streamctl = require('streamctl');
      let missing;
      try { streamctl.openDatabase(${JSON.stringify(db)}); } catch (e) { missing = e.message; }
      const db = streamctl.openDatabase(${JSON.stringify(db)}, { create: true });
      const now = Date.now();
      const { user, key } = streamctl.createUserWithKey(db, { name: 'alice', displayName: 'Alice', externalId: '42' }, now);
      streamctl.updateChannel(db, user.id, { access: 'paid', viewerCap: 10 }, now);
      streamctl.upsertGrant(db, { userId: user.id, viewer: 'v1', until: null, now });
      const report = streamctl.syncSite(db, { users: [{ name: 'bob' }], channels: [{ user: 'alice', grants: [{ viewer: 'v1' }, { viewer: 'v2' }] }] }, { now });
      let refused;
      try { streamctl.syncSite(db, { users: [{ name: 'Nope' }] }, { now }); } catch (e) { refused = { name: e.name, problems: e.problems }; }
      db.close();
      console.log(JSON.stringify({ key, report, refused, missing }));
      `,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.missing).toContain(`database ${db} does not exist`);
    expect(out.key).toMatch(/^stc_/);
    expect(out.report.summary).toMatchObject({ users_created: 1, grants_added: 1, grants_removed: 0 });
    expect(out.refused).toEqual({
      name: 'SyncInputError',
      problems: [{ path: 'users[0].name', message: expect.stringContaining('"Nope" is invalid') }],
    });
    // The CLI sees what the library wrote: one database, one schema.
    expect(await cliJson(db, ['channel', 'show', 'alice'])).toMatchObject({ access: 'paid', viewer_cap: 10 });
    expect((await cliJson(db, ['grant', 'list', 'alice'])).map((g: { viewer: string }) => g.viewer)).toEqual(['v1', 'v2']);
    expect((await cliJson(db, ['user', 'list'])).map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);
  });

  it('works from an ES module with named imports', async () => {
    const dir = siteDir();
    const db = join(dir, 'esm.db');
    const r = runNode(
      dir,
      'site.mjs',
      `
      import { openDatabase, createUserWithKey, listUsers } from 'streamctl';
      const db = openDatabase(${JSON.stringify(db)}, { create: true });
      createUserWithKey(db, { name: 'carol', displayName: null, externalId: null }, Date.now());
      console.log(listUsers(db).map((u) => u.name).join(','));
      db.close();
      `,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('carol');
  });
});

describe('the declarations (package.json "types")', async () => {
  it('type-check a TypeScript site that uses them, and reject a wrong call', { timeout: 120_000 }, () => {
    // Emitted as `npm run build` emits them into dist/types, here into a folder of this test's own.
    const types = join(tempDir(), 'types');
    emitDeclarations(types);
    expect(existsSync(join(types, 'src', 'index.d.ts'))).toBe(true);
    // ... where package.json sends a TypeScript site: the same layout under dist/types.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { types: string; exports: { '.': { types: string } } };
    for (const path of [pkg.types, pkg.exports['.'].types]) expect(join(ROOT, path)).toBe(join(TYPES_DIR, 'src', 'index.d.ts'));
    const dir = tempDir();
    const file = join(dir, 'site.ts');
    writeFileSync(
      file,
      `
      import { openDatabase, syncSite, type SyncReport, type User } from 'streamctl';
      const db = openDatabase('/tmp/x.db');
      const report: SyncReport = syncSite(db, { users: [{ name: 'a' }] }, { now: Date.now() });
      const created: number = report.summary.users_created;
      // @ts-expect-error: now is required
      syncSite(db, {}, {});
      // @ts-expect-error: a User has no "email"
      const u: User = { id: 1, name: 'a', displayName: null, externalId: null, disabled: false, createdAt: 0, email: '' };
      void created; void u;
      `,
    );
    const program = ts.createProgram([file], {
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      esModuleInterop: true,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
      baseUrl: dir,
      paths: { streamctl: [join(types, 'src/index.d.ts')], 'better-sqlite3': [join(ROOT, 'node_modules/@types/better-sqlite3')] },
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(problems).toEqual([]);
  });
});
