// Splitting MistServer payloads: newline-separated fields, usually no trailing newline.
import { PayloadError } from '../lib/errors';

/**
 * A payload's lines. A line's trailing "\r" (CRLF line ends, or a payload ending in "\r") is not
 * part of the field: kept, it was echoed into answers (PUSH_OUT_START, DEFAULT_STREAM).
 */
export function payloadLines(payload: string): string[] {
  return payload.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** Splits a payload into exactly `min`..`max` lines, or throws a PayloadError naming the trigger. */
export function expectLines(trigger: string, payload: string, min: number, max = min): string[] {
  const lines = payloadLines(payload);
  if (lines.length < min || lines.length > max) {
    const want = min === max ? `${min}` : `${min}-${max}`;
    throw new PayloadError(`${trigger} payload has ${lines.length} line(s), expected ${want}`);
  }
  return lines;
}

// Defined with the other address helpers; the trigger parsers take it from here.
export { normaliseIp } from '../lib/ip';

/** A payload count: digits only, a safe integer. */
export function payloadCount(trigger: string, field: string, text: string): number {
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(n))
    throw new PayloadError(`${trigger} payload has a bad ${field} ${JSON.stringify(text.slice(0, 24))}`);
  return n;
}
