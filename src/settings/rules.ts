// What each operator setting means and which values it takes: used by `streamctl config` and
// `mist apply` when they store a value. Trigger programs never load this (they only read values).
import { isValidStreamBase } from '../lib/names';
import { parseDuration } from '../lib/duration';
import { parseSize } from '../lib/size';
import { recordingsRootProblem } from '../recordings/recording-path';
import type { Db } from '../store/open';
import { getSetting, putSetting, SETTING_DEFAULTS, type SettingName } from '../store/settings';

/** What the CLI knows about a setting besides its default. */
export interface SettingRule {
  /** One line for `config list` and `--help`. */
  description: string;
  /** Why a value is refused, or null when it is fine. Values arrive already trimmed. */
  check(value: string): string | null;
}

const positiveInteger = (v: string) => (/^[1-9]\d{0,8}$/.test(v) ? null : 'expected a whole number above 0');
const absolutePath = (v: string) =>
  /^\/[^\n]*[^/\n]$/.test(v) && !v.split('/').includes('..') ? null : 'expected an absolute path without ".." or a trailing "/"';
const duration = (v: string) => (parseDuration(v) !== null ? null : 'expected a duration such as 90s, 10m, 1h, 7d');
const positiveDuration = (v: string) => ((parseDuration(v) ?? 0) > 0 ? null : 'expected a duration above zero such as 90s, 10m, 1h, 7d');

/** Comma-separated API URLs, each like the mist-api setting (no login in the database either). */
function edgeList(v: string): string | null {
  if (v === '') return null;
  for (const url of v.split(',').map((u) => u.trim())) {
    if (/^https?:\/\/[^\s/?#]*@/.test(url))
      return `a user or password does not go in the database (STREAMCTL_MIST_USER or mist_api_user= in streamctl.conf serve the edges too)`;
    if (!/^https?:\/\/[^\s/?#@,]+\/?(api\/?)?$/.test(url))
      return `"${url}": expected URLs such as http://10.0.0.2:4242/api, separated by commas`;
  }
  return null;
}

/** Meaning and check of every setting, in the order `config list` shows them. */
export const SETTING_RULES: Record<SettingName, SettingRule> = {
  'stream-base': {
    description: 'the MistServer live stream whose wildcard children carry channels (<base>+<user>)',
    check: (v: string) => (isValidStreamBase(v) ? null : 'expected lower-case letters, digits, ".", "_" or "-" (no "+")'),
  },
  'push-guard-failures': {
    description: 'refused pushes from one source (IPv4 address or IPv6 /64) within push-guard-window before it is refused without a lookup',
    check: positiveInteger,
  },
  'push-guard-window': {
    description: 'how long refused pushes count against an address',
    // Zero would count nothing and silently turn the guard off.
    check: positiveDuration,
  },
  'viewer-session-stale': {
    description: 'an open viewer session not seen for this long no longer counts against a viewer cap (USER_END lost)',
    check: duration,
  },
  'token-max-ttl': {
    description: 'playback tokens whose exp is further away than this are refused (bounds leaked tokens)',
    check: duration,
  },
  'viewer-sessions': {
    description:
      "most concurrent sessions one viewer id (a token's sub) may hold on a channel that sets none (channel set --viewer-sessions), or unlimited",
    check: (v: string) => (v === 'unlimited' || /^[1-9]\d{0,8}$/.test(v) ? null : 'expected a whole number above 0, or unlimited'),
  },
  'token-secret-grace': {
    description: 'after `token secret` rotates, the old HS256 secret keeps verifying tokens this long',
    check: duration,
  },
  'unknown-stream-access': {
    description: 'USER_NEW for a stream that is no channel (not <base>+<user>): refuse or allow',
    check: (v: string) => (v === 'refuse' || v === 'allow' ? null : 'expected refuse or allow'),
  },
  'recordings-root': {
    description: 'absolute folder MistServer records into (empty: recording refused); only files under it are served or deleted',
    check: recordingsRootProblem,
  },
  'vod-base': {
    description: 'the MistServer VoD stream whose wildcard children play recordings (<vod-base>+<recording id>)',
    check: (v: string) => (isValidStreamBase(v) ? null : 'expected lower-case letters, digits, ".", "_" or "-" (no "+")'),
  },
  'offline-stream': {
    description: "stream shown for an offline channel without a replay (DEFAULT_STREAM); empty: MistServer's own default",
    check: (v: string) => (v === '' || isValidStreamBase(v) ? null : 'expected a configured stream name (lower-case, no "+" or "$")'),
  },
  'recordings-retention': {
    description: 'how long recordings are kept by `recordings prune` when the channel sets no retention, or none',
    check: (v: string) => (v === 'none' || (parseDuration(v) ?? 0) > 0 ? null : 'expected a duration such as 30d, or none'),
  },
  'recordings-max-total-size': {
    description: 'size cap for all recordings enforced by `recordings prune` (oldest unpinned go first), or none',
    check: (v: string) => (v === 'none' || (parseSize(v) ?? 0) > 0 ? null : 'expected a size such as 500G, or none'),
  },
  'mist-api': {
    description: "MistServer's API URL, for live effects of admin changes and 'doctor' (empty: not configured)",
    check: (v: string) => {
      // The database is readable by MistServer's user: a login in it would be one more copy of a secret.
      if (/^https?:\/\/[^\s/?#]*@/.test(v)) {
        return 'a user or password does not go in the database: give the URL without it, and the login as STREAMCTL_MIST_USER and STREAMCTL_MIST_PASSWORD, or mist_api_user= and mist_api_password_file= in streamctl.conf (docs/mist-integration.md)';
      }
      return v === '' || /^https?:\/\/[^\s/?#@]+\/?(api\/?)?$/.test(v) ? null : 'expected a URL such as http://127.0.0.1:4242';
    },
  },
  'vod-placeholder': {
    description: "the VoD stream's configured source: a harmless file MistServer plays when STREAM_SOURCE answers nothing",
    check: absolutePath,
  },
  replication: {
    description:
      'redis: every change edges need is queued for `streamctl edge relay` (turn on with `streamctl edge resync`); off: one box, nothing queued',
    check: (v: string) => (v === 'off' || v === 'redis' ? null : 'expected off or redis'),
  },
  edges: {
    description:
      'comma-separated MistServer API URLs of the edges, whose viewers `edge relay` re-checks after a ban or policy change (empty: none)',
    check: edgeList,
  },
};

/** Settings that must differ from each other: a stream name means a live channel or a recording, never both. */
const MUST_DIFFER: Partial<Record<SettingName, SettingName>> = { 'stream-base': 'vod-base', 'vod-base': 'stream-base' };

/** Stores a value after checking it; returns the problem instead of throwing. */
export function setSetting(db: Db, name: SettingName, value: string): string | null {
  const problem = SETTING_RULES[name].check(value);
  if (problem) return problem;
  const other = MUST_DIFFER[name];
  if (other !== undefined && getSetting(db, other) === value)
    return `${other} is "${value}" too: the live and the VoD stream must have different names`;
  putSetting(db, name, value);
  return null;
}

/** Why returning a setting to its default is refused (the default would clash), or null. */
export function unsetProblem(db: Db, name: SettingName): string | null {
  const other = MUST_DIFFER[name];
  const value = SETTING_DEFAULTS[name];
  return other !== undefined && getSetting(db, other) === value
    ? `its default "${value}" is the value of ${other}: change ${other} first`
    : null;
}
