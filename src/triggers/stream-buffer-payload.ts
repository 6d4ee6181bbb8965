// STREAM_BUFFER's payload, parsed without any store: the one-box stream-buffer.ts and the edge's
// edge-stream-buffer.ts read it the same way. The lines (see stream-buffer.ts):
//   line 1: stream name
//   line 2: FULL (live), DRY (live but unstable), RECOVER (stable again) or EMPTY (offline)
//   line 3: health JSON on one line: per track codec, size, rate, kbits, buffer, jitter, and
//           "issues" when DRY (absent for EMPTY)
// Answer: ignored by MistServer; we print nothing.
import { PayloadError } from '../lib/errors';
import { payloadLines } from './payload';

/** MistServer's name for this trigger: every message uses it. */
const TRIGGER = 'STREAM_BUFFER';

const STATES = ['FULL', 'DRY', 'RECOVER', 'EMPTY'] as const;

export interface StreamBufferEvent {
  stream: string;
  state: (typeof STATES)[number];
  /** The health JSON as sent, or null when absent. */
  healthText: string | null;
}

/** STREAM_BUFFER's payload (pure; an edge's STREAM_BUFFER parses it the same way). */
export function parseStreamBuffer(payload: string): StreamBufferEvent {
  const lines = payloadLines(payload);
  if (lines.length < 2) throw new PayloadError(`${TRIGGER} payload has ${lines.length} line(s), expected 2-3`);
  const [stream, state] = lines as [string, string];
  if (!(STATES as readonly string[]).includes(state))
    throw new PayloadError(`${TRIGGER} payload has an unknown state ${JSON.stringify(state.slice(0, 32))}`);
  const rest = lines.slice(2).join('\n').trim();
  return { stream, state: state as StreamBufferEvent['state'], healthText: state === 'EMPTY' || rest === '' ? null : rest };
}
