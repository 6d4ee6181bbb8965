// Which better-sqlite3 addon the build copies into dist/ (and the packaged executable embeds): one
// compiled on purpose (`npm rebuild better-sqlite3 --build-from-source`: build/Release), else the
// prebuilt N-API addon better-sqlite3 13 ships for this platform (prebuilds/<platform>-<arch>.node),
// found by better-sqlite3's own lookup so musl and glibc are told apart as it tells them apart.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const requireHere = createRequire(__filename);

export function betterSqliteAddon(): string {
  const pkg = dirname(requireHere.resolve('better-sqlite3/package.json', { paths: [resolve(__dirname, '..')] }));
  const compiled = join(pkg, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(compiled)) return compiled;
  const { getPrebuildPath } = requireHere(join(pkg, 'lib', 'binding.js')) as { getPrebuildPath(): string | null };
  const prebuilt = getPrebuildPath();
  if (!prebuilt)
    throw new Error(
      `better-sqlite3 has no prebuilt addon for ${process.platform}-${process.arch}: npm rebuild better-sqlite3 --build-from-source (needs python3, make, g++)`,
    );
  return prebuilt;
}
