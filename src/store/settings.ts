// Operator settings (`streamctl config set <name> <value>`), stored in the database so the CLI and
// every trigger program see the same values. This is the hot-path reader: values are checked when
// set (settings/rules.ts, CLI only), so reading needs no validators.
import type { Db } from './open';
import { stmt } from './statements';
import { parseDuration } from '../lib/duration';

/** Every setting streamctl knows, with its default (checks and descriptions: settings/rules.ts). */
export const SETTING_DEFAULTS = {
  'stream-base': 'streams',
  'push-guard-failures': '10',
  'push-guard-window': '10m',
  'viewer-session-stale': '6h',
  'token-max-ttl': '24h',
  'token-secret-grace': '1h',
  'viewer-sessions': 'unlimited',
  'unknown-stream-access': 'refuse',
  'recordings-root': '',
  'vod-base': 'vod',
  'offline-stream': '',
  'recordings-retention': 'none',
  'recordings-max-total-size': 'none',
  'mist-api': '',
  'vod-placeholder': '/var/lib/streamctl/placeholder.mkv',
  replication: 'off',
  edges: '',
} as const satisfies Record<string, string>;

export type SettingName = keyof typeof SETTING_DEFAULTS;

/** True when name is a known setting. */
export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTING_DEFAULTS, name);
}

/** The stored value, or the default. */
export function getSetting(db: Db, name: SettingName): string {
  const row = stmt(db, 'SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
  return row ? row.value : SETTING_DEFAULTS[name];
}

/** Reads several settings in one query (the trigger hot path reads all it needs at once). */
export function getSettings<N extends SettingName>(db: Db, names: readonly N[]): Record<N, string> {
  const out = {} as Record<N, string>;
  for (const n of names) out[n] = SETTING_DEFAULTS[n];
  const rows = stmt(db, `SELECT name, value FROM settings WHERE name IN (${names.map(() => '?').join(',')})`).all(...names) as {
    name: N;
    value: string;
  }[];
  for (const r of rows) out[r.name] = r.value;
  return out;
}

/**
 * A duration setting's value in ms. Values are checked when set, so the default (from SETTING_DEFAULTS,
 * never a second copy) only applies to a row edited by hand into something unreadable.
 */
export function durationMs(name: SettingName, value: string): number {
  return parseDuration(value) ?? parseDuration(SETTING_DEFAULTS[name])!;
}

/** Stores a value as given: callers check it first (setSetting in settings/rules.ts). */
export function putSetting(db: Db, name: SettingName, value: string): void {
  stmt(db, 'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, value);
}

/** Removes a stored value so the default applies again. */
export function unsetSetting(db: Db, name: SettingName): void {
  stmt(db, 'DELETE FROM settings WHERE name = ?').run(name);
}
