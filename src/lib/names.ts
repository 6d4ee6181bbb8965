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
 * Splits "<base>+<rest>" for a known base, canonicalising the base the way MistServer does.
 * Returns the wildcard part exactly as sent (NOT sanitised by MistServer: never use it in a path).
 */
export function wildcardPart(streamName: string, base: string): string | null {
  const plus = streamName.indexOf('+');
  if (plus < 0) return null;
  if (streamName.slice(0, plus).toLowerCase() !== base) return null;
  return streamName.slice(plus + 1);
}
