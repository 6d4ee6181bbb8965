// USER_NEW's payload, parsed without any store: the one-box user-new.ts and the edge's
// edge-user-new.ts read it the same way. The lines (see user-new.ts):
//   line 1: stream name (after PLAY_REWRITE; the part after "+" is not sanitised)
//   line 2: client address
//   line 3: session token: ?tkn= / sid / jwt / a tkn cookie / Authorization: Bearer (first
//           character dropped by MistServer), else a generated number (HTTP) or the PID (RTMP)
//   line 4: connector (HLS, HTTPTS, RTMP, ...)
//   line 5: request URL
//   line 6: session id, 64 hex (SHA-256 of stream, address and token)
//   line 7: "true" when MistServer itself validated a JWT; absent on a re-check (6 lines)
// Answer: exactly `true` or `false`. MistServer caches it for the session (a refusal ~10 minutes).
import { PayloadError } from '../lib/errors';
import { expectLines, normaliseIp } from './payload';

/** MistServer's name for this trigger: every message uses it. */
const TRIGGER = 'USER_NEW';

export interface UserNewEvent {
  stream: string;
  ip: string;
  token: string;
  connector: string;
  url: string;
  sessionId: string;
  /** False for a 6-line re-check of a session MistServer already admitted. */
  firstCheck: boolean;
}

const SESSION_ID = /^[0-9a-f]{64}$/;

/** USER_NEW's payload (pure; an edge's USER_NEW parses it the same way). */
export function parseUserNew(payload: string): UserNewEvent {
  const lines = expectLines(TRIGGER, payload, 6, 7);
  const [stream, host, token, connector, url, sessionId, jwtChecked] = lines as [string, string, string, string, string, string, string?];
  if (stream === '') throw new PayloadError(`${TRIGGER} payload has an empty stream name`);
  if (!SESSION_ID.test(sessionId)) throw new PayloadError(`${TRIGGER} payload line 6 is not a 64-hex session id`);
  if (jwtChecked !== undefined && jwtChecked !== 'true' && jwtChecked !== 'false') {
    throw new PayloadError(`${TRIGGER} payload line 7 is neither true nor false`);
  }
  return { stream, ip: normaliseIp(host), token, connector, url, sessionId, firstCheck: jwtChecked !== undefined };
}
