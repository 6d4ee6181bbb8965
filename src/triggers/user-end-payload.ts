// USER_END's payload, parsed without any store: the one-box user-end.ts and the edge's
// edge-user-end.ts read it the same way. The lines (see user-end.ts):
//   line 1: session token (tkn; never stored or logged)
//   line 2: streams watched, comma-separated
//   line 3: connectors, comma-separated
//   line 4: client hosts, comma-separated
//   line 5: seconds active
//   line 6: bytes up (sent to the viewer)
//   line 7: bytes down (received from the viewer)
//   line 8: tags, e.g. [UA:curl/7.88.1]
//   line 9: seconds per host, comma-separated
//   line 10: seconds per connector, comma-separated
//   line 11: seconds per stream, comma-separated, in the order of line 2
//   line 12: session id (64 hex)
// Answer: ignored by MistServer; we print nothing.
import { PayloadError } from '../lib/errors';
import type { SessionTotals } from '../mist/session-totals';
import { expectLines, payloadCount } from './payload';

/** MistServer's name for this trigger: every message uses it. */
const TRIGGER = 'USER_END';

/** A USER_END, parsed: the session's totals. */
export type UserEndEvent = SessionTotals;

const firstOf = (list: string) => list.split(',')[0]?.trim() || null;

/** USER_END's payload (pure; an edge's USER_END parses it the same way). */
export function parseUserEnd(payload: string): UserEndEvent {
  const lines = expectLines(TRIGGER, payload, 12);
  const [, streams, connectors, hosts, seconds, up, down, , , , streamTimes, sessionId] = lines as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^[0-9A-Za-z]{1,128}$/.test(sessionId)) throw new PayloadError(`${TRIGGER} payload has a malformed session id`);
  const count = (field: string, text: string) => payloadCount(TRIGGER, field, text);
  return {
    streams: streams.split(',').filter((s) => s !== ''),
    streamSeconds: streamTimes.split(',').map((t) => (/^\d{1,12}$/.test(t) ? Number(t) : 0)),
    connector: firstOf(connectors)?.slice(0, 64) ?? null,
    host: firstOf(hosts),
    seconds: count('seconds', seconds),
    bytesUp: count('bytes up', up),
    bytesDown: count('bytes down', down),
    sessionId,
  };
}
