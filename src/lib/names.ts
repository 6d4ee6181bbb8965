// Channel (user) names. MistServer lower-cases the base stream name but keeps the wildcard part
// as sent, so names are stored lower-case and every lookup canonicalises first.

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Lower-cases a name for lookup. */
export function canonicalName(name: string): string {
  return name.toLowerCase();
}

/** Why a name is not acceptable, or null when it is (after canonicalisation). */
export function nameProblem(name: string): string | null {
  if (NAME_PATTERN.test(name)) return null;
  if (name.length === 0) return 'the name is empty';
  if (name.length > 32) return 'the name is longer than 32 characters';
  return 'a name is lower-case letters, digits, "_" and "-", starting with a letter or digit';
}

/** Base stream names: what MistServer accepts as a configured stream (no "+"). */
const STREAM_BASE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** True when text is a valid base stream name such as "streams". */
export function isValidStreamBase(text: string): boolean {
  return STREAM_BASE_PATTERN.test(text);
}

/**
 * Characters that must never reach a terminal or a one-line log from stored text: C0 and C1
 * controls (newlines, ESC of ANSI sequences), DEL, and the bidirectional overrides that make text
 * display in another order than it is stored.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g');

/** True when text holds a character that must never reach a terminal or a log line (see UNPRINTABLE). */
export function hasUnprintable(text: string): boolean {
  return UNPRINTABLE.test(text);
}

/** Text for a terminal: each unprintable character shown as "?" (old rows may hold them). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_ALL, '?');
}

/** Why a display name is refused (naming the field), or null. 1-100 printable characters. */
export function displayNameProblem(text: string): string | null {
  if (text.trim() === '') return 'invalid display name: it is empty';
  if (text.length > 100) return 'invalid display name: longer than 100 characters';
  if (UNPRINTABLE.test(text)) return 'invalid display name: it contains control characters (newlines, tabs, terminal escapes)';
  if (text !== text.trim()) return 'invalid display name: it starts or ends with spaces';
  return null;
}

/** Why an external id (the user's id on the site) is refused, or null. 1-200 printable characters. */
export function externalIdProblem(text: string): string | null {
  if (text === '') return 'invalid external id: it is empty (leave --external-id out instead)';
  if (text.length > 200) return 'invalid external id: longer than 200 characters';
  if (UNPRINTABLE.test(text)) return 'invalid external id: it contains control characters (newlines, tabs, terminal escapes)';
  if (text !== text.trim()) return 'invalid external id: it starts or ends with spaces';
  return null;
}
