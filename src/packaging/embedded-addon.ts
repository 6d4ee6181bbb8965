// The standalone executable carries the better-sqlite3 addon as a SEA asset. An addon can only be
// loaded from a file, so it is written once per user and build to a private cache folder and
// dlopen'ed from there; later runs reuse the file.
import { lstatSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addonCacheRoot } from '../config';

declare const __ADDON_ID__: string;

/** SEA asset name of the addon (scripts/package.ts embeds it under this name). */
export const ADDON_ASSET = 'better_sqlite3.node';

/** A folder only we can write: anyone able to place a file there could run code as us. */
function privateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} is not a private folder of this user; remove it`);
  }
}

/** Loads the embedded addon and returns its exports (what better-sqlite3 takes as nativeBinding). */
export function loadEmbeddedAddon(): object {
  const sea = require('node:sea') as { getRawAsset(name: string): ArrayBuffer };
  const asset = sea.getRawAsset(ADDON_ASSET);
  const dir = join(addonCacheRoot(), `streamctl-${process.getuid?.() ?? 0}-${__ADDON_ID__}`);
  privateDir(dir);
  const file = join(dir, ADDON_ASSET);
  let size = -1;
  try {
    size = statSync(file).size;
  } catch {
    // not extracted yet
  }
  if (size !== asset.byteLength) {
    // Write aside and rename, so a concurrent run never loads a half-written file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, new Uint8Array(asset), { mode: 0o700 });
    renameSync(partial, file);
  }
  const addon = { exports: {} as object };
  process.dlopen(addon, file);
  return addon.exports;
}
