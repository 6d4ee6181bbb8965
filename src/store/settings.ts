// Operator settings (`streamctl config set <name> <value>`), stored in the database so the CLI and
// every trigger program see the same values.
import type { Db } from './open';
import { isValidStreamBase } from '../lib/names';
import { parseDuration } from '../lib/duration';
import { recordingsRootProblem } from '../lib/recording-path';
import { parseSize } from '../lib/size';

interface SettingSpec {
  /** One line for `config list` and `--help`. */
  description: string;
  default: string;
  /** Why a value is refused, or null when it is fine. Values arrive already trimmed. */
  check(value: string): string | null;
}

const positiveInteger = (v: string) => (/^[1-9]\d{0,8}$/.test(v) ? null : 'expected a whole number above 0');
const absolutePath = (v: string) => (/^\/[^\n]*[^/\n]$/.test(v) && !v.split('/').includes('..') ? null : 'expected an absolute path without ".." or a trailing "/"');
const duration = (v: string) => (parseDuration(v) !== null ? null : 'expected a duration such as 90s, 10m, 1h, 7d');

/** Every setting streamctl knows, with its default. */
export const SETTINGS = {
  'stream-base': {
    description: 'the MistServer live stream whose wildcard children carry channels (<base>+<user>)',
    default: 'streams',
    check: (v: string) => (isValidStreamBase(v) ? null : 'expected lower-case letters, digits, ".", "_" or "-" (no "+")'),
  },
  'push-guard-failures': {
    description: 'refused pushes from one source (IPv4 address or IPv6 /64) within push-guard-window before it is refused without a lookup',
    default: '10',
    check: positiveInteger,
  },
  'push-guard-window': {
    description: 'how long refused pushes count against an address',
    default: '10m',
    check: duration,
  },
  'viewer-session-stale': {
    description: 'an open viewer session not seen for this long no longer counts against a viewer cap (USER_END lost)',
    default: '6h',
    check: duration,
  },
  'token-max-ttl': {
    description: 'playback tokens whose exp is further away than this are refused (bounds leaked tokens)',
    default: '24h',
    check: duration,
  },
  'token-secret-grace': {
    description: 'after `token secret` rotates, the old HS256 secret keeps verifying tokens this long',
    default: '1h',
    check: duration,
  },
  'unknown-stream-access': {
    description: 'USER_NEW for a stream that is no channel (not <base>+<user>): refuse or allow',
    default: 'refuse',
    check: (v: string) => (v === 'refuse' || v === 'allow' ? null : 'expected refuse or allow'),
  },
  'recordings-root': {
    description: 'absolute folder MistServer records into (empty: recording refused); only files under it are served or deleted',
    default: '',
    check: recordingsRootProblem,
  },
  'vod-base': {
    description: 'the MistServer VoD stream whose wildcard children play recordings (<vod-base>+<recording id>)',
    default: 'vod',
    check: (v: string) => (isValidStreamBase(v) ? null : 'expected lower-case letters, digits, ".", "_" or "-" (no "+")'),
  },
  'offline-stream': {
    description: 'stream shown for an offline channel without a replay (DEFAULT_STREAM); empty: MistServer\'s own default',
    default: '',
    check: (v: string) => (v === '' || isValidStreamBase(v) ? null : 'expected a configured stream name (lower-case, no "+" or "$")'),
  },
  'recordings-retention': {
    description: 'how long recordings are kept by `recordings prune` when the channel sets no retention, or none',
    default: 'none',
    check: (v: string) => (v === 'none' || (parseDuration(v) ?? 0) > 0 ? null : 'expected a duration such as 30d, or none'),
  },
  'recordings-max-total-size': {
    description: 'size cap for all recordings enforced by `recordings prune` (oldest unpinned go first), or none',
    default: 'none',
    check: (v: string) => (v === 'none' || (parseSize(v) ?? 0) > 0 ? null : 'expected a size such as 500G, or none'),
  },
  'mist-api': {
    description: "MistServer's API URL, for live effects of admin changes and 'doctor' (empty: not configured)",
    default: '',
    check: (v: string) => (v === '' || /^https?:\/\/[^\s/?#]+\/?(api\/?)?$/.test(v) ? null : 'expected a URL such as http://127.0.0.1:4242'),
  },
  'vod-placeholder': {
    description: "the VoD stream's configured source: a harmless file MistServer plays when STREAM_SOURCE answers nothing",
    default: '/var/lib/streamctl/placeholder.mkv',
    check: absolutePath,
  },
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** True when name is a known setting. */
export function isSettingName(name: string): name is SettingName {
  return Object.prototype.hasOwnProperty.call(SETTINGS, name);
}

/** The stored value, or the default. */
export function getSetting(db: Db, name: SettingName): string {
  const row = db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
  return row ? row.value : SETTINGS[name].default;
}

/** Reads several settings in one query (the trigger hot path reads all it needs at once). */
export function getSettings<N extends SettingName>(db: Db, names: readonly N[]): Record<N, string> {
  const out = {} as Record<N, string>;
  for (const n of names) out[n] = SETTINGS[n].default;
  const rows = db
    .prepare(`SELECT name, value FROM settings WHERE name IN (${names.map(() => '?').join(',')})`)
    .all(...names) as { name: N; value: string }[];
  for (const r of rows) out[r.name] = r.value;
  return out;
}

/**
 * A duration setting's value in ms. Values are checked when set, so the default (from SETTINGS,
 * never a second copy) only applies to a row edited by hand into something unreadable.
 */
export function durationMs(name: SettingName, value: string): number {
  return parseDuration(value) ?? parseDuration(SETTINGS[name].default)!;
}

/** Stores a value after checking it; returns the problem instead of throwing. */
export function setSetting(db: Db, name: SettingName, value: string): string | null {
  const problem = SETTINGS[name].check(value);
  if (problem) return problem;
  db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, value);
  return null;
}

/** Removes a stored value so the default applies again. */
export function unsetSetting(db: Db, name: SettingName): void {
  db.prepare('DELETE FROM settings WHERE name = ?').run(name);
}
