// Numbered SQL files in db/ (NNNN_name.sql). The build embeds them in the bundles, so an
// installed or packaged copy needs no db/ folder; from source they are read from disk.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../config';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

declare const __MIGRATIONS__: Migration[] | undefined;

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads db/NNNN_name.sql files in version order. */
export function readMigrationsFromDisk(dir = join(appRoot(), 'db')): Migration[] {
  return readdirSync(dir)
    .map((file) => ({ file, m: FILE_PATTERN.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), name: m[2]!, sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/** The migrations this build knows. */
export function knownMigrations(): Migration[] {
  return typeof __MIGRATIONS__ !== 'undefined' ? __MIGRATIONS__ : readMigrationsFromDisk();
}
