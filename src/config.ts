// The only reader of the environment and of the installed config file.
// MistServer runs trigger programs with its own environment and no arguments, so the
// installed programs find their database through streamctl.conf, written by install.sh
// next to the installed code.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Root of the built application: the folder holding dist/ (and, when installed, streamctl.conf). */
export function appRoot(): string {
  // Bundles live in <root>/dist/*.js; running from src/ (tests, tsx) also lands on the repo root.
  return resolve(__dirname, '..');
}

/** Where the installed config file lives. */
export function installedConfigPath(): string {
  return process.env.STREAMCTL_CONF || join(appRoot(), 'streamctl.conf');
}

/** Reads `key=value` lines; missing file → empty. */
export function readInstalledConfig(path = installedConfigPath()): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** STREAMCTL_DB, else the installed config's db=, else ./data/streamctl.db. */
export function databasePath(): string {
  const fromEnv = process.env.STREAMCTL_DB;
  if (fromEnv) return resolve(fromEnv);
  const installed = readInstalledConfig().db;
  if (installed) return resolve(installed);
  return resolve('data', 'streamctl.db');
}

/** The better-sqlite3 addon copied next to the bundles by the build, if present. */
export function nativeBindingPath(): string | undefined {
  const p = join(appRoot(), 'dist', 'better_sqlite3.node');
  return existsSync(p) ? p : undefined;
}
