// What MistServer reports of a finished viewer session: USER_END's payload as
// src/triggers/user-end-payload.ts parses it. The one-box USER_END stores it in viewer_sessions; an
// edge's USER_END hands it to the origin in sc:ends (src/replica/schema.ts, SessionEndValue), whose
// relay stores it with the same code. The viewer's token (line 1) is never part of it.
export interface SessionTotals {
  /** Streams watched, and seconds on each (same order; 0 when MistServer left one out). */
  streams: string[];
  streamSeconds: number[];
  connector: string | null;
  host: string | null;
  seconds: number;
  bytesUp: number;
  bytesDown: number;
  /** MistServer's session id. */
  sessionId: string;
}
